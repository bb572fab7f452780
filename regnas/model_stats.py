"""Parameter and FLOP counts of extracted sub-networks, cached by canonical string."""
from __future__ import annotations

import torch
from torch.utils.flop_counter import FlopCounterMode

from search_spaces.base import Arch
from search_spaces.supernet import Supernet


class ModelStats:
    """``params(arch)`` and ``flops(arch)`` (multiply-adds x 2 of one image) of ``supernet.extract(arch)``."""

    def __init__(self, supernet: Supernet, image_size: int = 32):
        self.supernet = supernet
        self.input_shape = supernet.input_shape(image_size)
        self._cache: dict[str, tuple[int, int]] = {}

    def _stats(self, arch: Arch | str) -> tuple[int, int]:
        space = self.supernet.space
        key = space.to_str(space.parse(arch))
        if key not in self._cache:
            module = self.supernet.extract(arch).eval()
            params = sum(p.numel() for p in module.parameters())
            counter = FlopCounterMode(display=False)
            with counter, torch.inference_mode():
                module(torch.zeros(1, *self.input_shape))
            self._cache[key] = (int(params), int(counter.get_total_flops()))
        return self._cache[key]

    def params(self, arch: Arch | str) -> int:
        return self._stats(arch)[0]

    def flops(self, arch: Arch | str) -> int:
        return self._stats(arch)[1]
