"""Key schemes: how a space turns architectures into the keys a latency table prices, by (space, name)."""
from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse

from regnas.errors import DuplicateNameError, InvalidArchError, UnknownNameError
from search_spaces.base import Arch, SearchSpace

Settings = Mapping[str, Any]
InputShape = tuple[int, int, int]
KeysFn = Callable[[Arch, Settings, InputShape], list[str]]
CountsFn = Callable[[np.ndarray, Settings, InputShape], tuple[list[str], "np.ndarray | sparse.spmatrix"]]


@dataclass(frozen=True)
class KeyScheme:
    """One way of pricing a space's architectures: ``keys`` lists an architecture's keys (with repeats).

    ``counts`` (optional) does the same for many architectures given as rows of gene indices and
    returns (vocabulary, counts matrix); without it a loop over ``keys`` does, slower. ``level``
    (optional) tells a fit which keys are base costs (0) and which adjust them (1, 2, ...: shrunk
    harder towards zero).
    """

    space: str
    name: str
    description: str
    keys: KeysFn
    counts: CountsFn | None = None
    level: Callable[[str], int] | None = None

    def count_matrix(self, space: SearchSpace, codes: np.ndarray, settings: Settings, input_shape: InputShape):
        """(vocabulary, counts) with one row per row of ``codes`` (gene indices)."""
        if self.counts is not None:
            return self.counts(codes, settings, input_shape)
        per_arch = [Counter(self.keys(space.decode(row), settings, input_shape)) for row in codes]
        vocabulary = sorted(set().union(*per_arch)) if per_arch else []
        column = {key: j for j, key in enumerate(vocabulary)}
        rows = [r for r, counter in enumerate(per_arch) for _ in counter]
        cols = [column[k] for counter in per_arch for k in counter]
        values = [v for counter in per_arch for v in counter.values()]
        return vocabulary, sparse.csr_matrix((values, (rows, cols)), shape=(len(per_arch), len(vocabulary)))


_SCHEMES: dict[tuple[str, str], KeyScheme] = {}


def register_key_scheme(scheme: KeyScheme, *, overwrite: bool = False) -> KeyScheme:
    if (scheme.space, scheme.name) in _SCHEMES and not overwrite:
        raise DuplicateNameError(f"key scheme {scheme.name!r} of space {scheme.space!r} is already registered")
    _SCHEMES[(scheme.space, scheme.name)] = scheme
    return scheme


def get_key_scheme(space: SearchSpace, name: str) -> KeyScheme:
    """The scheme ``name`` of ``space``; every space has ``ops`` (its ``layers``) and ``arch``."""
    _register_builtin()
    if (space.name, name) in _SCHEMES:
        return _SCHEMES[(space.name, name)]
    if name == "ops":
        return KeyScheme(space.name, "ops", "one key per executed op (SearchSpace.layers)", space.layers)
    if name == "arch":
        return KeyScheme(space.name, "arch", "one key per architecture: its canonical string", lambda a, s, i: [space.to_str(a)])
    allowed = ["arch", "ops"] + [n for (s, n) in _SCHEMES if s == space.name]
    raise UnknownNameError(f"key scheme of {space.name}", name, set(allowed))


def list_key_schemes(space: SearchSpace) -> list[str]:
    _register_builtin()
    return sorted({"arch", "ops"} | {n for (s, n) in _SCHEMES if s == space.name})


@functools.cache
def _register_builtin() -> None:
    from search_spaces.nasbench201 import layers

    def cells(fold: bool) -> KeyScheme:
        return KeyScheme(
            "nasbench201",
            "cells-fold" if fold else "cells",
            "per-edge op costs over all cells, dead-op and dead-branch adjustments"
            + ("; networks whose output ignores the input cost one constant (the runtime folds them)" if fold else ""),
            lambda a, s, i: layers.cell_keys(a, s, i, fold),
            lambda c, s, i: layers.cell_counts(c, s, i, fold),
            layers.cell_key_level,
        )

    register_key_scheme(
        KeyScheme("nasbench201", "ops", "one key per op the PyTorch network runs, with its shapes", layers.layer_keys, layers.layer_counts)
    )
    register_key_scheme(cells(False))
    register_key_scheme(cells(True))


def codes_of(space: SearchSpace, archs: Sequence[Arch | str] | np.ndarray) -> np.ndarray:
    """Rows of gene indices from canonical strings, gene tuples, or an integer array of indices."""
    if isinstance(archs, np.ndarray) and archs.dtype.kind in "iu":
        codes = archs.reshape(1, -1) if archs.ndim == 1 else archs
        if codes.ndim != 2 or codes.shape[1] != space.n_genes or (codes < 0).any() or (codes >= space.n_choices).any():
            raise InvalidArchError(f"{space.name} gene indices must have shape (n, {space.n_genes}) within 0..choices-1, got shape {archs.shape}")
        return codes.astype(np.int64, copy=False)
    return np.array([space.encode(space.parse(a)) for a in archs], dtype=np.int64).reshape(-1, space.n_genes)
