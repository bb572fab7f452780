"""Subnet evaluation: BN recalibration on the calibration split, per-sample predictions, cached by key."""
from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from regnas.data import ImageData, Split
from regnas.io import atomic_write
from regnas.metrics import PackedCorrect, correctness
from search_spaces.base import Arch
from search_spaces.supernet import Supernet

SPLITS = ("validation", "test", "calibration", "train")


class Evaluator:
    """Per-sample predictions of sub-networks of one trained supernet on one split.

    Before each sub-network is evaluated its BatchNorm statistics are recomputed on the fixed
    calibration split (the supernet's running statistics belong to no single path). Results are
    cached by the space's functional key (architectures that differ only in ops that cannot reach
    the output share one entry) together with the supernet checksum and the split.
    """

    def __init__(
        self,
        supernet: Supernet,
        data: ImageData,
        *,
        split: str = "validation",
        batch_size: int = 500,
        cache_dir: str | Path | None = None,
    ):
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; allowed: {', '.join(SPLITS)}")
        # A private copy: recalibration rewrites BatchNorm buffers, the caller's supernet stays as it is.
        self.supernet = copy.deepcopy(supernet).eval()
        self.space = supernet.space
        self.data = data
        self.split_name = split
        self.split: Split = getattr(data, split)
        self.labels = self.split.labels.numpy()
        self.batch_size = batch_size
        self.checksum = supernet.checksum()
        self._norms = [m for m in self.supernet.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        # Normalise once: every sub-network reads the same tensors.
        self._calibration = [x for x, _ in data.batches(data.calibration, len(data.calibration))]
        self._inputs = [x for x, _ in data.batches(self.split, batch_size)]
        self._cache: dict[str, np.ndarray] = {}
        self.cache_file = Path(cache_dir) / f"predictions-{self.checksum}-{split}.npz" if cache_dir else None
        if self.cache_file is not None and self.cache_file.exists():
            with np.load(self.cache_file) as saved:
                self._cache = {key: saved[key] for key in saved.files}
        self.n_computed = 0

    def key(self, arch: Arch | str) -> str:
        return self.space.functional_key(self.space.parse(arch))

    def predictions(self, arch: Arch | str) -> np.ndarray:
        """Predicted class of every sample of the split, as ``int16`` of shape ``(N,)``."""
        key = self.key(arch)
        if key not in self._cache:
            self._cache[key] = self._predict(self.space.parse(arch))
            self.n_computed += 1
        return self._cache[key]

    def correct(self, arch: Arch | str) -> np.ndarray:
        return correctness(self.predictions(arch), self.labels)

    def packed(self, arch: Arch | str) -> PackedCorrect:
        return PackedCorrect.pack(self.correct(arch))

    def accuracy(self, arch: Arch | str) -> float:
        return float(self.correct(arch).mean())

    def evaluate_many(self, archs: Iterable[Arch | str]) -> list[np.ndarray]:
        return [self.predictions(a) for a in archs]

    def is_cached(self, arch: Arch | str) -> bool:
        return self.key(arch) in self._cache

    def save_cache(self) -> None:
        if self.cache_file is not None and self._cache:
            atomic_write(self.cache_file, lambda handle: np.savez(handle, **self._cache))

    @torch.inference_mode()
    def _predict(self, arch: Arch) -> np.ndarray:
        self._recalibrate(arch)
        outputs = [self.supernet(x, arch).argmax(dim=1) for x in self._inputs]
        return torch.cat(outputs).numpy().astype(np.int16)

    def _recalibrate(self, arch: Arch) -> None:
        """Exact population statistics of the calibration images: cumulative averaging (momentum None)."""
        for norm in self._norms:
            norm.reset_running_stats()
            norm.momentum = None
            norm.train()
        for x in self._calibration:
            self.supernet(x, arch)
        for norm in self._norms:
            norm.eval()


def recalibrate_module(module: nn.Module, calibration: Sequence[torch.Tensor]) -> nn.Module:
    """BN recalibration of a plain module (e.g. ``extract(arch)``) on calibration batches."""
    norms = [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    with torch.inference_mode():
        for norm in norms:
            norm.reset_running_stats()
            norm.momentum = None
        module.train()
        for x in calibration:
            module(x)
    return module.eval()
