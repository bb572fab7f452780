"""Duplicate elimination by family keys (hash based, not pairwise distances): functional or canonical."""
from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
from pymoo.core.duplicate import DuplicateElimination

from evolution.genome import FamilyGenome
from regnas.errors import UnknownNameError


def first_distinct(keys: Iterable[str], seen: Iterable[str] = ()) -> list[int]:
    """Positions of the keys met for the first time, in order: neither in ``seen`` nor earlier in ``keys``."""
    seen = set(seen)
    positions = []
    for i, key in enumerate(keys):
        if key not in seen:
            seen.add(key)
            positions.append(i)
    return positions


class KeyDuplicateElimination(DuplicateElimination):
    """Two individuals are duplicates when ``key(x)`` is equal: ``"functional"`` keys (the members compute the
    same functions, so the same objectives: a second one would spend a population slot on nothing) or
    ``"canonical"`` strings (equal architectures only)."""

    def __init__(self, genome: FamilyGenome, key: str = "functional"):
        super().__init__()
        if key not in DUPLICATE_KEYS:
            raise UnknownNameError("duplicate key", key, DUPLICATE_KEYS)
        self.genome, self.key = genome, key

    def _do(self, pop, other, is_duplicate):
        key = DUPLICATE_KEYS[self.key](self.genome)
        seen = () if other is None else [key(x) for x in other.get("X")]
        is_duplicate[:] = True
        is_duplicate[first_distinct((key(x) for x in pop.get("X")), seen)] = False
        return is_duplicate


DUPLICATE_KEYS: dict[str, Callable[[FamilyGenome], Callable[[np.ndarray], str]]] = {
    "functional": lambda genome: genome.functional_key,
    "canonical": lambda genome: genome.key,
}
