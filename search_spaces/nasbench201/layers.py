"""Readable op keys of a NAS-Bench-201 network, the rows a per-op latency table prices."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from search_spaces.base import Arch
from search_spaces.nasbench201.modules import stage_plan
from search_spaces.nasbench201.space import edge_liveness


def layer_keys(arch: Arch, settings: Mapping[str, Any], input_shape: tuple[int, int, int]) -> list[str]:
    """One key per executed op, e.g. ``cell/nor_conv_3x3/C16/H32`` or ``reduction/C16-32/H32``."""
    channels, height = int(settings["C"]), int(input_shape[1])
    keys = [f"stem/conv3x3/{input_shape[0]}-{channels}/H{height}"]
    live = edge_liveness(arch)
    for kind, c_in, c_out in stage_plan(channels, int(settings["N"])):
        if kind == "reduction":
            keys.append(f"reduction/C{c_in}-{c_out}/H{height}")
            height = (height + 1) // 2
            continue
        keys.extend(f"cell/{op}/C{c_out}/H{height}" + ("" if alive else "/dead") for op, alive in zip(arch, live) if op != "none")
    keys.append(f"head/C{4 * channels}-{settings['num_classes']}/H{height}")
    return keys
