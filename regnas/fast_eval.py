"""The evaluation engine behind ``Evaluator``: exact BN recalibration, a fast channels-last pass, exact tie checks."""
from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from search_spaces.base import Arch
from search_spaces.supernet import Supernet


@dataclass(frozen=True)
class EngineOptions:
    """How sub-networks are run; no option changes a prediction (see ``SubnetEngine``).

    ``threads``: intra-op threads while evaluating. One: convolutions of 8-16 channels gain little
    from a second thread and lose badly when the cores are shared; scale with worker processes instead.
    ``chunk_size``: images per forward in the evaluation pass (smaller chunks stay in cache).
    ``channels_last``: run the evaluation pass in NHWC (faster oneDNN kernels, other rounding).
    ``tie_tolerance``: a fast prediction is trusted only when its top-1 logit beats the runner-up by
    more than ``tie_tolerance * (1 + |top-1 logit|)``; other samples are recomputed on the exact path.
    """

    threads: int = 1
    chunk_size: int = 128
    channels_last: bool = True
    tie_tolerance: float = 1e-4

    def __post_init__(self) -> None:
        if self.threads < 1 or self.chunk_size < 2 or not self.tie_tolerance >= 0:
            raise ValueError(f"invalid engine options {self}: threads >= 1, chunk_size >= 2, tie_tolerance >= 0")


@contextlib.contextmanager
def intra_op_threads(threads: int) -> Iterator[None]:
    """Run the block with ``threads`` intra-op threads and restore the caller's setting afterwards."""
    previous = torch.get_num_threads()
    if previous != threads:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        if previous != threads:
            torch.set_num_threads(previous)


def batch_norms(module: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    return [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


def chunk_bounds(n: int, size: int) -> list[tuple[int, int]]:
    """``[start, stop)`` pairs covering ``range(n)``; a trailing single image joins the chunk before it,
    because oneDNN runs a batch of one through other kernels (other rounding) than batches of two or more."""
    bounds = [(start, min(start + size, n)) for start in range(0, n, size)]
    if len(bounds) > 1 and bounds[-1][1] - bounds[-1][0] == 1:
        bounds[-2:] = [(bounds[-2][0], n)]
    return bounds


class SubnetEngine:
    """Predictions of sub-networks of a supernet it owns (its BatchNorm buffers are rewritten per call).

    Exactness, i.e. the same predictions as ``extract(arch)`` + ``recalibrate_module`` + a plain
    forward: the calibration pass is that computation itself (same layout, same single batch, so the
    same statistics bit for bit). The evaluation pass may run in channels-last layout, whose logits
    differ from the contiguous layout's by rounding (at most 5e-7 relative measured); every sample whose
    top-2 logit margin is within ``tie_tolerance`` (1e-4 relative) of a tie is recomputed in the
    contiguous layout, so a prediction can differ from the exact path only if rounding exceeded the
    tolerance, two hundred times what was measured (``benchmarks/RESULTS.md``). Per-sample logits do not depend on how images are batched (two or
    more per batch) or on the thread count, so chunking and worker processes change nothing either.
    """

    def __init__(self, supernet: Supernet, calibration: Sequence[torch.Tensor], inputs: torch.Tensor,
                 *, batch_size: int, options: EngineOptions = EngineOptions()):
        self.supernet = supernet.eval()
        self.options = options
        self.calibration = list(calibration)
        self.inputs = inputs
        self.batch_size = batch_size
        self.bounds = chunk_bounds(len(inputs), max(2, min(batch_size, options.chunk_size)))
        self.norms = batch_norms(supernet)
        self.n_rechecked = 0  # samples recomputed on the exact path because the fast logits were near a tie

    def take_private_supernet(self) -> None:
        """Work on a copy of the supernet from now on (its BatchNorm buffers are rewritten per call)."""
        self.supernet = copy.deepcopy(self.supernet)
        self.norms = batch_norms(self.supernet)

    def predictions(self, arch: Arch) -> np.ndarray:
        with intra_op_threads(self.options.threads), torch.inference_mode():
            self.recalibrate(arch)
            if not self.options.channels_last:
                return self._exact_argmax(arch, self.bounds).cpu().numpy().astype(np.int16)
            predicted, uncertain = [], []
            for start, stop in self.bounds:
                x = self.inputs[start:stop].contiguous(memory_format=torch.channels_last)
                logits = self.supernet(x, arch)
                predicted.append(logits.argmax(dim=1))
                uncertain.append(torch.nonzero(self._near_tie(logits)).flatten() + start)
            result = torch.cat(predicted)
            recheck = torch.cat(uncertain)
            if len(recheck):
                result[recheck] = self._recompute(arch, recheck)
            return result.cpu().numpy().astype(np.int16)

    def recalibrate(self, arch: Arch) -> None:
        """Population statistics of the calibration images along ``arch``: cumulative averaging
        (momentum None) over the calibration batches, exactly as ``recalibrate_module`` does."""
        for norm in self.norms:
            norm.reset_running_stats()
            norm.momentum = None
            norm.train()
        try:
            for x in self.calibration:
                self.supernet(x, arch)
        finally:
            for norm in self.norms:
                norm.eval()

    def _near_tie(self, logits: torch.Tensor) -> torch.Tensor:
        """Samples whose fast prediction is not beyond doubt (a NaN margin counts as doubtful)."""
        if logits.shape[1] < 2:
            return torch.zeros(len(logits), dtype=torch.bool, device=logits.device)
        top2 = logits.topk(2, dim=1).values
        return ~(top2[:, 0] - top2[:, 1] > self.options.tie_tolerance * (1 + top2[:, 0].abs()))

    def _exact_argmax(self, arch: Arch, bounds: Sequence[tuple[int, int]]) -> torch.Tensor:
        return torch.cat([self.supernet(self.inputs[start:stop], arch).argmax(dim=1) for start, stop in bounds])

    def _recompute(self, arch: Arch, index: torch.Tensor) -> torch.Tensor:
        """Exact predictions of the samples ``index``, batched in twos or more (see ``chunk_bounds``)."""
        self.n_rechecked += len(index)
        padded = index if len(index) > 1 else torch.cat([index, (index + 1) % len(self.inputs)])
        out = torch.cat([self.supernet(self.inputs[padded[start:stop]], arch).argmax(dim=1)
                         for start, stop in chunk_bounds(len(padded), self.options.chunk_size)])
        return out[: len(index)]
