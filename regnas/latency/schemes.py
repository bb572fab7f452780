"""Key schemes by (space, name): the space's own (``SearchSpace.key_schemes``), ``ops`` and ``arch``, and any registered."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from regnas.errors import DuplicateNameError, InvalidArchError, UnknownNameError
from search_spaces.base import Arch, SearchSpace
from search_spaces.latency import KeyScheme

__all__ = ["KeyScheme", "codes_of", "get_key_scheme", "list_key_schemes", "register_key_scheme"]

_SCHEMES: dict[tuple[str, str], KeyScheme] = {}


def register_key_scheme(scheme: KeyScheme, *, overwrite: bool = False) -> KeyScheme:
    """Add a scheme to a space from outside it (an experiment); with ``overwrite`` it may replace the space's own."""
    from search_spaces.registry import SPACES

    taken = (scheme.space, scheme.name) in _SCHEMES or (
        scheme.space in SPACES and scheme.name in list_key_schemes(SPACES.get(scheme.space)))
    if taken and not overwrite:
        raise DuplicateNameError(f"key scheme {scheme.name!r} of space {scheme.space!r} is already registered")
    _SCHEMES[(scheme.space, scheme.name)] = scheme
    return scheme


def get_key_scheme(space: SearchSpace, name: str) -> KeyScheme:
    """The scheme ``name`` of ``space``; every space has ``ops`` (its ``layers``) and ``arch``."""
    if (space.name, name) in _SCHEMES:
        return _SCHEMES[(space.name, name)]
    own = space.key_schemes()
    if name in own:
        return own[name]
    if name == "ops":
        return KeyScheme(space.name, "ops", "one key per executed op (SearchSpace.layers)", space.layers)
    if name == "arch":
        return KeyScheme(space.name, "arch", "one key per architecture: its canonical string", lambda a, s, i: [space.to_str(a)])
    raise UnknownNameError(f"key scheme of {space.name}", name, set(list_key_schemes(space)))


def list_key_schemes(space: SearchSpace) -> list[str]:
    return sorted({"arch", "ops"} | set(space.key_schemes()) | {n for (s, n) in _SCHEMES if s == space.name})


def codes_of(space: SearchSpace, archs: Sequence[Arch | str] | np.ndarray) -> np.ndarray:
    """Rows of gene indices from canonical strings, gene tuples, or an integer array of indices."""
    if isinstance(archs, np.ndarray) and archs.dtype.kind in "iu":
        codes = archs.reshape(1, -1) if archs.ndim == 1 else archs
        if codes.ndim != 2 or codes.shape[1] != space.n_genes or (codes < 0).any() or (codes >= space.n_choices).any():
            raise InvalidArchError(f"{space.name} gene indices must have shape (n, {space.n_genes}) within 0..choices-1, got shape {archs.shape}")
        return codes.astype(np.int64, copy=False)
    return np.array([space.encode(space.parse(a)) for a in archs], dtype=np.int64).reshape(-1, space.n_genes)
