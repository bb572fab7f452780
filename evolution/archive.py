"""The search's archive: every feasible non-dominated family it evaluated, not only the last population's."""
from __future__ import annotations

import numpy as np
from pymoo.core.population import Population
from pymoo.util.nds.non_dominated_sorting import find_non_dominated

from evolution.duplicates import first_distinct
from evolution.genome import FamilyGenome


class ParetoArchive:
    """Non-dominated feasible families (pymoo's minimised F) among all evaluated, in the order first seen.

    A population of P holds at most P families, while a family problem's front may hold many more;
    what a search returns is its archive (as Optuna's ``best_trials`` are every trial's, not a
    population's). Families with the same functional key are one family: the first is kept.
    """

    def __init__(self, genome: FamilyGenome):
        self.genome = genome
        self.X = np.empty((0, genome.n_var), dtype=np.int64)
        self.F: np.ndarray | None = None
        self.G: np.ndarray | None = None
        self._keys: list[str] = []

    def __len__(self) -> int:
        return len(self.X)

    def add(self, X: np.ndarray, F: np.ndarray, G: np.ndarray | None) -> None:
        X, F = np.asarray(X, dtype=np.int64), np.asarray(F, dtype=np.float64)
        G = np.zeros((len(X), 0)) if G is None else np.asarray(G, dtype=np.float64)
        candidates = np.flatnonzero((G <= 0).all(axis=1))
        candidate_keys = [self.genome.functional_key(X[i]) for i in candidates]
        new = first_distinct(candidate_keys, self._keys)
        rows, keys = candidates[new], [candidate_keys[j] for j in new]
        if not len(rows):
            return
        X_all = np.concatenate([self.X, X[rows]])
        F_all = F[rows] if self.F is None else np.concatenate([self.F, F[rows]])
        G_all = G[rows] if self.G is None else np.concatenate([self.G, G[rows]])
        keep = np.sort(find_non_dominated(F_all))  # ties (equal F) are all non-dominated: both kept
        all_keys = self._keys + keys
        self.X, self.F, self.G = X_all[keep], F_all[keep], G_all[keep]
        self._keys = [all_keys[i] for i in keep]

    def population(self) -> Population:
        """The archive as a pymoo population (X, F, G and so FEAS), as ``algorithm.opt`` is one."""
        return Population.new(X=self.X, F=self.F, G=self.G)
