"""The NATS-Bench size network (``InferTinyCellNet`` with the size space's fixed cell), runnable at any prefix width.

Every layer computes on the first channels of its weights: a standalone network has weights of exactly
its widths (slicing is then a no-op), and the supernet runs these same modules at 64 channels with the
widths of an architecture. One code path for both is what makes ``extract`` equal the supernet path.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

# The fixed cell |nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|:
# (target node, source node, op) in the order of the string; node sums follow this order.
CELL = ((1, 0, "conv"), (2, 0, "conv"), (2, 1, "conv"), (3, 0, "skip"), (3, 1, "conv"), (3, 2, "conv"))


def batch_norm(bn: nn.BatchNorm2d, x: torch.Tensor) -> torch.Tensor:
    """``bn`` on the first ``x.shape[1]`` channels, with ``nn.BatchNorm2d``'s own rules for the running
    statistics (momentum, or a cumulative average when momentum is None, as recalibration sets it)."""
    c = x.shape[1]
    if c == bn.num_features:
        return bn(x)
    factor = 0.0
    if bn.training and bn.track_running_stats:
        bn.num_batches_tracked.add_(1)
        factor = 1.0 / float(bn.num_batches_tracked) if bn.momentum is None else bn.momentum
    return F.batch_norm(x, bn.running_mean[:c], bn.running_var[:c], bn.weight[:c], bn.bias[:c], bn.training, factor, bn.eps)


class ConvBN(nn.Module):
    """[ReLU] - Conv (no bias) - [BN]: NATS-Bench's ReLUConvBN (relu, bn), the stem (bn), the residual
    shortcut's 1x1 conv (neither) and the cell's projecting skip_connect (bn: FactorizedReduce, stride 1)."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int = 1, *, relu: bool = True, bn: bool = True):
        super().__init__()
        self.relu, self.stride, self.padding = relu, stride, kernel // 2
        self.conv = nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=kernel // 2, bias=False)
        self.bn = nn.BatchNorm2d(c_out) if bn else None

    def forward(self, x: torch.Tensor, c_out: int | None = None) -> torch.Tensor:
        weight = self.conv.weight
        if c_out is not None and (c_out, x.shape[1]) != tuple(weight.shape[:2]):
            weight = weight[:c_out, : x.shape[1]]
        out = F.conv2d(F.relu(x) if self.relu else x, weight, stride=self.stride, padding=self.padding)
        return batch_norm(self.bn, out) if self.bn is not None else out


class Cell(nn.Module):
    """The fixed cell: edges from node 0 map c_in -> c_out, the others c_out -> c_out; skip_connect is the
    identity when c_in == c_out, else a 1x1 conv + BN (``projection`` builds it regardless, for the supernet)."""

    def __init__(self, c_in: int, c_out: int, projection: bool | None = None):
        super().__init__()
        self.edges = nn.ModuleList(
            ConvBN(c_in if src == 0 else c_out, c_out, 3) for _, src, op in CELL if op == "conv"
        )
        self.skip = ConvBN(c_in, c_out, 1, relu=False) if (c_in != c_out if projection is None else projection) else None

    def forward(self, x: torch.Tensor, c_out: int | None = None) -> torch.Tensor:
        c_out = self.edges[0].conv.out_channels if c_out is None else c_out
        nodes: list[torch.Tensor | None] = [x, None, None, None]
        convs = iter(self.edges)
        for dst, src, op in CELL:
            if op == "conv":
                out = next(convs)(nodes[src], c_out)
            elif x.shape[1] == c_out:
                out = nodes[src]
            else:
                out = self.skip(nodes[src], c_out)
            nodes[dst] = out if nodes[dst] is None else nodes[dst] + out
        return nodes[3]


class Residual(nn.Module):
    """NATS-Bench's ResNetBasicblock with stride 2: ReLU-Conv3x3(s2)-BN, ReLU-Conv3x3-BN; AvgPool2d(2) + Conv1x1 shortcut."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.conv_a = ConvBN(c_in, c_out, 3, stride=2)
        self.conv_b = ConvBN(c_out, c_out, 3)
        self.downsample = ConvBN(c_in, c_out, 1, relu=False, bn=False)

    def forward(self, x: torch.Tensor, c_out: int | None = None) -> torch.Tensor:
        return self.downsample(F.avg_pool2d(x, 2, stride=2), c_out) + self.conv_b(self.conv_a(x, c_out), c_out)


class Head(nn.Module):
    """BN-ReLU, global average pooling, Linear (with bias) to the classes."""

    def __init__(self, c_in: int, num_classes: int):
        super().__init__()
        self.bn = nn.BatchNorm2d(c_in)
        self.classifier = nn.Linear(c_in, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = F.relu(batch_norm(self.bn, x)).mean(dim=(2, 3))
        weight = self.classifier.weight
        return F.linear(features, weight if weight.shape[1] == x.shape[1] else weight[:, : x.shape[1]], self.classifier.bias)


def plan(channels: Sequence[int]) -> list[tuple[str, int, int]]:
    """(kind, c_in, c_out) of the five blocks after the stem: cell C0->C0, residual C0->C1, cell C1->C2,
    residual C2->C3, cell C3->C4 (C0 also drives the stem, C4 the classifier)."""
    c0, c1, c2, c3, c4 = channels
    return [("cell", c0, c0), ("residual", c0, c1), ("cell", c1, c2), ("residual", c2, c3), ("cell", c3, c4)]


class NATSSizeNetwork(nn.Module):
    """A NATS-Bench size-space network of channels ``C0:C1:C2:C3:C4`` (what ``extract`` returns).

    ``projections`` (the supernet's) builds every skip projection of the cells after the first, which a
    sub-network of unequal widths uses; a standalone network has one exactly where its widths differ.
    """

    def __init__(self, channels: Sequence[int], num_classes: int = 10, in_channels: int = 3, *, projections: bool = False):
        super().__init__()
        self.channels = tuple(int(c) for c in channels)
        self.stem = ConvBN(in_channels, self.channels[0], 3, relu=False)
        self.blocks = nn.ModuleList(
            (Cell(c_in, c_out, projection=index > 0 if projections else None) if kind == "cell" else Residual(c_in, c_out))
            for index, (kind, c_in, c_out) in enumerate(plan(self.channels))
        )
        self.head = Head(self.channels[-1], num_classes)

    def forward(self, x: torch.Tensor, widths: Sequence[int] | None = None) -> torch.Tensor:
        widths = self.channels if widths is None else tuple(widths)
        x = self.stem(x, widths[0])
        for block, (_, _, c_out) in zip(self.blocks, plan(widths)):
            x = block(x, c_out)
        return self.head(x)
