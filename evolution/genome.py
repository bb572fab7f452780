"""The genome of a family: the K members' gene indices side by side in one integer vector."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from search_spaces.base import Arch, SearchSpace


class FamilyGenome:
    """Encode/decode families of ``k`` architectures of ``space`` as rows of ``k * n_genes`` integers."""

    def __init__(self, space: SearchSpace, k: int):
        if k < 1:
            raise ValueError(f"a family needs at least one member, got k={k}")
        self.space, self.k = space, k
        self.n_var = k * space.n_genes
        self.upper = np.tile(space.n_choices - 1, k)

    def decode(self, x: np.ndarray) -> list[Arch]:
        rows = np.asarray(x, dtype=np.int64).reshape(self.k, self.space.n_genes)
        return [self.space.decode(row) for row in rows]

    def encode(self, family: Sequence[Arch]) -> np.ndarray:
        return np.concatenate([self.space.encode(a) for a in family])

    def key(self, x: np.ndarray) -> str:
        """Canonical strings of the members joined by ' > ': the identity used for duplicates."""
        return " > ".join(self.space.to_str(a) for a in self.decode(x))

    def functional_key(self, x: np.ndarray) -> str:
        """The members' functional keys joined by ' > ': families with equal keys compute the same functions."""
        return " > ".join(self.space.functional_key(a) for a in self.decode(x))

    def members(self, X: np.ndarray) -> np.ndarray:
        """View ``(n, k * n_genes)`` as ``(n, k, n_genes)``."""
        return np.asarray(X).reshape(len(X), self.k, self.space.n_genes)
