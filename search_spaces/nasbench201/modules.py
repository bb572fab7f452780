"""Building blocks of the NAS-Bench-201 macro network, shared by the supernet and extracted subnets."""
from __future__ import annotations

import torch
from torch import nn


class ReLUConvBN(nn.Sequential):
    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int):
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=kernel // 2, bias=False),
            nn.BatchNorm2d(c_out),
        )


class ResidualReduction(nn.Module):
    """NAS-Bench-201's residual block between stages: halves the resolution, doubles the channels."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, stride=2)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, stride=1)
        self.downsample = nn.Sequential(nn.AvgPool2d(2, stride=2), nn.Conv2d(c_in, c_out, 1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.downsample(x) + self.conv_b(self.conv_a(x))


class Stem(nn.Sequential):
    def __init__(self, c_in: int, c_out: int):
        super().__init__(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out))


class Head(nn.Module):
    """BN-ReLU, global average pooling and the linear classifier."""

    def __init__(self, c_in: int, num_classes: int):
        super().__init__()
        self.lastact = nn.Sequential(nn.BatchNorm2d(c_in), nn.ReLU(inplace=False))
        self.classifier = nn.Linear(c_in, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.lastact(x).mean(dim=(2, 3)))


def avg_pool_3x3(x: torch.Tensor) -> torch.Tensor:
    return nn.functional.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)


def stage_plan(c: int, n: int) -> list[tuple[str, int, int]]:
    """The macro network after the stem: ('cell', C, C) x N, ('reduction', C, 2C), ... as in NAS-Bench-201."""
    plan: list[tuple[str, int, int]] = []
    for stage, width in enumerate((c, 2 * c, 4 * c)):
        if stage:
            plan.append(("reduction", width // 2, width))
        plan.extend(("cell", width, width) for _ in range(n))
    return plan
