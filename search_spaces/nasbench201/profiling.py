"""Build one op of an ``ops`` latency key, or a whole network, ready to time (the profiler's hooks)."""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from regnas.errors import LatencyTableError
from search_spaces.base import Arch
from search_spaces.latency import random_module
from search_spaces.nasbench201.layers import layer_counts
from search_spaces.nasbench201.modules import Head, ReLUConvBN, ResidualReduction, Stem
from search_spaces.nasbench201.supernet import NASBench201Network, run_cell

_KEY = re.compile(r"^(stem/conv3x3/(\d+)-(\d+)|reduction/C(\d+)-(\d+)|head/C(\d+)-(\d+)|cell/([a-z_0-9]+)/C(\d+))/H(\d+)$")
# The frame key times run_cell's own bookkeeping: one trivial edge into the output, no op work.
_FRAME_OPS = ("none", "none", "none", "skip_connect", "none", "none")


def op_keys(settings: Mapping[str, Any], input_shape: tuple[int, int, int]) -> list[str]:
    """Every key of the ``ops`` scheme at these settings (what a profile must time)."""
    return layer_counts(np.zeros((1, 6), dtype=np.int64), settings, input_shape)[0]


def max_repeats(settings: Mapping[str, Any]) -> int:
    """The most times one key occurs in a network: 6 edges in each of N cells of a stage."""
    return 6 * int(settings["N"])


def build_op(key: str, batch: int, generator: torch.Generator) -> Callable[[], Any]:
    """A call that runs the op of ``key`` once on a fixed random input of the key's shape."""
    match = _KEY.match(key)
    if not match:
        raise LatencyTableError(f"cannot build nasbench201 op key {key!r}; expected stem/..., reduction/..., head/... or cell/OP/C../H..")
    height = int(match.group(10))

    def tensor(channels: int) -> torch.Tensor:
        return torch.randn(batch, channels, height, height, generator=generator)

    if match.group(2):
        module, x = random_module(lambda: Stem(int(match.group(2)), int(match.group(3))), generator), tensor(int(match.group(2)))
        return lambda: module(x)
    if match.group(4):
        module, x = random_module(lambda: ResidualReduction(int(match.group(4)), int(match.group(5))), generator), tensor(int(match.group(4)))
        return lambda: module(x)
    if match.group(6):
        module, x = random_module(lambda: Head(int(match.group(6)), int(match.group(7))), generator), tensor(int(match.group(6)))
        return lambda: module(x)
    name, channels = match.group(8), int(match.group(9))
    x, y = tensor(channels), tensor(channels)
    if name == "add":
        return lambda: x + y
    if name == "zeros":
        return lambda: torch.zeros_like(x)
    if name == "frame":
        return lambda: run_cell(x, _FRAME_OPS, lambda index, op, t: t)
    factories: dict[str, Callable[[], nn.Module]] = {
        "nor_conv_3x3": lambda: ReLUConvBN(channels, channels, 3, stride=1),
        "nor_conv_1x1": lambda: ReLUConvBN(channels, channels, 1, stride=1),
        "avg_pool_3x3": lambda: nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False),
        "skip_connect": lambda: nn.Identity(),
    }
    if name not in factories:
        raise LatencyTableError(f"unknown nasbench201 cell op {name!r} in key {key!r}; allowed: {', '.join([*factories, 'add', 'zeros', 'frame'])}")
    # Called the way Cell calls its ops (ModuleDict look-up inside run_cell's apply), so the entry
    # includes that dispatch: a few microseconds per op, which add up over the 3N cells.
    ops = nn.ModuleDict({"3": random_module(factories[name], generator)})
    apply = lambda index, op, t: ops[str(index)](t)  # noqa: E731
    return lambda: apply(3, name, x)


def build_network(arch: Arch, settings: Mapping[str, Any], input_shape: tuple[int, int, int], batch: int, generator: torch.Generator) -> Callable[[], Any]:
    """A call that runs the standalone network of ``arch`` (what ``extract`` returns) on a fixed input."""
    network = random_module(
        lambda: NASBench201Network(arch, int(settings["C"]), int(settings["N"]), int(settings["num_classes"]), int(input_shape[0])),
        generator,
    )
    x = torch.randn(batch, *input_shape, generator=generator)
    return lambda: network(x)
