"""Initial population: random nested families."""
from __future__ import annotations

import numpy as np
from pymoo.core.sampling import Sampling

from evolution.genome import FamilyGenome


class NestedFamilySampling(Sampling):
    """Each individual: K architectures drawn uniformly, then projected onto a nested chain
    (``nested=False``: left independent, for searches without the nesting constraint)."""

    def __init__(self, genome: FamilyGenome, nested: bool = True):
        super().__init__()
        self.genome, self.nested = genome, nested

    def _do(self, problem, n_samples, *args, random_state: np.random.Generator = None, **kwargs):
        space, k = self.genome.space, self.genome.k
        families = (space.sample_family(k, random_state) if self.nested else [space.sample(random_state) for _ in range(k)]
                    for _ in range(n_samples))
        return np.array([self.genome.encode(f) for f in families], dtype=np.int64)
