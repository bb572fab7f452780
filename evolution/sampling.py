"""Initial population: random nested families, optionally those within their budgets first."""
from __future__ import annotations

import numpy as np
from pymoo.core.sampling import Sampling

from evolution.duplicates import first_distinct
from evolution.genome import FamilyGenome

CANDIDATES_PER_SAMPLE = 8  # "feasible": families drawn per one returned; a fixed number, not a rejection loop


class NestedFamilySampling(Sampling):
    """Each individual: K architectures drawn uniformly, then projected onto a nested chain
    (``nested=False``: left independent, for searches without the nesting constraint)."""

    def __init__(self, genome: FamilyGenome, nested: bool = True):
        super().__init__()
        self.genome, self.nested = genome, nested

    def draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        space, k = self.genome.space, self.genome.k
        families = (space.sample_family(k, rng) if self.nested else [space.sample(rng) for _ in range(k)]
                    for _ in range(n))
        return np.array([self.genome.encode(f) for f in families], dtype=np.int64).reshape(n, self.genome.n_var)

    def _do(self, problem, n_samples, *args, random_state: np.random.Generator = None, **kwargs):
        return self.draw(n_samples, random_state)


class FeasibleFamilySampling(NestedFamilySampling):
    """Random families as above, those within every budget first.

    Budgets are priced from tables (latency, parameters, FLOPs) without evaluating anything, so an
    initial family over budget is an evaluation spent on a family the survival ranks last. Draws
    ``CANDIDATES_PER_SAMPLE`` times as many families as asked; returns distinct ones (by functional
    key, as duplicates are eliminated) in draw order, those meeting every budget first, then the
    least over budget. ``problem`` is a FamilyProblem (its ``budgets`` and ``family``); one without budgets gets
    the first distinct draws.
    """

    def _do(self, problem, n_samples, *args, random_state: np.random.Generator = None, **kwargs):
        X = self.draw(n_samples * CANDIDATES_PER_SAMPLE, random_state)
        X = X[first_distinct(self.genome.functional_key(x) for x in X)]
        if problem.budgets:
            excess = np.array([[b.violation(problem.family(x)) for b in problem.budgets] for x in X])
            over = np.clip(excess, 0.0, None).sum(axis=1)
            X = X[np.argsort(over, kind="stable")]  # feasible (0) first in draw order, then least over
        return X[:n_samples]


SAMPLINGS = {"feasible": FeasibleFamilySampling, "random": NestedFamilySampling}
