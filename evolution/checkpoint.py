"""The search checkpoint: pymoo's algorithm pickled with dill, guarded by a SHA-256 recorded beside it.

pymoo's algorithm state (operators, populations, its random generator, local functions of some
algorithms) can only be kept by pickling, and unpickling runs code. So a run folder is trusted
like code: ``checkpoint.json`` records the digest of every ``checkpoint.pkl`` regnas wrote, and
``read_search_checkpoint`` refuses a checkpoint whose bytes do not match it *before* unpickling
anything. This catches a checkpoint that was replaced or edited; it cannot catch someone who
edits both files, which is why a run folder from someone else must be treated like their code.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import dill  # pymoo keeps decorated local functions (e.g. NSGA-III selection) that pickle cannot name

from evolution.run_folder import CHECKPOINT, CHECKPOINT_DIGEST
from regnas.errors import CheckpointError
from regnas.io import atomic_write, atomic_write_json

CHECKPOINT_FORMAT = "regnas-search/1"
DIGEST_FORMAT = "regnas-search-digest/1"
CHECKPOINT_KEYS = ("format", "config", "generation", "algorithm", "history", "supernet_checksum")


def write_search_checkpoint(run_dir: Path, payload: dict[str, Any]) -> None:
    """Write ``checkpoint.pkl`` and record its digest in ``checkpoint.json``.

    The record first lists the new digest beside the previous one and, once the new checkpoint is
    in place, the new one only: a crash between the two writes leaves a checkpoint that still matches.
    """
    data = dill.dumps(payload)
    digest = hashlib.sha256(data).hexdigest()
    previous = _recorded_digests(run_dir, missing_ok=True)[:1]
    atomic_write_json(run_dir / CHECKPOINT_DIGEST, {"format": DIGEST_FORMAT, "sha256": [digest, *previous]})
    atomic_write(run_dir / CHECKPOINT, lambda handle: handle.write(data))
    atomic_write_json(run_dir / CHECKPOINT_DIGEST, {"format": DIGEST_FORMAT, "sha256": [digest]})


def read_search_checkpoint(run_dir: str | Path) -> dict[str, Any]:
    """The checkpoint dict of a run folder, unpickled only if its bytes match the recorded digest."""
    run_dir = Path(run_dir)
    path = require_checkpoint(run_dir)
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() not in _recorded_digests(run_dir, missing_ok=False):
        raise CheckpointError(f"{str(path)!r} does not match the SHA-256 recorded in {CHECKPOINT_DIGEST}: it was changed "
                              "after regnas wrote it, and is not unpickled (a checkpoint can run code)")
    try:
        saved = dill.loads(data)
    except Exception as error:  # unpickling raises many types for a broken file
        raise CheckpointError(f"cannot read search checkpoint {str(path)!r} ({type(error).__name__})") from None
    if not isinstance(saved, dict) or saved.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{str(path)!r} is not a regnas search checkpoint ({CHECKPOINT_FORMAT})")
    missing = [key for key in CHECKPOINT_KEYS if key not in saved]
    if missing:
        raise CheckpointError(f"search checkpoint {str(path)!r} lacks {', '.join(missing)}")
    return saved


def require_checkpoint(run_dir: Path) -> Path:
    path = Path(run_dir) / CHECKPOINT
    if not path.is_file():
        raise CheckpointError(f"{str(run_dir)!r} holds no search checkpoint ({CHECKPOINT}); is it a regnas run folder?")
    return path


def _recorded_digests(run_dir: Path, *, missing_ok: bool) -> list[str]:
    path = run_dir / CHECKPOINT_DIGEST
    if not path.is_file():
        if missing_ok:
            return []
        raise CheckpointError(f"{str(run_dir)!r} has no {CHECKPOINT_DIGEST} recording its checkpoint's SHA-256; "
                              f"{CHECKPOINT} is not unpickled (a checkpoint can run code)")
    try:
        record = json.loads(path.read_text())
        digests = record["sha256"] if record.get("format") == DIGEST_FORMAT else None
    except (ValueError, TypeError, KeyError, AttributeError, UnicodeDecodeError):
        digests = None
    if not isinstance(digests, list) or not all(isinstance(d, str) for d in digests):
        if missing_ok:
            return []
        raise CheckpointError(f"{str(path)!r} is not a regnas checkpoint digest record ({DIGEST_FORMAT})")
    return digests
