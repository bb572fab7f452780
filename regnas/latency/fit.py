"""Fit a latency table to whole-network measurements: weighted ridge regression over a key scheme.

Each measured architecture is a row of key counts; its latency is the sum of the keys' entries. The
fit minimises squared *relative* error (rows weighted by 1/measured, as MAPE counts errors) plus a
ridge penalty on adjustment keys only (``KeyScheme.level`` > 0), so base costs are free and rare
adjustments fall back on them. Scheme and penalties are chosen by k-fold cross-validation on the
training rows alone.
"""
from __future__ import annotations

import datetime
import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from regnas.errors import ConfigError
from regnas.latency.measurements import Measurements, resolution_of
from regnas.latency.schemes import KeyScheme, codes_of, get_key_scheme, list_key_schemes
from regnas.latency.table import LatencyTable
from regnas.latency.threads import torch_threads
from search_spaces.base import SearchSpace

# Ridge strengths tried per adjustment level; rows are weighted to about 1, so these compare with row counts.
PENALTY_GRID: Mapping[int, tuple[float, ...]] = {1: (0.01, 1.0, 3.0, 10.0, 30.0, 100.0), 2: (0.3, 3.0, 30.0, 300.0, 3000.0)}
BASE_PENALTY = 1e-6  # keeps base costs of keys absent from a fold's rows at zero instead of undefined
# A guard, not a model: adjustments fitted on few rows can sum to less than any network takes, even
# below zero, for a rare architecture; predictions stop at this share of the fastest fitted network.
FLOOR_SHARE = 0.5
SMALLEST_MS = 1e-3  # floor on measured latency in the relative weights (a few runtimes report ~0 ms)


@dataclass(frozen=True)
class FitResult:
    """A fitted table and what the fit chose."""

    table: LatencyTable
    scheme: str
    penalties: dict[int, float]
    cv_mape_percent: float
    candidates: dict[str, float] = field(default_factory=dict)  # scheme -> its best cross-validated MAPE

    @property
    def modelled(self) -> str:
        return str(self.table.meta["fit"]["modelled"])


def default_fit_schemes(space: SearchSpace) -> list[str]:
    """The schemes a fit tries when none are named: the space's schemes made for fitting (those with
    key levels), else its ``ops``."""
    return [n for n in list_key_schemes(space) if get_key_scheme(space, n).level is not None] or ["ops"]


# The linear algebra runs in torch on one thread: these systems are small (a few hundred keys), and
# numpy's multithreaded BLAS spends far longer handing work between threads than computing them on a
# loaded machine (150 ms against 2 ms a solve, measured on the 2-core development machine).
def _normal_equations(design: np.ndarray, target: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    weighted = torch.from_numpy(design * weights[:, None])
    with torch_threads(1):
        return (weighted.T @ weighted).numpy(), (weighted.T @ torch.from_numpy(target * weights)).numpy()


def _solve(gram: np.ndarray, moment: np.ndarray, penalty: np.ndarray) -> np.ndarray:
    """argmin_x sum_i (w_i (X_i x - y_i))^2 + sum_j penalty_j x_j^2 from the normal equations."""
    with torch_threads(1):
        return torch.linalg.solve(torch.from_numpy(gram + np.diag(penalty)), torch.from_numpy(moment)).numpy()


def _design(space: SearchSpace, scheme: KeyScheme, codes: np.ndarray, settings: Mapping[str, Any], input_shape: tuple[int, int, int]):
    """(vocabulary, dense counts of the keys the rows use, their vocabulary columns, their levels)."""
    vocabulary, counts = scheme.count_matrix(space, codes, settings, input_shape)
    design = counts.toarray() if hasattr(counts, "toarray") else np.asarray(counts, dtype=np.float64)
    used = np.flatnonzero(design.any(axis=0))
    levels = np.array([scheme.level(vocabulary[j]) if scheme.level else 0 for j in used], dtype=np.int64)
    return vocabulary, design[:, used], used, levels


def _penalty_vectors(levels: np.ndarray) -> list[tuple[dict[int, float], np.ndarray]]:
    present = sorted(set(levels.tolist()))
    grids = [PENALTY_GRID.get(level, PENALTY_GRID[max(PENALTY_GRID)]) if level else (BASE_PENALTY,) for level in present]
    out = []
    for choice in itertools.product(*grids):
        by_level = dict(zip(present, choice))
        out.append((by_level, np.array([by_level[level] for level in levels.tolist()])))
    return out


def fit_table(
    space: SearchSpace,
    measurements: Measurements,
    *,
    rng: np.random.Generator,
    settings: Mapping[str, Any],
    input_shape: tuple[int, int, int],
    batch: int,
    schemes: Sequence[str] | None = None,
    folds: int = 5,
    meta: Mapping[str, Any] | None = None,
    progress: Callable[[str], None] | None = None,
) -> FitResult:
    """Fit a table for ``space`` to ``measurements`` (all rows are training rows).

    ``settings``/``input_shape``/``batch`` describe the network that was measured; ``meta`` adds
    fields such as ``source`` or ``device_name``. ``rng`` splits the cross-validation folds.
    """
    if len(measurements) < 2 * folds:
        raise ConfigError(f"fitting needs at least {2 * folds} measured architectures, got {len(measurements)}")
    described = dict(settings)
    settings = {**space.supernet_defaults, **settings}
    codes = codes_of(space, measurements.archs)
    target = measurements.latency_ms
    weights = np.median(target) / np.maximum(target, SMALLEST_MS)
    fold_of = rng.permutation(len(target)) % folds
    best: dict[str, Any] = {"cv": np.inf}
    candidates: dict[str, float] = {}
    for name in schemes or default_fit_schemes(space):
        scheme = get_key_scheme(space, name)
        vocabulary, design, used, levels = _design(space, scheme, codes, settings, input_shape)
        systems = [_normal_equations(design[fold_of != k], target[fold_of != k], weights[fold_of != k]) for k in range(folds)]
        for by_level, penalty in _penalty_vectors(levels):
            errors = np.empty(len(target))
            for k, (gram, moment) in enumerate(systems):
                held = fold_of == k
                x = _solve(gram, moment, penalty)
                errors[held] = np.abs(design[held] @ x - target[held]) / target[held]
            cv = float(errors.mean() * 100)
            candidates[name] = min(cv, candidates.get(name, np.inf))
            if progress:
                progress(f"  {name}, penalties by level {by_level}: cross-validated MAPE {cv:.2f}%")
            if cv < best["cv"]:
                best = {"cv": cv, "name": name, "by_level": by_level, "penalty": penalty}
    name, by_level, cv = best["name"], best["by_level"], best["cv"]
    scheme = get_key_scheme(space, name)
    vocabulary, design, used, _ = _design(space, scheme, codes, settings, input_shape)
    solution = _solve(*_normal_equations(design, target, weights), best["penalty"])
    entries = dict.fromkeys(vocabulary, 0.0)
    for j, value in zip(used, solution):
        entries[vocabulary[j]] = round(float(value), 7)
    modelled = f"scheme {name!r}: {scheme.description}; chosen by {folds}-fold cross-validation over {', '.join(candidates)}"
    table_meta = {
        "space": space.name,
        "device": measurements.device,
        "unit": "ms",
        "batch": int(batch),
        "input_shape": list(input_shape),
        "settings": described,
        "key_scheme": name,
        "resolution_ms": resolution_of(target),
        "floor_ms": FLOOR_SHARE * float(target.min()),
        "method": f"fitted to {len(target)} whole-network measurements",
        "date": datetime.date.today().isoformat(),
        "fit": {
            "rows": len(target),
            "measurements": measurements.source,
            "weighting": "relative error (rows weighted by 1/measured ms)",
            "penalties_by_level": {str(k): v for k, v in by_level.items()},
            "cv_mape_percent": round(cv, 3),
            "cv_mape_percent_by_scheme": {k: round(v, 3) for k, v in candidates.items()},
            "modelled": modelled,
        },
        **(meta or {}),
    }
    table = LatencyTable(table_meta, entries)
    return FitResult(table, name, by_level, cv, candidates)


def scale_table(table: LatencyTable, measurements: Measurements) -> LatencyTable:
    """``table`` with every entry (and its floor) times the one factor that fits ``measurements`` best in relative
    error: s = sum(p/m) / sum((p/m)^2) minimises sum(((s p - m) / m)^2). For a table profiled op by op, whose
    sums miss whole networks by a near-constant factor (caches, the glue between blocks): unlike a fit of
    every entry, each entry stays a time."""
    ratio = table.predict_many(measurements.archs) / np.maximum(measurements.latency_ms, SMALLEST_MS)
    if not (ratio > 0).all():
        raise ConfigError(f"table {table.source or table.meta['device']!r} predicts no positive latency for some "
                          f"rows of {measurements.source}; a scale needs positive predictions")
    factor = float(ratio.sum() / (ratio**2).sum())
    meta = {key: value for key, value in table.meta.items() if key != "validation"}
    meta.update({
        "method": f"{table.meta.get('method', 'a table')}; scaled by {factor:.4f} to {len(measurements)} whole-network measurements",
        "floor_ms": float(table.meta["floor_ms"]) * factor,
        "date": datetime.date.today().isoformat(),
        "scale": {"factor": round(factor, 6), "rows": len(measurements), "measurements": measurements.source,
                  "weighting": "relative error", "scaled_from": table.source or table.meta["device"]},
    })
    if "spread_ms" in meta:  # a profile's per-entry spread, in the unit of its entries: it scales with them
        meta["spread_ms"] = {key: round(value * factor, 7) for key, value in meta["spread_ms"].items()}
    return LatencyTable(meta, {key: round(value * factor, 7) for key, value in table.entries.items()})
