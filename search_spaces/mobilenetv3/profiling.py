"""Build one op of an ``ops`` latency key, or a whole network, ready to time (the profiler's hooks)."""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import nn

from regnas.errors import LatencyTableError
from search_spaces.base import Arch
from search_spaces.latency import random_module
from search_spaces.mobilenetv3.layers import all_keys, most_repeats
from search_spaces.mobilenetv3.modules import ConvBN, Head, MBConv
from search_spaces.mobilenetv3.supernet import MobileNetV3Network

_KEY = re.compile(
    r"^(?:stem/conv3x3/(?P<stem_in>\d+)-(?P<stem_out>\d+)"
    r"|first/(?P<first_in>\d+)-(?P<first_out>\d+)"
    r"|mbconv/(?P<c_in>\d+)-(?P<c_out>\d+)/k(?P<k>\d+)e(?P<e>\d+)/s(?P<s>\d+)/(?P<act>relu|hswish)(?P<se>\+se)?"
    r"|head/(?P<head_in>\d+)-(?P<fe>\d+)-(?P<fm>\d+)-(?P<classes>\d+))/H(?P<side>\d+)$"
)


def op_keys(settings: Mapping[str, Any], input_shape: tuple[int, int, int]) -> list[str]:
    """Every key of the ``ops`` scheme at these settings (what a profile must time)."""
    return all_keys(settings, input_shape)


def max_repeats(settings: Mapping[str, Any]) -> int:
    """The most times one key occurs in a network (slots 2-4 of a stage with one kernel and expand ratio)."""
    return most_repeats(settings, (3, 32, 32))


def build_op(key: str, batch: int, generator: torch.Generator) -> Callable[[], Any]:
    """A call that runs the block of ``key`` once on a fixed random input of the key's shape."""
    match = _KEY.match(key)
    if not match:
        raise LatencyTableError(f"cannot build mobilenetv3 op key {key!r}; expected stem/conv3x3/.., first/.., "
                                "mbconv/IN-OUT/kKeE/sS/ACT[+se]/H.. or head/..")
    g, side = match.groupdict(), int(match["side"])
    if g["stem_in"]:
        c_in, factory = int(g["stem_in"]), lambda: ConvBN(int(g["stem_in"]), int(g["stem_out"]), 3, act="hswish")
    elif g["first_in"]:
        c_in = int(g["first_in"])
        factory = lambda: MBConv(c_in, int(g["first_out"]), 3, c_in, 1, "relu", False, expand=False)  # noqa: E731
    elif g["c_in"]:
        c_in = int(g["c_in"])
        factory = lambda: MBConv(c_in, int(g["c_out"]), int(g["k"]), c_in * int(g["e"]), int(g["s"]), g["act"], bool(g["se"]))  # noqa: E731
    else:
        c_in = int(g["head_in"])
        factory = lambda: Head(c_in, int(g["fe"]), int(g["fm"]), int(g["classes"]))  # noqa: E731
    module = random_module(factory, generator)
    x = torch.randn(batch, c_in, side, side, generator=generator)
    return lambda: module(x)


def build_network(arch: Arch, settings: Mapping[str, Any], input_shape: tuple[int, int, int], batch: int,
                  generator: torch.Generator) -> Callable[[], Any]:
    """A call that runs the standalone network of ``arch`` (what ``extract`` returns) on a fixed input."""
    network = random_module(lambda: MobileNetV3Network(arch, int(settings["C"]), int(settings["num_classes"]), int(input_shape[0])),
                     generator)
    x = torch.randn(batch, *input_shape, generator=generator)
    return lambda: network(x)
