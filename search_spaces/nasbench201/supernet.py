"""NAS-Bench-201 supernet: one shared 3x3 ReLU-Conv-BN per edge (conv1x1 = its centre tap) and ``extract``."""
from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn
from torch.nn import functional as F

from search_spaces.base import Arch
from search_spaces.nasbench201.modules import Head, ReLUConvBN, ResidualReduction, Stem, avg_pool_3x3, stage_plan
from search_spaces.nasbench201.space import EDGES, N_NODES, NASBench201Space, edge_liveness
from search_spaces.supernet import Supernet

_SPACE = NASBench201Space()


class SharedEdge(nn.Module):
    """The weights of one edge: a 3x3 kernel whose centre tap is the conv1x1, and one BatchNorm."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(channels)

    def forward(self, x: torch.Tensor, op: str) -> torch.Tensor:
        if op == "nor_conv_3x3":
            return self.bn(F.conv2d(F.relu(x), self.conv.weight, padding=1))
        if op == "nor_conv_1x1":
            return self.bn(F.conv2d(F.relu(x), self.conv.weight[:, :, 1:2, 1:2]))
        if op == "skip_connect":
            return x
        if op == "avg_pool_3x3":
            return avg_pool_3x3(x)
        raise ValueError(f"op {op!r} has no computation on an edge")


def run_cell(x: torch.Tensor, ops: Sequence[str], apply: Callable[[int, str, torch.Tensor], torch.Tensor]) -> torch.Tensor:
    """Each node sums its incoming edges; ``apply(edge_index, op, tensor)`` runs one edge.

    ``none`` edges are skipped and a node with no input is zero, which keeps the sums exact.
    """
    nodes: list[torch.Tensor | None] = [x] + [None] * (N_NODES - 1)
    for index, ((dst, src), op) in enumerate(zip(EDGES, ops)):
        if op == "none":
            continue
        source = nodes[src] if nodes[src] is not None else torch.zeros_like(x)
        out = apply(index, op, source)
        nodes[dst] = out if nodes[dst] is None else nodes[dst] + out
    return nodes[-1] if nodes[-1] is not None else torch.zeros_like(x)


class SupernetCell(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.edges = nn.ModuleList(SharedEdge(channels) for _ in EDGES)

    def forward(self, x: torch.Tensor, ops: Sequence[str]) -> torch.Tensor:
        return run_cell(x, ops, lambda index, op, t: self.edges[index](t, op))


class NASBench201Supernet(Supernet):
    """Stem, 3 stages of N cells joined by residual reductions, and the classifier (C, N configurable).

    ``init_seed`` seeds the initial weights; it is not a setting (a checkpoint's weights replace them).
    """

    space_name = "nasbench201"

    def __init__(self, C: int = 16, N: int = 5, num_classes: int = 10, in_channels: int = 3, init_seed: int = 0):
        super().__init__({"C": int(C), "N": int(N), "num_classes": int(num_classes), "in_channels": int(in_channels)})
        self.stem = Stem(in_channels, C)
        self.plan = stage_plan(C, N)
        self.blocks = nn.ModuleList(
            SupernetCell(c_out) if kind == "cell" else ResidualReduction(c_in, c_out) for kind, c_in, c_out in self.plan
        )
        self.head = Head(4 * C, num_classes)
        self.reset_parameters(torch.Generator().manual_seed(init_seed))

    def forward(self, x: torch.Tensor, arch: Arch | str) -> torch.Tensor:
        arch = _SPACE.parse(arch)
        # Ops that cannot change the output are skipped: exact, and cheaper to evaluate.
        live = [op if alive else "none" for op, alive in zip(arch, edge_liveness(arch))]
        x = self.stem(x)
        for (kind, _, _), block in zip(self.plan, self.blocks):
            x = block(x, live) if kind == "cell" else block(x)
        return self.head(x)

    def extract(self, arch: Arch | str) -> nn.Module:
        arch = _SPACE.parse(arch)
        C, N = self.settings["C"], self.settings["N"]
        net = NASBench201Network(arch, C, N, self.settings["num_classes"], self.settings["in_channels"])
        net.stem.load_state_dict(self.stem.state_dict())
        net.head.load_state_dict(self.head.state_dict())
        for (kind, _, _), shared, plain in zip(self.plan, self.blocks, net.blocks):
            if kind == "reduction":
                plain.load_state_dict(shared.state_dict())
                continue
            for index, op in enumerate(arch):
                if op not in ("nor_conv_1x1", "nor_conv_3x3"):
                    continue
                edge, target = shared.edges[index], plain.ops[str(index)]
                weight = edge.conv.weight if op == "nor_conv_3x3" else edge.conv.weight[:, :, 1:2, 1:2]
                target[1].weight.data.copy_(weight.detach())
                target[2].load_state_dict(edge.bn.state_dict())
        return net.train(self.training)


class Cell(nn.Module):
    """A plain NAS-Bench-201 cell with fixed ops; ``none`` edges hold no module."""

    def __init__(self, arch: Arch, channels: int):
        super().__init__()
        self.arch = arch
        self.ops = nn.ModuleDict()
        for index, op in enumerate(arch):
            if op == "nor_conv_3x3":
                self.ops[str(index)] = ReLUConvBN(channels, channels, 3, stride=1)
            elif op == "nor_conv_1x1":
                self.ops[str(index)] = ReLUConvBN(channels, channels, 1, stride=1)
            elif op == "skip_connect":
                self.ops[str(index)] = nn.Identity()
            elif op == "avg_pool_3x3":
                self.ops[str(index)] = nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return run_cell(x, self.arch, lambda index, op, t: self.ops[str(index)](t))


class NASBench201Network(nn.Module):
    """A standalone NAS-Bench-201 network of one cell (what ``extract`` returns)."""

    def __init__(self, arch: Arch, C: int, N: int, num_classes: int = 10, in_channels: int = 3):
        super().__init__()
        self.arch_str = _SPACE.to_str(arch)
        self.stem = Stem(in_channels, C)
        self.blocks = nn.ModuleList(
            Cell(arch, c_out) if kind == "cell" else ResidualReduction(c_in, c_out) for kind, c_in, c_out in stage_plan(C, N)
        )
        self.head = Head(4 * C, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for block in self.blocks:
            x = block(x)
        return self.head(x)
