"""What the data set readers share: path checks, one-line read errors, and the CIFAR-10 JPEG npz format."""
from __future__ import annotations

import functools
import io
import zipfile
import zlib
from pathlib import Path

import numpy as np

from regnas.errors import DataError

# What reading a damaged npz, gzip or JPEG file raises (truncated, not a zip, bad compressed stream, bad header).
UNREADABLE = (OSError, ValueError, EOFError, KeyError, IndexError, zipfile.BadZipFile, zlib.error)
Arrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def required(name: str, path: Path | None) -> Path:
    """``path``, which must be given and exist, for data set ``name``."""
    if path is None:
        raise DataError(f"dataset {name!r} needs --data-path (the folder or .npz file holding it)")
    return existing(path)


def existing(path: str | Path, hint: str = "") -> Path:
    path = Path(path).expanduser()
    if not path.exists():
        raise DataError(f"data path {str(path)!r} does not exist" + (f"; {hint}" if hint else ""))
    return path


def unreadable(path: Path, what: str, error: Exception) -> DataError:
    detail = error.strerror if isinstance(error, OSError) and error.strerror else (str(error).strip().splitlines() or [""])[0]
    return DataError(f"cannot read {str(path)!r} as {what} ({type(error).__name__}{': ' + detail if detail else ''})")


def decode_jpegs(data: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Concatenated JPEG files -> uint8 NCHW array."""
    from PIL import Image

    images = [np.asarray(Image.open(io.BytesIO(data[a:b].tobytes())).convert("RGB")) for a, b in zip(offsets[:-1], offsets[1:])]
    return np.stack(images).transpose(0, 3, 1, 2).copy()


def read_jpeg_npz(path: Path) -> Arrays:
    """The CIFAR-10 JPEG npz format (train/test JPEG bytes, offsets and labels), as the embedded subset ships.
    Each call returns its own arrays; the last two files decoded are kept, keyed by path, size and modification time."""
    try:
        stat = path.stat()
        arrays = _decoded(str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    except DataError:
        raise
    except UNREADABLE as error:
        raise unreadable(path, "a CIFAR-10 JPEG npz file", error) from None
    return tuple(a.copy() for a in arrays)  # type: ignore[return-value]


# One process reads one file many times (a headline run: once per search, four per seed), and decoding
# CIFAR-10's 60,000 JPEGs takes 10-20 s; a copy takes milliseconds.
@functools.lru_cache(maxsize=2)
def _decoded(path: str, size: int, mtime_ns: int) -> Arrays:
    return _read_jpeg_npz_unchecked(Path(path))


def _read_jpeg_npz_unchecked(path: Path) -> Arrays:
    with np.load(path) as npz:
        missing = {"train_bytes", "train_offsets", "y_train", "test_bytes", "test_offsets", "y_test"} - set(npz.files)
        if missing:
            raise DataError(f"{str(path)!r} lacks keys {sorted(missing)} of the CIFAR-10 JPEG npz format")
        return (
            decode_jpegs(npz["train_bytes"], npz["train_offsets"]), npz["y_train"],
            decode_jpegs(npz["test_bytes"], npz["test_offsets"]), npz["y_test"],
        )
