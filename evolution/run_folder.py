"""Who may write a run folder: one search at a time (an OS lock) and never over another run unasked."""
from __future__ import annotations

import os
import shutil
from pathlib import Path
from types import TracebackType

from regnas.errors import ConfigError, RunFolderError

LOCK_FILE = "run.lock"
CHECKPOINT = "checkpoint.pkl"
CHECKPOINT_DIGEST = "checkpoint.json"
# What a search (and regnas-plot) writes into a run folder; run.lock is not a run file.
RUN_FILES = (CHECKPOINT, CHECKPOINT_DIGEST, "config.json", "history.jsonl", "result.json", "pareto.csv",
             "pareto.png", "report.html", "figures")
RUN_FILE_PATTERNS = ("predictions-*.npz",)


def run_files(run_dir: Path) -> list[Path]:
    """The run files ``run_dir`` holds (empty for a new or empty folder)."""
    if not run_dir.is_dir():
        return []
    found = [run_dir / name for name in RUN_FILES if (run_dir / name).exists()]
    return found + sorted(p for pattern in RUN_FILE_PATTERNS for p in run_dir.glob(pattern))


def claim_new_run(run_dir: Path, *, overwrite: bool) -> None:
    """Refuse a folder that holds another run, unless ``overwrite``: then delete that run's files (only those)."""
    existing = run_files(run_dir)
    if not existing:
        return
    if not overwrite:
        if (run_dir / CHECKPOINT).exists():
            raise RunFolderError(f"run folder {str(run_dir)!r} already holds a search; resume it with --resume {run_dir}, "
                                 "replace it with --overwrite, or choose another --out")
        names = ", ".join(p.name for p in existing[:4]) + (", ..." if len(existing) > 4 else "")
        raise RunFolderError(f"run folder {str(run_dir)!r} already holds run files ({names}); "
                             "replace them with --overwrite or choose another --out")
    for path in existing:
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()


def check_run_options(*, resume: bool, overwrite: bool) -> None:
    if resume and overwrite:
        raise ConfigError("--resume continues a run and --overwrite replaces it; give one of them")


class RunLock:
    """An exclusive OS lock on ``RUN_DIR/run.lock`` while a search writes the folder.

    The kernel releases it when the process exits in any way, kill -9 included, so a stale lock
    never blocks a folder. The file stays (deleting it would let two processes lock two files).
    """

    def __init__(self, run_dir: Path):
        self.run_dir = Path(run_dir)
        self._fd: int | None = None
        self._made_folder = False

    def __enter__(self) -> RunLock:
        self._made_folder = not self.run_dir.exists()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        path = self.run_dir / LOCK_FILE
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)  # not inherited by child processes (PEP 446)
        if not _try_lock(fd):
            holder = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise RunFolderError(f"run folder {str(self.run_dir)!r} is in use by another search (process {holder}); "
                                 "wait for it to finish or choose another --out")
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._fd is None:
            return
        # A search that failed before writing anything (bad data path, missing supernet) leaves no
        # folder behind, if it made the folder. Unlinking while locked: a search starting on the same
        # new folder at this instant is refused (it finds the lock held) or makes a new one.
        if exc_type is not None and self._made_folder and [p.name for p in self.run_dir.iterdir()] == [LOCK_FILE]:
            (self.run_dir / LOCK_FILE).unlink()
            self.run_dir.rmdir()
        os.close(self._fd)  # closing the only descriptor releases the lock
        self._fd = None


def _try_lock(fd: int) -> bool:
    try:
        import fcntl
    except ImportError:  # Windows: a byte-range lock on the first byte, also released by the OS on exit
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True
