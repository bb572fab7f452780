"""Duplicate elimination by family keys (hash based, not pairwise distances): functional or canonical."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
from pymoo.core.duplicate import DuplicateElimination

from evolution.genome import FamilyGenome
from regnas.errors import UnknownNameError


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
        seen = set() if other is None else {key(x) for x in other.get("X")}
        for i, x in enumerate(pop.get("X")):
            k = key(x)
            if k in seen:
                is_duplicate[i] = True
            seen.add(k)
        return is_duplicate


DUPLICATE_KEYS: dict[str, Callable[[FamilyGenome], Callable[[np.ndarray], str]]] = {
    "functional": lambda genome: genome.functional_key,
    "canonical": lambda genome: genome.key,
}
