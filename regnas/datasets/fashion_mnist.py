"""Fashion-MNIST (Xiao et al., 2017): a folder of gzipped IDX files, by default Debian's dataset-fashion-mnist."""
from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from regnas.datasets.files import UNREADABLE, Arrays, existing, unreadable
from regnas.datasets.registry import DataSet, RawData
from regnas.errors import DataError

FASHION_CLASSES = ("t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "boot")
FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"
FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


def _read_idx(path: Path) -> np.ndarray:
    try:
        with gzip.open(path, "rb") as handle:
            raw = handle.read()
        dims = raw[3]
        shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims))
        return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)
    except UNREADABLE as error:
        raise unreadable(path, "a gzipped IDX file", error) from None


def read_fashion_mnist(folder: Path) -> Arrays:
    missing = [n for n in FILES if not (folder / n).is_file()]
    if missing:
        raise DataError(f"{str(folder)!r} lacks the Fashion-MNIST files {missing}")
    x_train, y_train, x_test, y_test = (_read_idx(folder / n) for n in FILES)
    return x_train[:, None].copy(), y_train, x_test[:, None].copy(), y_test


def _read(path: Path | None) -> RawData:
    folder = existing(path or FASHION_MNIST_DIR, hint="install Debian's dataset-fashion-mnist or pass --data-path")
    return RawData(*read_fashion_mnist(folder), FASHION_CLASSES, str(folder))


FASHION_MNIST = DataSet("fashion-mnist", f"Fashion-MNIST, 28x28 greyscale (--data-path default {FASHION_MNIST_DIR})", _read)
