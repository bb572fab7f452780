"""Per-architecture latency measurements from CSV (``arch_str`` and ``latency_ms_<device>`` columns)."""
from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from regnas.errors import ConfigError, DataError

ARCH_COLUMN = "arch_str"
LATENCY_PREFIX = "latency_ms_"


@dataclass(frozen=True)
class Measurements:
    """Whole-network latencies (ms) of architectures (canonical strings) on one device."""

    archs: list[str]
    latency_ms: np.ndarray
    device: str
    source: str

    def subset(self, rows: np.ndarray) -> Measurements:
        return Measurements([self.archs[i] for i in rows], self.latency_ms[rows], self.device, self.source)

    def __len__(self) -> int:
        return len(self.archs)


def device_of(column: str) -> str:
    """``latency_ms_pixel3`` -> ``pixel3`` (the platform name of a measured column)."""
    return column[len(LATENCY_PREFIX) :] if column.startswith(LATENCY_PREFIX) else column


def read_measurements(path: str | os.PathLike[str], column: str) -> Measurements:
    """Read one latency column; ``column`` may be given with or without the ``latency_ms_`` prefix."""
    path = Path(path)
    try:
        return _read_column(path, column)
    except (UnicodeDecodeError, csv.Error) as error:
        raise DataError(f"measurements file {str(path)!r} is not a CSV text file ({type(error).__name__})") from None


def _read_column(path: Path, column: str) -> Measurements:
    with _open_csv(path) as handle:
        reader = csv.DictReader(handle)
        fields = reader.fieldnames or []
        available = [f for f in fields if f.startswith(LATENCY_PREFIX)]
        if ARCH_COLUMN not in fields:
            raise DataError(f"measurements file {str(path)!r} has no {ARCH_COLUMN!r} column; columns: {', '.join(fields)}")
        name = column if column in fields else LATENCY_PREFIX + column
        if name not in fields:
            raise ConfigError(f"column {column!r} is not in {path.name}; allowed: {', '.join(available) or '(no latency_ms_ columns)'}")
        archs, values = [], []
        for line, row in enumerate(reader, start=2):
            try:
                value = float(row[name])
            except (TypeError, ValueError):
                raise DataError(f"{path.name} line {line}: {name} value {row[name]!r} is not a number") from None
            if not math.isfinite(value) or value <= 0:
                raise DataError(f"{path.name} line {line}: {name} value {value!r} is not a positive number of ms")
            if not isinstance(row[ARCH_COLUMN], str):
                raise DataError(f"{path.name} line {line}: no {ARCH_COLUMN} value")
            archs.append(row[ARCH_COLUMN])
            values.append(value)
    if len(archs) < 2:
        raise DataError(f"measurements file {str(path)!r} has {len(archs)} rows; need at least 2")
    return Measurements(archs, np.array(values), device_of(name), str(path))


def latency_columns(path: str | os.PathLike[str]) -> list[str]:
    """The ``latency_ms_*`` columns of a measurements file."""
    try:
        with _open_csv(Path(path)) as handle:
            fields = next(csv.reader(handle), [])
    except (UnicodeDecodeError, csv.Error) as error:
        raise DataError(f"measurements file {str(path)!r} is not a CSV text file ({type(error).__name__})") from None
    return [f for f in fields if f.startswith(LATENCY_PREFIX)]


def _open_csv(path: Path):
    if path.is_dir():
        raise DataError(f"measurements file {str(path)!r} is a folder, not a CSV file")
    try:
        return path.open(newline="", encoding="utf-8")
    except FileNotFoundError:
        raise DataError(f"measurements file {str(path)!r} does not exist") from None


def resolution_of(values: np.ndarray) -> float:
    """The finest decimal step the values are written in (1 for whole ms), between 1e-6 and 1 ms."""
    for decimals in range(7):
        step = 10.0**-decimals
        if np.allclose(values, np.round(values / step) * step, rtol=0, atol=step * 1e-3):
            return step
    return 1e-6
