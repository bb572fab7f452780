"""Atomic file writes (a crash or Ctrl-C leaves the old file or the new one, never half of one), and
checks that a user's output path can be written before anything slow runs."""
from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from regnas.errors import ConfigError


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def atomic_write(path: str | Path, write: Callable[[IO[bytes]], None]) -> Path:
    """Call ``write(handle)`` on a temporary file beside ``path``, fsync it, then rename it over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; the result should look like any other written file
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def check_writable(path: str | Path, *, folder: bool, what: str = "--out") -> Path:
    """Raise ConfigError unless ``path`` can be created or overwritten as a file (``folder=False``) or used
    as a folder: it is not the other kind, lies under a folder (not under a file), and that folder takes a new
    file (not read-only, not forbidden). Nothing is left behind: missing folders are not created yet."""
    path = Path(path)
    shown = str(path)
    if path.exists():
        if folder and not path.is_dir():
            raise ConfigError(f"{what} {shown!r} is an existing file, not a folder")
        if not folder and path.is_dir():
            raise ConfigError(f"{what} {shown!r} is a folder; give a file path")
    ancestor = path.absolute() if folder and path.is_dir() else path.absolute().parent
    while not ancestor.exists() and not ancestor.is_symlink() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise ConfigError(f"{what} {shown!r} cannot be created: {str(ancestor)!r} is a file, not a folder")
    try:
        fd, probe = tempfile.mkstemp(prefix=".regnas-write-check.", dir=ancestor)
    except OSError as error:
        raise ConfigError(f"{what} {shown!r} cannot be written: {error.strerror} ({str(ancestor)!r})") from None
    os.close(fd)
    os.unlink(probe)
    return path


def check_readable_file(path: str | Path, what: str) -> Path:
    """Raise ConfigError unless ``path`` is an existing regular file (not a folder) that can be opened."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{what} {str(path)!r} does not exist")
    if not path.is_file():
        raise ConfigError(f"{what} {str(path)!r} is {'a folder' if path.is_dir() else 'not a regular file'}, not a file")
    try:
        with open(path, "rb"):
            pass
    except OSError as error:
        raise ConfigError(f"{what} {str(path)!r} cannot be read: {error.strerror}") from None
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    return atomic_write(path, lambda handle: handle.write(text.encode("utf-8")))


def atomic_write_json(path: str | Path, obj: Any) -> Path:
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=_jsonable) + "\n")


def _jsonable(obj: Any) -> Any:
    import numpy as np

    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot write {type(obj).__name__} as JSON")
