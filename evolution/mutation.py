"""Random-reset mutation for categorical genes."""
from __future__ import annotations

import numpy as np
from pymoo.core.mutation import Mutation


class RandomResetMutation(Mutation):
    """Each gene, with probability ``prob_var`` (default 1/n_var), takes another of its choices uniformly."""

    def __init__(self, prob: float = 1.0, prob_var: float | None = None):
        super().__init__(prob=prob, prob_var=prob_var)

    def _do(self, problem, X, *args, random_state: np.random.Generator = None, **kwargs):
        X = np.asarray(X, dtype=np.int64).copy()
        n_choices = (np.asarray(problem.xu) - np.asarray(problem.xl) + 1).astype(np.int64)
        prob_var = self.get_prob_var(problem, size=len(X))
        mutate = random_state.random(X.shape) < np.reshape(prob_var, (-1, 1))
        mutate &= n_choices[None, :] > 1
        # Draw among the other choices: shift by 1..n-1 modulo n never lands on the current value.
        shift = (random_state.random(X.shape) * (n_choices - 1)[None, :]).astype(np.int64) + 1
        X[mutate] = ((X - problem.xl + shift) % n_choices[None, :] + problem.xl)[mutate]
        return X
