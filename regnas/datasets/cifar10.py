"""CIFAR-10 (Krizhevsky, 2009): the JPEG npz file, or torchvision's ``cifar-10-batches-py`` folder."""
from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from regnas.datasets.files import Arrays, read_jpeg_npz, required
from regnas.datasets.registry import DataSet, RawData
from regnas.errors import DataError
from regnas.safe_pickle import ArraysOnlyUnpickler

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


def _unpickle_batch(path: Path) -> dict:
    try:
        with open(path, "rb") as handle:
            batch = ArraysOnlyUnpickler(handle, encoding="latin1").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError) as error:
        raise DataError(f"{str(path)!r} is not a CIFAR-10 batch file (regnas unpickles only arrays and plain "
                        f"data from it): {error}") from None
    if not isinstance(batch, dict) or not {"data", "labels"} <= set(batch):
        raise DataError(f"{str(path)!r} is not a CIFAR-10 batch file: it must hold a dict with 'data' and 'labels'")
    return batch


def read_cifar10(path: Path) -> Arrays:
    if path.is_file():
        return read_jpeg_npz(path)
    folder = path / "cifar-10-batches-py" if (path / "cifar-10-batches-py").is_dir() else path
    files = [folder / f"data_batch_{i}" for i in range(1, 6)] + [folder / "test_batch"]
    if not all(f.is_file() for f in files):
        raise DataError(
            f"{str(path)!r} is neither the CIFAR-10 JPEG npz nor a cifar-10-batches-py folder "
            "(data_batch_1..5, test_batch)"
        )
    parts = []
    for f in files:
        batch = _unpickle_batch(f)
        parts.append((np.asarray(batch["data"], dtype=np.uint8).reshape(-1, 3, 32, 32), np.asarray(batch["labels"], dtype=np.uint8)))
    x_train = np.concatenate([p[0] for p in parts[:5]])
    y_train = np.concatenate([p[1] for p in parts[:5]])
    return x_train, y_train, parts[5][0], parts[5][1]


def _read(path: Path | None) -> RawData:
    return RawData(*read_cifar10(required("cifar10", path)), CIFAR10_CLASSES, str(path))


CIFAR10 = DataSet("cifar10", "CIFAR-10, 50,000 training and 10,000 test images of 10 classes (--data-path required)", _read)
