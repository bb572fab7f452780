"""Worker processes for ``Evaluator.evaluate_many``: one supernet copy and one intra-op thread each."""
from __future__ import annotations

import multiprocessing
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import torch

from regnas.fast_eval import SubnetEngine
from search_spaces.base import Arch

# The engine of this worker process, built once by ``_start_worker`` (a worker serves one evaluator).
_worker_engine: SubnetEngine | None = None


def _start_worker(engine: SubnetEngine) -> None:
    global _worker_engine
    torch.set_num_threads(engine.options.threads)
    # Tensors may arrive in shared memory: the BatchNorm buffers every worker rewrites must be its own.
    engine.take_private_supernet()
    _worker_engine = engine


def _predict(arch: Arch) -> tuple[np.ndarray, int]:
    """Predictions of ``arch`` and how many samples needed the exact tie check."""
    assert _worker_engine is not None, "worker started without an engine"
    before = _worker_engine.n_rechecked
    predictions = _worker_engine.predictions(arch)
    return predictions, _worker_engine.n_rechecked - before


class WorkerPool:
    """``workers`` spawned processes, each holding a copy of ``engine`` (supernet, calibration and inputs).

    Spawned, not forked: a forked child inherits the parent's OpenMP and other threads' locks mid-use.
    As with any spawned pool, a script that creates one needs the ``if __name__ == "__main__":`` guard.
    """

    def __init__(self, engine: SubnetEngine, workers: int):
        if workers < 2:
            raise ValueError(f"a worker pool needs at least 2 workers, got {workers}")
        self.workers = workers
        self._executor: ProcessPoolExecutor | None = ProcessPoolExecutor(
            workers, mp_context=multiprocessing.get_context("spawn"), initializer=_start_worker, initargs=(engine,)
        )

    def map(self, archs: Sequence[Arch]) -> Iterator[tuple[np.ndarray, int]]:
        """Results in the order of ``archs``, yielded as they complete in that order."""
        if self._executor is None:
            raise RuntimeError("worker pool is closed")
        return self._executor.map(_predict, archs)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
