"""How well a latency table's predictions match measurements: MAPE and Kendall tau."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats

from regnas.errors import DataError
from search_spaces.base import Arch


@dataclass(frozen=True)
class ValidationReport:
    """Agreement of predicted with measured latency over ``rows`` architectures."""

    rows: int
    mape_percent: float
    kendall_tau: float

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)

    def __str__(self) -> str:
        return f"MAPE {self.mape_percent:.2f}%, Kendall tau {self.kendall_tau:.3f} over {self.rows} architectures"


def compare(predicted_ms: np.ndarray, measured_ms: np.ndarray) -> ValidationReport:
    """MAPE (mean of |predicted - measured| / measured, in %) and Kendall tau-b of the two rankings."""
    predicted_ms, measured_ms = np.asarray(predicted_ms, dtype=np.float64), np.asarray(measured_ms, dtype=np.float64)
    if predicted_ms.shape != measured_ms.shape or predicted_ms.ndim != 1 or len(measured_ms) < 2:
        raise DataError(f"need two equally long 1-d arrays of at least 2 latencies, got shapes {predicted_ms.shape} and {measured_ms.shape}")
    if not (measured_ms > 0).all():
        raise DataError(f"measured latencies must be positive ms; smallest is {measured_ms.min()!r}")
    mape = float(np.mean(np.abs(predicted_ms - measured_ms) / measured_ms) * 100)
    tau = float(stats.kendalltau(predicted_ms, measured_ms).statistic)
    return ValidationReport(len(measured_ms), mape, tau)


def validate(table, archs: Sequence[Arch | str] | np.ndarray, measured_ms: Sequence[float] | np.ndarray) -> ValidationReport:
    """Compare ``table``'s predictions for ``archs`` with their measured latencies (ms)."""
    return compare(table.predict_many(archs), np.asarray(measured_ms, dtype=np.float64))
