"""Readable op keys of a MobileNetV3 network: what a per-op latency table prices (the ``ops`` scheme).

One key per block the PyTorch network runs, with its shapes (``H``: the side of the block's input)::

    stem/conv3x3/3-16/H32                 3x3 convolution, BN, h-swish
    first/16-16/H32                       the fixed first block (3x3 depthwise, ReLU, 1x1 projection)
    mbconv/16-24/k5e4/s1/relu/H32         an inverted residual: in-out channels, kernel, expand ratio,
    mbconv/24-40/k3e6/s2/relu+se/H32      stride, activation (+se: with squeeze-excite); a residual is
                                          implied by equal channels at stride 1
    head/160-960-1280-10/H4               final expand, pooling, feature mix, classifier
"""
from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Mapping
from typing import Any

from search_spaces.base import Arch
from search_spaces.latency import KeyScheme
from search_spaces.mobilenetv3.modules import MAX_DEPTH, Stage, layer_shape, plan
from search_spaces.mobilenetv3.space import EXPANDS, KERNELS, N_STAGES, MobileNetV3Space, active_layers, from_active


def _halved(side: int, stride: int) -> int:
    return (side + stride - 1) // stride  # odd kernels padded by k // 2


def block_key(stage: Stage, layer: int, kernel: int, expand: int, side: int) -> str:
    c_in, c_out, stride = layer_shape(stage, layer)
    return f"mbconv/{c_in}-{c_out}/k{kernel}e{expand}/s{stride}/{stage.act}{'+se' if stage.se else ''}/H{side}"


def layer_keys(arch: Arch, settings: Mapping[str, Any], input_shape: tuple[int, int, int]) -> list[str]:
    """The ``ops`` scheme: one key per block the network runs."""
    p, side = plan(int(settings["C"])), int(input_shape[1])
    keys = [f"stem/conv3x3/{input_shape[0]}-{p.stem}/H{side}", f"first/{p.stem}-{p.first}/H{side}"]
    for stage, layers in zip(p.stages, active_layers(arch)):
        for j, (kernel, expand) in enumerate(layers):
            keys.append(block_key(stage, j, kernel, expand, side))
            side = _halved(side, layer_shape(stage, j)[2])
    keys.append(f"head/{p.stages[-1].c_out}-{p.final_expand}-{p.feature_mix}-{settings['num_classes']}/H{side}")
    return keys


def all_keys(settings: Mapping[str, Any], input_shape: tuple[int, int, int]) -> list[str]:
    """Every key of the ``ops`` scheme at these settings: the deepest networks of each uniform kernel and expand."""
    seen: dict[str, None] = {}
    for kernel in KERNELS:
        for expand in EXPANDS:
            seen.update(dict.fromkeys(layer_keys(_uniform(kernel, expand), settings, input_shape)))
    return list(seen)


def most_repeats(settings: Mapping[str, Any], input_shape: tuple[int, int, int]) -> int:
    """The most times one key occurs in a network (a block of one shape, kernel and expand in every slot it fits)."""
    return max(max(Counter(layer_keys(_uniform(k, e), settings, input_shape)).values()) for k in KERNELS for e in EXPANDS)


def _uniform(kernel: int, expand: int) -> Arch:
    return from_active([[(kernel, expand)] * MAX_DEPTH] * N_STAGES)


@functools.cache
def key_schemes() -> dict[str, KeyScheme]:
    """The ``ops`` scheme (keys from ``layer_keys``)."""
    ops = KeyScheme(MobileNetV3Space.name, "ops", "one key per block the PyTorch network runs, with its shapes", layer_keys)
    return {ops.name: ops}
