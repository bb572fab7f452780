"""Build one block of an ``ops`` latency key, or a whole network, ready to time (the profiler's hooks)."""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import nn

from regnas.errors import LatencyTableError
from search_spaces.base import Arch
from search_spaces.latency import random_module
from search_spaces.nats_size.layers import vocabulary
from search_spaces.nats_size.modules import Cell, ConvBN, Head, NATSSizeNetwork, Residual
from search_spaces.nats_size.space import widths

_KEY = re.compile(r"^(stem|cell|residual|head)/(\d+)-(\d+)/H(\d+)$")


def op_keys(settings: Mapping[str, Any], input_shape: tuple[int, int, int]) -> list[str]:
    """Every key of the ``ops`` scheme at these settings (what a profile must time)."""
    return vocabulary(settings, input_shape)


def max_repeats(settings: Mapping[str, Any]) -> int:
    """Each key occurs once in a network (the three cells and two residual blocks differ in height)."""
    return 1


def build_op(key: str, batch: int, generator: torch.Generator) -> Callable[[], Any]:
    """A call that runs the block of ``key`` once on a fixed random input of the key's shape."""
    match = _KEY.match(key)
    if not match:
        raise LatencyTableError(f"cannot build nats-size op key {key!r}; expected stem|cell|residual|head/CIN-COUT/H..")
    kind, c_in, c_out, height = match.group(1), int(match.group(2)), int(match.group(3)), int(match.group(4))
    factories: dict[str, Callable[[], nn.Module]] = {
        "stem": lambda: ConvBN(c_in, c_out, 3, relu=False),
        "cell": lambda: Cell(c_in, c_out),
        "residual": lambda: Residual(c_in, c_out),
        "head": lambda: Head(c_in, c_out),
    }
    module = random_module(factories[kind], generator)
    x = torch.randn(batch, c_in, height, height, generator=generator)
    if kind == "head":
        return lambda: module(x)
    return lambda: module(x, c_out)


def build_network(arch: Arch, settings: Mapping[str, Any], input_shape: tuple[int, int, int], batch: int,
                  generator: torch.Generator) -> Callable[[], Any]:
    """A call that runs the standalone network of ``arch`` (what ``extract`` returns) on a fixed input."""
    network = random_module(lambda: NATSSizeNetwork(widths(arch, settings), int(settings["num_classes"]), int(input_shape[0])), generator)
    x = torch.randn(batch, *input_shape, generator=generator)
    return lambda: network(x)

