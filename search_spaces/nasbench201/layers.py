"""Readable op keys of a NAS-Bench-201 network: what a per-op latency table prices.

Two key schemes (documented in the README, section "Latency per platform"):

``ops`` -- one key per op the PyTorch network executes, with its shapes, for tables profiled op by
op (``layer_keys``, also ``NASBench201Space.layers``)::

    stem/conv3x3/3-16/H32            reduction/C16-32/H32           head/C64-10/H8
    cell/nor_conv_3x3/C16/H32        cell/add/C16/H32 (a node summing k inputs adds k-1)
    cell/zeros/C16/H32 (an op reading an empty node)   cell/frame/C16/H32 (one per cell)

``cells`` -- keys for tables fitted to whole-network measurements (``cell_keys``). The cell is
repeated in every stage, so measurements only identify an op's cost over all 3N cells; each key
prices that (prefix ``cells/C16-64/H32-8/N5``)::

    network/C16/N5/H32                       everything outside the cells
    <prefix>/nor_conv_3x3                    the op on any edge
    <prefix>/2<-1/nor_conv_3x3               adjustment for that edge
    <prefix>/2<-1/nor_conv_3x3/dead          adjustment when it cannot reach the output
    <prefix>/2<-1/nor_conv_3x3/dead/n1=dangling,n2=dangling(0,1)
                                             adjustment by the shape of the dead branch
    constant-network/C16/N5/H32              the only key, with ``fold``, of a network whose cell
                                             output does not depend on its input

``cell_key_level`` ranks these keys for fitting: 0 for base costs, 1 and 2 for adjustments, which
a fit shrinks towards zero so that rare keys fall back on the base costs.
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
from search_spaces.nasbench201.modules import stage_plan
from search_spaces.nasbench201.space import EDGES, N_NODES, OPS, NASBench201Space, edge_liveness

EDGE_NAMES = tuple(f"{dst}<-{src}" for dst, src in EDGES)
NODE2_STATES = ("live", "empty", "dangling(0)", "dangling(1)", "dangling(0,1)")
BRANCH_SHAPES = tuple(f"n1={n1},n2={n2}" for n1 in ("live", "empty", "dangling") for n2 in NODE2_STATES)


def _stages(settings: Mapping[str, Any], input_shape: tuple[int, int, int]) -> list[tuple[int, int]]:
    """(channels, height) of each of the three stages."""
    channels, height = int(settings["C"]), int(input_shape[1])
    out = []
    for stage in range(3):
        out.append((channels << stage, height))
        height = (height + 1) // 2
    return out


def _node_inputs(arch: Arch) -> list[int]:
    inputs = [0] * N_NODES
    for op, (dst, _) in zip(arch, EDGES):
        inputs[dst] += op != "none"
    return inputs


def layer_keys(arch: Arch, settings: Mapping[str, Any], input_shape: tuple[int, int, int]) -> list[str]:
    """The ``ops`` scheme: one key per op the network runs (dead ops too: PyTorch runs them)."""
    channels, height = int(settings["C"]), int(input_shape[1])
    keys = [f"stem/conv3x3/{input_shape[0]}-{channels}/H{height}"]
    inputs = _node_inputs(arch)
    cell = []
    for op, (dst, src) in zip(arch, EDGES):
        if op == "none":
            continue
        cell.append(op)
        if src and not inputs[src]:
            cell.append("zeros")
    cell += ["add"] * sum(max(k - 1, 0) for k in inputs[1:])
    cell += ["zeros"] * (inputs[-1] == 0) + ["frame"]
    for kind, c_in, c_out in stage_plan(channels, int(settings["N"])):
        if kind == "reduction":
            keys.append(f"reduction/C{c_in}-{c_out}/H{height}")
            height = (height + 1) // 2
        else:
            keys.extend(f"cell/{name}/C{c_out}/H{height}" for name in cell)
    keys.append(f"head/C{4 * channels}-{settings['num_classes']}/H{height}")
    return keys


def layer_counts(codes: np.ndarray, settings: Mapping[str, Any], input_shape: tuple[int, int, int]) -> tuple[list[str], np.ndarray]:
    """``layer_keys`` for many architectures at once: (vocabulary, counts of shape (n, len(vocabulary)))."""
    n_cells = int(settings["N"])
    present = codes != 0
    inputs = np.zeros((len(codes), N_NODES), dtype=np.int64)
    for e, (dst, _) in enumerate(EDGES):
        inputs[:, dst] += present[:, e]
    per_cell = {op: (codes == i).sum(1) for i, op in enumerate(OPS) if op != "none"}
    per_cell["zeros"] = sum(present[:, e] & (inputs[:, src] == 0) for e, (_, src) in enumerate(EDGES) if src) + (inputs[:, -1] == 0)
    per_cell["add"] = np.maximum(inputs[:, 1:] - 1, 0).sum(1)
    per_cell["frame"] = np.ones(len(codes), dtype=np.int64)
    fixed = layer_keys(("none",) * len(EDGES), settings, input_shape)
    vocabulary = [k for k in fixed if not k.startswith("cell/")]
    columns = [np.ones(len(codes))] * len(vocabulary)
    for channels, height in _stages(settings, input_shape):
        for name, count in per_cell.items():
            vocabulary.append(f"cell/{name}/C{channels}/H{height}")
            columns.append(count * n_cells)
    return vocabulary, np.stack(columns, axis=1).astype(np.float64)


def _cell_prefix(settings: Mapping[str, Any], input_shape: tuple[int, int, int]) -> str:
    (c0, h0), _, (c2, h2) = _stages(settings, input_shape)
    return f"cells/C{c0}-{c2}/H{h0}-{h2}/N{int(settings['N'])}"


def _network_key(settings: Mapping[str, Any], input_shape: tuple[int, int, int]) -> str:
    return f"network/C{int(settings['C'])}/N{int(settings['N'])}/H{int(input_shape[1])}"


def _constant_key(settings: Mapping[str, Any], input_shape: tuple[int, int, int]) -> str:
    return "constant-" + _network_key(settings, input_shape)


def cell_key_level(key: str) -> int:
    """0 for a base cost (network, op anywhere), 1 for an edge or dead adjustment, 2 for a dead-branch shape."""
    if not key.startswith("cells/"):
        return 0
    return {4: 0, 5: 1, 6: 1, 7: 2}[key.count("/")]


def input_reaches_output(arch: Arch) -> bool:
    """Whether a path of non-``none`` edges joins the cell input to its output."""
    reached = [True] + [False] * (N_NODES - 1)
    for op, (dst, src) in zip(arch, EDGES):
        reached[dst] |= op != "none" and reached[src]
    return reached[-1]


def branch_shape(arch: Arch, live: tuple[bool, ...]) -> str:
    """How nodes 1 and 2 feed the output: ``live``, ``empty`` or ``dangling`` (computed, unused)."""
    n1 = "empty" if arch[0] == "none" else ("live" if live[2] or live[4] else "dangling")
    from_0, from_1 = arch[1] != "none", arch[2] != "none"
    if not (from_0 or from_1):
        n2 = "empty"
    elif live[5]:
        n2 = "live"
    else:
        n2 = "dangling(" + ",".join(s for s, used in (("0", from_0), ("1", from_1)) if used) + ")"
    return f"n1={n1},n2={n2}"


def cell_keys(arch: Arch, settings: Mapping[str, Any], input_shape: tuple[int, int, int], fold: bool) -> list[str]:
    """The ``cells`` scheme (``fold``: a network whose output ignores its input costs one constant)."""
    network = _network_key(settings, input_shape)
    if fold and not input_reaches_output(arch):
        return [_constant_key(settings, input_shape)]
    prefix, live = _cell_prefix(settings, input_shape), edge_liveness(arch)
    shape = branch_shape(arch, live)
    keys = [network]
    for op, alive, edge in zip(arch, live, EDGE_NAMES):
        if op == "none":
            continue
        keys += [f"{prefix}/{op}", f"{prefix}/{edge}/{op}"]
        if not alive:
            keys += [f"{prefix}/{edge}/{op}/dead", f"{prefix}/{edge}/{op}/dead/{shape}"]
    return keys


def cell_vocabulary(settings: Mapping[str, Any], input_shape: tuple[int, int, int], fold: bool) -> list[str]:
    """Every key ``cell_keys`` can produce, in the column order of ``cell_counts``."""
    network, prefix = _network_key(settings, input_shape), _cell_prefix(settings, input_shape)
    vocabulary = [network] + ([_constant_key(settings, input_shape)] if fold else [])
    ops = OPS[1:]
    vocabulary += [f"{prefix}/{op}" for op in ops]
    vocabulary += [f"{prefix}/{edge}/{op}" for edge in EDGE_NAMES for op in ops]
    vocabulary += [f"{prefix}/{edge}/{op}/dead" for edge in EDGE_NAMES for op in ops]
    vocabulary += [f"{prefix}/{edge}/{op}/dead/{shape}" for edge in EDGE_NAMES for op in ops for shape in BRANCH_SHAPES]
    return vocabulary


def cell_counts(codes: np.ndarray, settings: Mapping[str, Any], input_shape: tuple[int, int, int], fold: bool) -> tuple[list[str], sparse.csr_matrix]:
    """``cell_keys`` for many architectures (rows of gene indices) at once: (vocabulary, sparse counts)."""
    key = (int(settings["C"]), int(settings["N"]), tuple(int(v) for v in input_shape), bool(fold))
    vocabulary, every_cell = _every_cell_counts(*key)
    radix = len(OPS) ** np.arange(len(EDGES) - 1, -1, -1)
    return vocabulary, every_cell[np.asarray(codes, dtype=np.int64) @ radix]


@functools.lru_cache(maxsize=8)
def _every_cell_counts(channels: int, cells: int, input_shape: tuple[int, int, int], fold: bool) -> tuple[list[str], sparse.csr_matrix]:
    """Counts of all 5**6 cells in gene-index order, built once: liveness needs the whole cell."""
    settings = {"C": channels, "N": cells}
    vocabulary = cell_vocabulary(settings, input_shape, fold)
    column = {key: j for j, key in enumerate(vocabulary)}
    rows, cols = [], []
    for r, arch in enumerate(itertools.product(OPS, repeat=len(EDGES))):
        for key in cell_keys(arch, settings, input_shape, fold):
            rows.append(r)
            cols.append(column[key])
    shape = (len(OPS) ** len(EDGES), len(vocabulary))
    return vocabulary, sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=shape)


@functools.cache
def key_schemes() -> dict[str, KeyScheme]:
    """The ``ops`` scheme with its fast counts, and the fitted ``cells`` and ``cells-fold``."""

    def cells(fold: bool) -> KeyScheme:
        return KeyScheme(
            NASBench201Space.name,
            "cells-fold" if fold else "cells",
            "per-edge op costs over all cells, dead-op and dead-branch adjustments"
            + ("; networks whose output ignores the input cost one constant (the runtime folds them)" if fold else ""),
            lambda a, s, i: cell_keys(a, s, i, fold),
            lambda c, s, i: cell_counts(c, s, i, fold),
            cell_key_level,
        )

    ops = KeyScheme(NASBench201Space.name, "ops", "one key per op the PyTorch network runs, with its shapes", layer_keys, layer_counts)
    return {scheme.name: scheme for scheme in (ops, cells(False), cells(True))}
