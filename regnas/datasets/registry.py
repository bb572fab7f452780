"""Data sets by name: ``get_dataset``, ``list_datasets``, ``register_dataset`` (a duplicate name raises)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from regnas.errors import DataError
from regnas.registry import Registry


@dataclass(frozen=True)
class RawData:
    """A data set as read, before splitting: uint8 NCHW images and integer labels of its training and
    held-out (test) parts, its class names (None: numbered 0..K-1 by the labels) and where it came from."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_held: np.ndarray
    y_held: np.ndarray
    class_names: tuple[str, ...] | None
    source: str


@dataclass(frozen=True)
class DataSet:
    """One data set: ``read(path)`` gets ``--data-path`` as given (None when absent) and returns the
    arrays, raising DataError with a one-line reason for a path it cannot use."""

    name: str
    description: str
    read: Callable[[Path | None], RawData]


DATASETS: Registry[DataSet] = Registry("dataset")


def register_dataset(dataset: DataSet, *, overwrite: bool = False) -> DataSet:
    return DATASETS.register(dataset.name, dataset, overwrite=overwrite)


def get_dataset(name: str) -> DataSet:
    if name not in DATASETS:
        raise DataError(f"unknown dataset {name!r}; allowed: {', '.join(list_datasets())}")
    return DATASETS.get(name)


def list_datasets() -> list[str]:
    return DATASETS.names()
