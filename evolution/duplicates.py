"""Duplicate elimination by canonical family strings (hash based, not pairwise distances)."""
from __future__ import annotations

import numpy as np
from pymoo.core.duplicate import DuplicateElimination

from evolution.genome import FamilyGenome


class CanonicalDuplicateElimination(DuplicateElimination):
    """Two individuals are duplicates when their members' canonical strings are equal, in order."""

    def __init__(self, genome: FamilyGenome):
        super().__init__()
        self.genome = genome

    def _do(self, pop, other, is_duplicate):
        seen = set() if other is None else {self.genome.key(x) for x in other.get("X")}
        for i, x in enumerate(pop.get("X")):
            key = self.genome.key(x)
            if key in seen:
                is_duplicate[i] = True
            seen.add(key)
        return is_duplicate
