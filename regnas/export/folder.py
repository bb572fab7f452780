"""The export folder: which --out may be written, and writing it whole (a temporary folder renamed at the end)."""
from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

from regnas.errors import ConfigError
from regnas.io import check_writable

FAMILY_CARD = "family.json"
FAMILY_FORMAT = "regnas-family-card/1"


def is_export(folder: Path) -> bool:
    """Whether ``folder`` holds an export written by regnas (its family card says so)."""
    try:
        card = json.loads((folder / FAMILY_CARD).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    return isinstance(card, dict) and card.get("format") == FAMILY_FORMAT


def check_out(out: str | Path, *, overwrite: bool) -> Path:
    """``out`` if an export may go there: new, an empty folder, or (with ``overwrite``) an earlier export.
    Any other folder is refused: replacing it whole would delete files that are not regnas's."""
    out = check_writable(out, folder=True)
    if out.is_dir() and any(out.iterdir()):
        if not is_export(out):
            raise ConfigError(f"--out {str(out)!r} holds files that are not a regnas export; choose a new or empty folder")
        if not overwrite:
            raise ConfigError(f"--out {str(out)!r} holds an earlier export; pass --overwrite to replace it")
    return out


@contextlib.contextmanager
def staged(out: Path) -> Iterator[Path]:
    """Yield a temporary folder beside ``out``; on success it replaces ``out``, on any failure it is deleted and
    ``out`` stays as it was (no half-written export under the name a user or a script reads)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    folder = beside(out, "partial")
    folder.mkdir()  # not mkdtemp: that makes 0700, an export is shared like any folder the user writes
    try:
        yield folder
        replace_folder(folder, out)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def replace_folder(new: Path, out: Path) -> None:
    """Rename ``new`` to ``out``; an existing ``out`` (empty, or an earlier export) is moved aside first and
    deleted only once the new folder is in place."""
    if not out.exists():
        os.rename(new, out)
        return
    old = beside(out, "old")
    os.rename(out, old)
    try:
        os.rename(new, out)
    except BaseException:
        os.rename(old, out)
        raise
    shutil.rmtree(old, ignore_errors=True)


def beside(out: Path, kind: str) -> Path:
    """A hidden name next to ``out`` that no other process picks (same file system, so renames are atomic)."""
    return out.parent / f".{out.name}.{os.getpid()}-{secrets.token_hex(4)}.{kind}"
