"""Repair that keeps every family a nested chain; pymoo applies it after sampling and after every mating."""
from __future__ import annotations

import numpy as np
from pymoo.core.repair import Repair

from evolution.genome import FamilyGenome


class NestedChainRepair(Repair):
    """Project each family onto a nested chain with the space's ``repair_chain`` (fewest gene changes)."""

    def __init__(self, genome: FamilyGenome):
        super().__init__()
        self.genome = genome

    def _do(self, problem, X, random_state: np.random.Generator = None, **kwargs):
        if random_state is None:
            raise ValueError("NestedChainRepair draws ties at random: pymoo must pass random_state")
        space, genome = self.genome.space, self.genome
        out = np.asarray(X, dtype=np.int64).copy()
        for i, x in enumerate(out):
            family = genome.decode(x)
            if not space.is_chain(family):
                out[i] = genome.encode(space.repair_chain(family, random_state))
        return out
