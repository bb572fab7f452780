"""The fastest architecture a latency table allows: what makes a latency budget feasible at all."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from regnas.errors import ConfigError
from regnas.latency.table import LatencyTable, LatencyTableError
from search_spaces.base import Arch, SearchSpace

ENUMERABLE = 2_000_000  # the largest space searched exhaustively (in chunks, via predict_many)
CHUNK = 100_000


def min_latency(table: LatencyTable, space: SearchSpace, settings: Mapping[str, Any] | None = None) -> tuple[float, Arch]:
    """(smallest predicted latency in ms, an architecture that has it), exact by enumeration.

    ``settings``, when given, must agree with the table's own (a table prices only its settings).
    Spaces larger than ``ENUMERABLE`` architectures raise ConfigError: no bound is claimed for them.
    """
    table.check_space(space)
    if settings is not None:
        clash = {k: v for k, v in settings.items() if k in table.meta["settings"] and table.meta["settings"][k] != v}
        if clash:
            raise LatencyTableError(f"latency table {table.meta['device']!r} prices settings {table.meta['settings']}, not {clash}")
    if space.size > ENUMERABLE:
        raise ConfigError(f"space {space.name!r} has {space.size:,} architectures, more than {ENUMERABLE:,} that can be enumerated for min_latency")
    best_ms, best_index = np.inf, -1
    for start in range(0, space.size, CHUNK):
        indices = np.arange(start, min(start + CHUNK, space.size), dtype=np.int64)
        latency = table.predict_many(gene_indices(space, indices))
        position = int(np.argmin(latency))
        if latency[position] < best_ms:
            best_ms, best_index = float(latency[position]), int(indices[position])
    return best_ms, space.decode(gene_indices(space, np.array([best_index]))[0])


def gene_indices(space: SearchSpace, positions: np.ndarray | None = None) -> np.ndarray:
    """Gene-index rows of the architectures at these enumeration positions (all of them by default),
    in ``SearchSpace.enumerate`` order: the fast input of ``LatencyTable.predict_many``."""
    positions = np.arange(space.size, dtype=np.int64) if positions is None else positions
    return _mixed_radix(positions, space.n_choices)


def _mixed_radix(indices: np.ndarray, radices: np.ndarray) -> np.ndarray:
    """Enumeration positions -> gene indices, first gene most significant (as SearchSpace.enumerate)."""
    codes = np.empty((len(indices), len(radices)), dtype=np.int64)
    rest = indices.copy()
    for g in range(len(radices) - 1, -1, -1):
        codes[:, g] = rest % radices[g]
        rest //= radices[g]
    return codes
