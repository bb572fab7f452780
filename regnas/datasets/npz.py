"""Any image classification set as one npz file: ``x_train, y_train, x_test, y_test`` (or the CIFAR-10 JPEG npz format)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from regnas.datasets.files import UNREADABLE, Arrays, read_jpeg_npz, required, unreadable
from regnas.datasets.registry import DataSet, RawData
from regnas.errors import DataError


def read_plain_npz(path: Path) -> Arrays:
    try:
        return _read_plain_npz_unchecked(path)
    except DataError:
        raise
    except UNREADABLE as error:
        raise unreadable(path, "an npz file", error) from None


def _read_plain_npz_unchecked(path: Path) -> Arrays:
    with np.load(path) as npz:
        if {"train_bytes", "train_offsets"} <= set(npz.files):
            return read_jpeg_npz(path)
        missing = {"x_train", "y_train", "x_test", "y_test"} - set(npz.files)
        if missing:
            raise DataError(f"{str(path)!r} lacks keys {sorted(missing)}; an npz data set holds x_train, y_train, x_test, y_test")
        arrays = [npz[k] for k in ("x_train", "y_train", "x_test", "y_test")]
    images = []
    for x in (arrays[0], arrays[2]):
        if x.dtype != np.uint8 or x.ndim not in (3, 4):
            raise DataError(f"{str(path)!r}: images must be uint8 of shape (N, H, W), (N, H, W, C) or (N, C, H, W), got {x.dtype} {x.shape}")
        if x.ndim == 3:
            x = x[:, None]
        elif x.shape[-1] in (1, 3) and x.shape[1] not in (1, 3):
            x = x.transpose(0, 3, 1, 2)
        images.append(np.ascontiguousarray(x))
    return images[0], arrays[1], images[1], arrays[3]  # labels as stored: check_arrays refuses non-integers


def _read(path: Path | None) -> RawData:
    # class names numbered 0..K-1 by the labels, once split_data has checked them
    return RawData(*read_plain_npz(required("npz", path)), None, str(path))


NPZ = DataSet("npz", "an npz file of x_train, y_train, x_test, y_test (uint8 images, integer labels; --data-path required)", _read)
