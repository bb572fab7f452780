"""Op keys of a NATS-Bench size network: what a per-op latency table prices (the ``ops`` scheme).

The cell is fixed, so a block is priced whole, by its widths and input height::

    stem/3-16/H32        cell/16-16/H32        residual/16-32/H32        cell/32-48/H16   ...   head/24-10/H8

(a residual block's height is its input's; a cell's ``cin-cout`` includes its skip_connect, a projection
where the two differ). Every network has exactly these seven keys, one per block.
"""
from __future__ import annotations

import functools
import itertools
from collections.abc import Mapping
from typing import Any

import numpy as np
from scipy import sparse

from search_spaces.base import Arch
from search_spaces.latency import KeyScheme
from search_spaces.nats_size.modules import plan
from search_spaces.nats_size.space import CHANNELS, NATSSizeSpace, widths

# The genes each of the seven keys depends on, in network order.
SLOTS = ((0,), (0,), (0, 1), (1, 2), (2, 3), (3, 4), (4,))


def block_keys(channels: tuple[int, ...], num_classes: int, in_channels: int, height: int) -> list[str]:
    """The seven keys of the network with these (already divided) widths."""
    keys = [f"stem/{in_channels}-{channels[0]}/H{height}"]
    for kind, c_in, c_out in plan(channels):
        keys.append(f"{kind}/{c_in}-{c_out}/H{height}")
        if kind == "residual":
            height = (height + 1) // 2
    keys.append(f"head/{channels[-1]}-{num_classes}/H{height}")
    return keys


def layer_keys(arch: Arch, settings: Mapping[str, Any], input_shape: tuple[int, int, int]) -> list[str]:
    """The ``ops`` scheme: one key per block of the network of ``arch``."""
    return block_keys(widths(arch, settings), int(settings["num_classes"]), int(input_shape[0]), int(input_shape[1]))


def vocabulary(settings: Mapping[str, Any], input_shape: tuple[int, int, int]) -> list[str]:
    """Every key of the ``ops`` scheme at these settings, slot by slot, in gene-index order within a slot."""
    return list(_slot_vocabularies(*_signature(settings, input_shape))[0])


def _signature(settings: Mapping[str, Any], input_shape: tuple[int, int, int]) -> tuple[int, int, int, int]:
    return int(settings.get("div", 1)), int(settings["num_classes"]), int(input_shape[0]), int(input_shape[1])


@functools.lru_cache(maxsize=16)
def _slot_vocabularies(div: int, num_classes: int, in_channels: int, height: int) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """(all keys, the column where each slot's keys start); a slot's key of gene indices (i, j) is at start + 8i + j."""
    keys, starts = [], []
    for slot, genes in enumerate(SLOTS):
        starts.append(len(keys))
        for combo in itertools.product(range(len(CHANNELS)), repeat=len(genes)):
            arch = [CHANNELS[0]] * 5
            for g, c in zip(genes, combo):
                arch[g] = CHANNELS[c]
            keys.append(block_keys(widths(tuple(arch), {"div": div}), num_classes, in_channels, height)[slot])
    return tuple(keys), tuple(starts)


def layer_counts(codes: np.ndarray, settings: Mapping[str, Any], input_shape: tuple[int, int, int]) -> tuple[list[str], sparse.csr_matrix]:
    """``layer_keys`` for many architectures (rows of gene indices) at once: (vocabulary, counts)."""
    keys, starts = _slot_vocabularies(*_signature(settings, input_shape))
    codes = np.asarray(codes, dtype=np.int64)
    columns = []
    for start, genes in zip(starts, SLOTS):
        offset = np.zeros(len(codes), dtype=np.int64)
        for g in genes:
            offset = offset * len(CHANNELS) + codes[:, g]
        columns.append(start + offset)
    cols = np.stack(columns, axis=1).ravel()
    rows = np.repeat(np.arange(len(codes)), len(SLOTS))
    return list(keys), sparse.csr_matrix((np.ones(len(cols)), (rows, cols)), shape=(len(codes), len(keys)))


@functools.cache
def key_schemes() -> dict[str, KeyScheme]:
    """The ``ops`` scheme with its fast counts."""
    ops = KeyScheme(NATSSizeSpace.name, "ops", "one key per block (stem, cell, residual, head) with its widths and height",
                    layer_keys, layer_counts)
    return {"ops": ops}
