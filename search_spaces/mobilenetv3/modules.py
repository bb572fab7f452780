"""The MobileNetV3 network for 32x32 images: its plan (widths, strides, activations, SE) and plain blocks."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

# OFA's MobileNetV3 widths at width 1.0: stem, first block, the five elastic stages, final expand, feature mix.
OFA_WIDTHS = (16, 16, 24, 40, 80, 112, 160, 960, 1280)
# Per elastic stage, as in OFA's MobileNetV3 (act_stages / se_stages of ofa_mbv3.py): ReLU and no SE in the
# early stages, h-swish late, SE in stages 2, 4 and 5. Strides: OFA halves 224 px five times (a stride-2 stem,
# stages (2, 2, 2, 1, 2)) to 7x7. A 32x32 image is halved three times, to 4x4 at the head: the stem keeps
# stride 1 (a CIFAR image has no detail to spare) and so does the last stage, since on a 2x2 map a 5x5 or 7x7
# depthwise kernel reaches no further than a 3x3 one and the last stage's kernel genes would change nothing.
STAGE_STRIDES = (2, 2, 2, 1, 1)
STAGE_ACTS = ("relu", "relu", "hswish", "hswish", "hswish")
STAGE_SE = (False, True, False, True, True)
MAX_DEPTH = 4
SE_REDUCTION = 4


def scaled_width(base: int, C: int) -> int:
    """``base`` (an OFA width at C=16) scaled to stem width ``C``, a multiple of 4 and at least 4."""
    return max(4, 4 * int(base * C / 64 + 0.5))


@dataclass(frozen=True)
class Stage:
    c_in: int
    c_out: int
    stride: int
    act: str
    se: bool


@dataclass(frozen=True)
class Plan:
    """Widths of a network with stem width ``C``: stem, first block, stages, final expand and feature mix."""

    stem: int
    first: int
    stages: tuple[Stage, ...]
    final_expand: int
    feature_mix: int


def plan(C: int) -> Plan:
    widths = [scaled_width(w, C) for w in OFA_WIDTHS]
    ins = widths[1:6]
    stages = tuple(Stage(c_in, c_out, s, a, se) for c_in, c_out, s, a, se
                   in zip(ins, widths[2:7], STAGE_STRIDES, STAGE_ACTS, STAGE_SE))
    return Plan(widths[0], widths[1], stages, widths[7], widths[8])


def activation(name: str, x: torch.Tensor) -> torch.Tensor:
    return F.relu(x) if name == "relu" else F.hardswish(x)


def layer_shape(stage: Stage, layer: int) -> tuple[int, int, int]:
    """(input channels, output channels, stride) of layer ``layer`` of a stage: only the first changes shape."""
    return (stage.c_in, stage.c_out, stage.stride) if layer == 0 else (stage.c_out, stage.c_out, 1)


def has_residual(c_in: int, c_out: int, stride: int) -> bool:
    return stride == 1 and c_in == c_out


class ConvBN(nn.Module):
    """A bias-free convolution, BatchNorm and an activation (``act`` None: none)."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int = 1, groups: int = 1, act: str | None = None):
        super().__init__()
        self.act = act
        self.conv = nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=kernel // 2, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.bn(self.conv(x))
        return x if self.act is None else activation(self.act, x)


def squeeze_width(mid: int) -> int:
    """The SE bottleneck of ``mid`` expanded channels (grows with it, so a narrower SE is a slice of a wider)."""
    return max(1, mid // SE_REDUCTION)


class SqueezeExcite(nn.Module):
    """MobileNetV3's squeeze-excite: pooled channels -> 1x1 reduce, ReLU -> 1x1 expand, hard sigmoid -> scale."""

    def __init__(self, channels: int):
        super().__init__()
        self.reduce = nn.Conv2d(channels, squeeze_width(channels), 1)
        self.expand = nn.Conv2d(squeeze_width(channels), channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = self.expand(F.relu(self.reduce(x.mean(dim=(2, 3), keepdim=True))))
        return x * F.hardsigmoid(scale)


class MBConv(nn.Module):
    """An inverted residual: 1x1 expand (absent when ``mid == c_in`` in the first block), k x k depthwise,
    optional SE, 1x1 linear projection; an identity shortcut when the shapes allow."""

    def __init__(self, c_in: int, c_out: int, kernel: int, mid: int, stride: int, act: str, se: bool, expand: bool = True):
        super().__init__()
        self.expand = ConvBN(c_in, mid, 1, act=act) if expand else None
        self.depthwise = ConvBN(mid, mid, kernel, stride=stride, groups=mid, act=act)
        self.se = SqueezeExcite(mid) if se else None
        self.project = ConvBN(mid, c_out, 1)
        self.residual = has_residual(c_in, c_out, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x if self.expand is None else self.expand(x)
        h = self.depthwise(h)
        if self.se is not None:
            h = self.se(h)
        h = self.project(h)
        return x + h if self.residual else h


def mbconv(stage: Stage, layer: int, kernel: int, expand: int) -> MBConv:
    """The plain block of layer ``layer`` of ``stage`` with this kernel and expand ratio."""
    c_in, c_out, stride = layer_shape(stage, layer)
    return MBConv(c_in, c_out, kernel, c_in * expand, stride, stage.act, stage.se)


class Head(nn.Module):
    """Final 1x1 expand (BN, h-swish), global average pooling, 1x1 feature mix (no BN, h-swish), classifier.
    No dropout before the classifier (OFA has 0.1): it would draw from torch's global generator."""

    def __init__(self, c_in: int, final_expand: int, feature_mix: int, num_classes: int):
        super().__init__()
        self.final_expand = ConvBN(c_in, final_expand, 1, act="hswish")
        self.feature_mix = nn.Conv2d(final_expand, feature_mix, 1, bias=False)
        self.classifier = nn.Linear(feature_mix, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.final_expand(x).mean(dim=(2, 3), keepdim=True)
        return self.classifier(F.hardswish(self.feature_mix(x)).flatten(1))


def stem(in_channels: int, p: Plan) -> ConvBN:
    """3x3 convolution, stride 1 (OFA: 2), BN, h-swish."""
    return ConvBN(in_channels, p.stem, 3, act="hswish")


def first_block(p: Plan) -> MBConv:
    """OFA's fixed first block: expand ratio 1 (no 1x1 expand), 3x3 depthwise, ReLU, no SE."""
    return MBConv(p.stem, p.first, 3, p.stem, 1, "relu", False, expand=False)
