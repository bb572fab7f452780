"""Initial population: random nested families."""
from __future__ import annotations

import numpy as np
from pymoo.core.sampling import Sampling

from evolution.genome import FamilyGenome


class NestedFamilySampling(Sampling):
    """Each individual: K architectures drawn uniformly, then projected onto a nested chain."""

    def __init__(self, genome: FamilyGenome):
        super().__init__()
        self.genome = genome

    def _do(self, problem, n_samples, *args, random_state: np.random.Generator = None, **kwargs):
        space, k = self.genome.space, self.genome.k
        return np.array([self.genome.encode(space.sample_family(k, random_state)) for _ in range(n_samples)], dtype=np.int64)
