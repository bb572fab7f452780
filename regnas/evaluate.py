"""Subnet evaluation: BN recalibration on the calibration split, per-sample predictions, cached by key."""
from __future__ import annotations

import copy
import hashlib
import warnings
import weakref
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from regnas.data import ImageData, Split, tensor_digest
from regnas.device import resolve_device
from regnas.errors import RegnasWarning
from regnas.fast_eval import SubnetEngine, batch_norms
from regnas.io import atomic_write
from regnas.metrics import PackedCorrect, correctness
from search_spaces.base import Arch
from search_spaces.supernet import Supernet

SPLITS = ("validation", "test", "calibration", "train")
# Bump when anything that changes a cached prediction changes (recalibration rule, engine, file layout).
PREDICTIONS_FORMAT = "regnas-predictions/2"
_META = "__cache_key__"  # the npz entry holding the cache key; architecture keys never start with "_"


class PredictionCacheWarning(RegnasWarning):
    """A prediction cache file could not be used; its predictions are computed again."""


class Evaluator:
    """Per-sample predictions of sub-networks of one trained supernet on one split.

    Before each sub-network is evaluated its BatchNorm statistics are recomputed on the fixed
    calibration split (the supernet's running statistics belong to no single path). Results are
    cached by the space's functional key (architectures that differ only in ops that cannot reach
    the output share one entry). The cache file is named by ``cache_key``, a digest of everything
    that determines a prediction: the supernet checksum, the exact (normalised) images of the split
    and of the calibration batches, the recalibration rule and the file format; the labels play no part.

    Predictions equal those of ``supernet.extract(arch)`` after ``recalibrate_module`` on the
    calibration split (``regnas.fast_eval.SubnetEngine`` says why the faster path keeps them exact).
    ``workers > 1`` lets ``evaluate_many`` spread the sub-networks it has not seen over that many
    spawned processes (same predictions; call ``close`` or use ``with`` to stop them early).
    ``scheduler`` (``tcp://HOST:PORT``) spreads them over the workers of that Dask cluster instead, the engine
    installed once per worker (``regnas.eval_dask``); the connection opens here.
    ``device`` is where sub-networks run (``auto``, ``cpu``, ``cuda[:N]``). The tie check makes the fast pass
    agree with the exact path on the same device; a GPU's kernels round differently from the CPU's, so a GPU
    run and a CPU run can differ on samples within rounding of a tie (and then pick different families).
    Their predictions are cached apart.
    """

    def __init__(
        self,
        supernet: Supernet,
        data: ImageData,
        *,
        split: str = "validation",
        batch_size: int = 500,
        cache_dir: str | Path | None = None,
        workers: int = 1,
        device: str | torch.device = "cpu",
        scheduler: str | None = None,
    ):
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; allowed: {', '.join(SPLITS)}")
        if batch_size < 1 or workers < 1:
            raise ValueError(f"batch_size ({batch_size}) and workers ({workers}) must be positive")
        self.device = resolve_device(device)
        if workers > 1 and self.device.type != "cpu":
            raise ValueError(f"workers ({workers}) spread CPU evaluation; on {self.device} evaluate in one process")
        if scheduler is not None and (workers > 1 or self.device.type != "cpu"):
            raise ValueError(f"scheduler {scheduler!r} spreads CPU evaluation over a cluster: give neither workers "
                             f"({workers}) nor a GPU ({self.device})")
        # A private copy: recalibration rewrites BatchNorm buffers, the caller's supernet stays as it is.
        self.supernet = copy.deepcopy(supernet).eval().to(self.device)
        self.space = supernet.space
        self.data = data
        self.split_name = split
        self.split: Split = getattr(data, split)
        self.labels = self.split.labels.numpy()
        self.batch_size = batch_size
        self.workers = workers
        self.scheduler = scheduler
        self.checksum = supernet.checksum()
        # Normalise once: every sub-network reads the same tensors (elementwise, so chunking changes no bit).
        calibration = [x.to(self.device) for x, _ in data.batches(data.calibration, len(data.calibration))]
        self.engine = SubnetEngine(self.supernet, calibration, data.normalize(self.split.images).to(self.device),
                                   batch_size=batch_size)
        self._pool = None
        self._cache: dict[str, np.ndarray] = {}
        self.cache_key = self._cache_key()
        self.images_digest = self._images_digest()
        self.cache_file = Path(cache_dir) / f"predictions-{self.cache_key[:24]}-{split}.npz" if cache_dir else None
        if self.cache_file is not None and self.cache_file.exists():
            self._cache = self._read_cache(self.cache_file)
        self.n_computed = 0
        self._n_rechecked_by_workers = 0
        if scheduler is not None:
            self._worker_pool()  # a bad or unreachable scheduler fails now, not in the first generation

    @property
    def n_rechecked(self) -> int:
        """Samples whose fast logits were near a tie and were recomputed on the exact path."""
        return self.engine.n_rechecked + self._n_rechecked_by_workers

    def key(self, arch: Arch | str) -> str:
        return self.space.functional_key(self.space.parse(arch))

    def predictions(self, arch: Arch | str) -> np.ndarray:
        """Predicted class of every sample of the split, as ``int16`` of shape ``(N,)``."""
        arch = self.space.parse(arch)
        key = self.key(arch)
        if key not in self._cache:
            self._cache[key] = self.engine.predictions(arch)
            self.n_computed += 1
        return self._cache[key]

    def correct(self, arch: Arch | str) -> np.ndarray:
        return correctness(self.predictions(arch), self.labels)

    def packed(self, arch: Arch | str) -> PackedCorrect:
        return PackedCorrect.pack(self.correct(arch))

    def accuracy(self, arch: Arch | str) -> float:
        return float(self.correct(arch).mean())

    def evaluate_many(self, archs: Iterable[Arch | str]) -> list[np.ndarray]:
        """Predictions of each architecture; those not cached yet go to the worker processes if any."""
        parsed = [self.space.parse(a) for a in archs]
        missing: dict[str, Arch] = {}
        for arch in parsed:
            missing.setdefault(self.key(arch), arch)
        missing = {key: arch for key, arch in missing.items() if key not in self._cache}
        if (self.workers > 1 or self.scheduler is not None) and len(missing) > 1:
            try:
                for key, (predictions, rechecked) in zip(missing, self._worker_pool().map(list(missing.values()))):
                    self._cache[key] = predictions  # kept even if a later one is interrupted
                    self.n_computed += 1
                    self._n_rechecked_by_workers += rechecked
            except BaseException:
                self.close()  # Ctrl-C reaches the workers too and breaks the pool; the next call starts a new one
                raise
        return [self.predictions(a) for a in parsed]

    def is_cached(self, arch: Arch | str) -> bool:
        return self.key(arch) in self._cache

    def save_cache(self) -> None:
        if self.cache_file is not None and self._cache:
            entries = {**self._cache, _META: np.array(self.cache_key)}
            atomic_write(self.cache_file, lambda handle: np.savez(handle, **entries))

    def _cache_key(self) -> str:
        digest = hashlib.sha256()
        digest.update(f"{PREDICTIONS_FORMAT}|{self.space.name}|{self.checksum}|{self.split_name}|".encode())
        if self.device.type != "cpu":  # other kernels, other rounding: a GPU's predictions are cached apart
            digest.update(f"device={self.device.type}|".encode())
        # Recalibration: cumulative BatchNorm statistics (momentum None) over these batches, in this order.
        digest.update(f"recalibration=cumulative,batches={len(self.engine.calibration)}|".encode())
        for batch in self.engine.calibration:
            tensor_digest(digest, batch)
        tensor_digest(digest, self.engine.inputs)
        return digest.hexdigest()

    def _images_digest(self) -> str:
        """SHA-256 of the images sub-networks are judged on, on any device: the calibration batches and the split
        (a run that resumes on other images, e.g. a data file replaced, would mix two data sets in one front)."""
        digest = hashlib.sha256(f"{self.split_name}|".encode())
        for batch in self.engine.calibration:
            tensor_digest(digest, batch)
        tensor_digest(digest, self.engine.inputs)
        return digest.hexdigest()

    def _read_cache(self, path: Path) -> dict[str, np.ndarray]:
        """The predictions saved in ``path``, or none (with a warning saying why) if it cannot be trusted:
        a cache is derived data, so a damaged or foreign file costs recomputation, never a wrong result."""
        n, classes = len(self.labels), self.data.num_classes
        try:
            with np.load(path, allow_pickle=False) as saved:
                if _META not in saved.files or str(saved[_META]) != self.cache_key:
                    raise ValueError("it was written for other inputs (supernet, images or format)")
                entries = {key: saved[key] for key in saved.files if key != _META}
            for key, value in entries.items():
                if value.dtype != np.int16 or value.shape != (n,) or (n and not 0 <= value.min() <= value.max() < classes):
                    raise ValueError(f"entry {key!r} is not {n} class indices below {classes}")
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
            warnings.warn(f"ignoring prediction cache {str(path)!r}: {error}; its predictions are computed again",
                          PredictionCacheWarning, stacklevel=3)
            return {}
        return entries

    def close(self) -> None:
        """Stop the worker processes, or leave the cluster (they start again, or it is joined again, on the next
        ``evaluate_many`` that needs them)."""
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    def __enter__(self) -> Evaluator:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _worker_pool(self):
        if self._pool is None:
            if self.scheduler is not None:
                from regnas.eval_dask import DaskPool

                self._pool = DaskPool(self.engine, self.cache_key, scheduler=self.scheduler)
            else:
                from regnas.eval_workers import WorkerPool

                self._pool = WorkerPool(self.engine, self.workers)
            # Workers must not outlive an evaluator that was dropped without close(), nor our plugin a cluster's.
            weakref.finalize(self, self._pool.close)
        return self._pool


def recalibrate_module(module: nn.Module, calibration: Sequence[torch.Tensor]) -> nn.Module:
    """BN recalibration of a plain module (e.g. ``extract(arch)``) on calibration batches."""
    norms = batch_norms(module)
    with torch.inference_mode():
        for norm in norms:
            norm.reset_running_stats()
            norm.momentum = None
        module.train()
        for x in calibration:
            module(x)
    return module.eval()
