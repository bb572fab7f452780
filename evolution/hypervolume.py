"""Hypervolume of a family front under the default objectives: in the unit cube of worst values, or in a front's box."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pymoo.indicators.hv import Hypervolume

from regnas.errors import ConfigError

# The reference point is the worst value each objective can take: an error of 1 (every sample wrong) and,
# for two members, NF = n (every sample a negative flip). Dividing by it maps every family into the unit
# cube with the reference at (1, ..., 1): the box depends on no front (the exact front and a search's
# front are measured in the same one, and no family falls outside it), and a point of error and a point of
# NFR weigh alike.
WORST = {"error": lambda n: 1.0, "nf": lambda n: float(n)}


def column_objective(column: str) -> str:
    """``error[pixel3]`` -> ``error``; ``nf`` -> ``nf``."""
    return column.partition("[")[0]


def reference_point(columns: Sequence[str], n: int) -> np.ndarray:
    """The worst value of each objective column (natural units) on ``n`` evaluation samples."""
    names = [column_objective(c) for c in columns]
    unknown = [c for c, name in zip(columns, names) if name not in WORST]
    if unknown:
        raise ConfigError(f"no hypervolume reference for objective column {unknown[0]!r}; "
                          f"allowed objectives: {', '.join(WORST)}")
    return np.array([WORST[name](n) for name in names], dtype=np.float64)


def normalised(objectives: np.ndarray, columns: Sequence[str], n: int) -> np.ndarray:
    """Objective rows (natural units, minimised) divided by the reference point."""
    return np.asarray(objectives, dtype=np.float64).reshape(-1, len(columns)) / reference_point(columns, n)


def hypervolume(objectives: np.ndarray, columns: Sequence[str], n: int) -> float:
    """Volume of the normalised objective space that the rows dominate, up to the reference (1, ..., 1);
    0 for no rows. Only feasible families belong in ``objectives``."""
    points = normalised(objectives, columns, n)
    if not len(points):
        return 0.0
    return float(Hypervolume(ref_point=np.ones(len(columns))).do(points))


BOX_REFERENCE = 1.1  # in a box normalised to [0, 1] by a front's ideal and nadir points, as is usual


def box_hypervolume(objectives: np.ndarray, ideal: np.ndarray, nadir: np.ndarray) -> float:
    """Volume dominated by the rows (natural units, minimised) once ``ideal`` maps to 0 and ``nadir`` to 1 in
    every column, up to the reference ``BOX_REFERENCE`` in each (0 for no rows; rows beyond it add nothing).
    In the box of the exact front this weighs the trade-off, where the unit cube of worst values is
    dominated by the box below the best zero-flip family."""
    points = np.asarray(objectives, dtype=np.float64).reshape(-1, len(ideal))
    if not len(points):
        return 0.0
    ideal, nadir = np.asarray(ideal, dtype=np.float64), np.asarray(nadir, dtype=np.float64)
    span = np.where(nadir > ideal, nadir - ideal, 1.0)
    return float(Hypervolume(ref_point=np.full(len(ideal), BOX_REFERENCE)).do((points - ideal) / span))
