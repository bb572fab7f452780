"""Worker processes for ``Evaluator.evaluate_many``: one supernet copy and one intra-op thread each."""
from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import torch

from regnas.fast_eval import SubnetEngine
from search_spaces.base import Arch

# The engine of this worker process, built once by ``_start_worker`` (a worker serves one evaluator).
_worker_engine: SubnetEngine | None = None
_started = None  # a multiprocessing Barrier: every worker waits on it once, at start
PR_SET_PDEATHSIG = 1  # linux/prctl.h
PARENT_POLL_SECONDS = 0.5


def _start_worker(engine: SubnetEngine, parent_pid: int, use_pdeathsig: bool, started) -> None:
    global _worker_engine, _started
    # Ctrl-C is the parent's to handle: it stops the pool (a worker would only print a traceback).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):  # blocked since the parent spawned us; one that waited is dropped
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    die_with_parent(parent_pid, use_pdeathsig)
    torch.set_num_threads(engine.options.threads)
    # Tensors may arrive in shared memory: the BatchNorm buffers every worker rewrites must be its own.
    engine.take_private_supernet()
    _worker_engine, _started = engine, started


def die_with_parent(parent_pid: int, use_pdeathsig: bool) -> None:
    """End this process when ``parent_pid`` ends, however it ends (kill -9 included).

    On Linux the kernel does it (``prctl(PR_SET_PDEATHSIG, SIGKILL)``: immediate, no thread). It fires
    when the *thread* that spawned us exits, so the parent asks for it only when it spawns from its
    main thread. Elsewhere a daemon thread polls the parent pid: an orphan is re-parented, so its
    ``getppid()`` changes (within ``PARENT_POLL_SECONDS``).
    """
    if use_pdeathsig and sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0:
                if os.getppid() != parent_pid:  # the parent died before prctl took effect
                    os._exit(1)
                return
        except (OSError, AttributeError):
            pass
    threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True, name="regnas-parent-watch").start()


def _watch_parent(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(PARENT_POLL_SECONDS)
    os._exit(1)


def _wait_for_all_workers() -> None:
    """A task that returns only once every worker runs one: forces the pool to start all of them now."""
    assert _started is not None, "worker started without a start barrier"
    _started.wait()


def _predict(arch: Arch) -> tuple[np.ndarray, int]:
    """Predictions of ``arch`` and how many samples needed the exact tie check."""
    assert _worker_engine is not None, "worker started without an engine"
    before = _worker_engine.n_rechecked
    predictions = _worker_engine.predictions(arch)
    return predictions, _worker_engine.n_rechecked - before


@contextlib.contextmanager
def _hold_ctrl_c_while_spawning() -> Iterator[None]:
    """Processes started in this block see no Ctrl-C until their initializer ignores it, so a Ctrl-C while a
    worker still imports torch prints no traceback; this process gets its Ctrl-C when the block ends.

    A Ctrl-C in the block is recorded, then passed to the previous handler; ignoring it would lose it
    (the search would run on). Children inherit a *blocked* SIGINT: a signal mask survives fork and
    exec, a Python handler does not. The mask is per thread (the kernel may hand the signal to another
    thread of ours), hence the recorder too. Only the main thread may set handlers, and a handler that C
    code installed (``getsignal`` gives None) could not be put back, so then nothing is held.
    """
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGINT) is None:
        yield
        return
    pressed: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: pressed.append(signum))
    can_mask = hasattr(signal, "pthread_sigmask")  # not on Windows
    previous_mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT}) if can_mask else None
    try:
        yield
    finally:
        if can_mask:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous_mask)  # one held on this thread reaches the recorder
        signal.signal(signal.SIGINT, previous)
    if pressed and callable(previous):
        previous(signal.SIGINT, None)
    elif pressed and previous == signal.SIG_DFL:
        signal.raise_signal(signal.SIGINT)


class WorkerPool:
    """``workers`` spawned processes, each holding a copy of ``engine`` (supernet, calibration and inputs).

    Spawned, not forked: a forked child inherits the parent's OpenMP and other threads' locks mid-use.
    As with any spawned pool, a script that creates one needs the ``if __name__ == "__main__":`` guard.
    All workers start in the constructor; they ignore Ctrl-C (the parent stops them) and die with
    the parent process (see ``die_with_parent``), so a killed search leaves no orphans.
    """

    def __init__(self, engine: SubnetEngine, workers: int):
        if workers < 2:
            raise ValueError(f"a worker pool needs at least 2 workers, got {workers}")
        self.workers = workers
        context = multiprocessing.get_context("spawn")
        on_main_thread = threading.current_thread() is threading.main_thread()
        started = context.Barrier(workers)
        self._executor: ProcessPoolExecutor | None = None
        try:
            with _hold_ctrl_c_while_spawning():  # a Ctrl-C in it is raised as it ends: the pool is then closed
                self._executor = ProcessPoolExecutor(
                    workers, mp_context=context, initializer=_start_worker,
                    initargs=(engine, os.getpid(), on_main_thread, started),
                )
                # No worker can finish its task before all run one, so each submit starts a new process.
                pending = [self._executor.submit(_wait_for_all_workers) for _ in range(workers)]
            for future in pending:
                future.result()
        except BaseException:
            self.close()
            raise

    def map(self, archs: Sequence[Arch]) -> Iterator[tuple[np.ndarray, int]]:
        """Results in the order of ``archs``, yielded as they complete in that order."""
        if self._executor is None:
            raise RuntimeError("worker pool is closed")
        return self._executor.map(_predict, archs)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
