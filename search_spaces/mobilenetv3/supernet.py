"""MobileNetV3 supernet: layer slots holding the largest weights, sliced per architecture, and ``extract``."""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from search_spaces.base import Arch
from search_spaces.mobilenetv3.modules import (
    MAX_DEPTH, ConvBN, Head, SqueezeExcite, activation, first_block, has_residual, layer_shape, mbconv,
    plan, squeeze_width, stem,
)
from search_spaces.mobilenetv3.space import EXPANDS, KERNELS, MobileNetV3Space, active_layers
from search_spaces.supernet import Supernet

_SPACE = MobileNetV3Space()
Tensors = dict[str, torch.Tensor]


def _norm(prefix: str, bn: nn.BatchNorm2d, n: int) -> Tensors:
    """The first ``n`` channels of a BatchNorm's parameters and statistics, as views (updates reach the full one)."""
    return {f"{prefix}.weight": bn.weight[:n], f"{prefix}.bias": bn.bias[:n], f"{prefix}.running_mean": bn.running_mean[:n],
            f"{prefix}.running_var": bn.running_var[:n], f"{prefix}.num_batches_tracked": bn.num_batches_tracked}


def sliced_batch_norm(x: torch.Tensor, bn: nn.BatchNorm2d) -> torch.Tensor:
    """``bn`` on the first ``x.size(1)`` channels, with exactly the arithmetic of ``nn.BatchNorm2d.forward``
    (cumulative averaging when ``momentum`` is None, as in recalibration), its statistics updated in place."""
    n = x.size(1)
    factor = 0.0
    if bn.training and bn.track_running_stats:
        bn.num_batches_tracked.add_(1)
        factor = 1.0 / float(bn.num_batches_tracked) if bn.momentum is None else bn.momentum
    return F.batch_norm(x, bn.running_mean[:n], bn.running_var[:n], bn.weight[:n], bn.bias[:n],
                        bn.training or not bn.track_running_stats, factor, bn.eps)


class ElasticMBConv(nn.Module):
    """One layer slot: an inverted residual at the largest kernel (7x7) and expansion (6x); ``(kernel, expand)``
    selects the centre ``kernel`` x ``kernel`` taps and the first ``c_in * expand`` expanded channels."""

    def __init__(self, c_in: int, c_out: int, stride: int, act: str, se: bool):
        super().__init__()
        self.c_in, self.c_out, self.stride, self.act = c_in, c_out, stride, act
        mid = c_in * EXPANDS[-1]
        self.expand = ConvBN(c_in, mid, 1, act=act)
        self.depthwise = ConvBN(mid, mid, KERNELS[-1], stride=stride, groups=mid, act=act)
        self.se = SqueezeExcite(mid) if se else None
        self.project = ConvBN(mid, c_out, 1)
        self.residual = has_residual(c_in, c_out, stride)

    def sliced(self, kernel: int, expand: int) -> Tensors:
        """The state of ``MBConv(c_in, c_out, kernel, c_in * expand, ...)``, by its names, as views of these weights."""
        mid, crop = self.c_in * expand, slice((KERNELS[-1] - kernel) // 2, (KERNELS[-1] + kernel) // 2)
        out = {"expand.conv.weight": self.expand.conv.weight[:mid], **_norm("expand.bn", self.expand.bn, mid),
               "depthwise.conv.weight": self.depthwise.conv.weight[:mid, :, crop, crop],
               **_norm("depthwise.bn", self.depthwise.bn, mid)}
        if self.se is not None:
            squeeze = squeeze_width(mid)
            out.update({"se.reduce.weight": self.se.reduce.weight[:squeeze, :mid], "se.reduce.bias": self.se.reduce.bias[:squeeze],
                        "se.expand.weight": self.se.expand.weight[:mid, :squeeze], "se.expand.bias": self.se.expand.bias[:mid]})
        out.update({"project.conv.weight": self.project.conv.weight[:, :mid], **_norm("project.bn", self.project.bn, self.c_out)})
        return out

    def forward(self, x: torch.Tensor, kernel: int, expand: int) -> torch.Tensor:
        w = self.sliced(kernel, expand)
        h = activation(self.act, sliced_batch_norm(F.conv2d(x, w["expand.conv.weight"]), self.expand.bn))
        h = F.conv2d(h, w["depthwise.conv.weight"].contiguous(), None, self.stride, kernel // 2, 1, h.size(1))
        h = activation(self.act, sliced_batch_norm(h, self.depthwise.bn))
        if self.se is not None:
            scale = F.relu(F.conv2d(h.mean(dim=(2, 3), keepdim=True), w["se.reduce.weight"], w["se.reduce.bias"]))
            h = h * F.hardsigmoid(F.conv2d(scale, w["se.expand.weight"], w["se.expand.bias"]))
        h = sliced_batch_norm(F.conv2d(h, w["project.conv.weight"].contiguous()), self.project.bn)
        return x + h if self.residual else h


class MobileNetV3Supernet(Supernet):
    """Stem, first block, 5 stages of 4 elastic layer slots, head (stem width ``C`` configurable).

    ``init_seed`` seeds the initial weights; it is not a setting (a checkpoint's weights replace them).
    """

    space_name = "mobilenetv3"

    def __init__(self, C: int = 16, num_classes: int = 10, in_channels: int = 3, init_seed: int = 0):
        super().__init__({"C": int(C), "num_classes": int(num_classes), "in_channels": int(in_channels)})
        p = plan(int(C))
        self.stem, self.first = stem(in_channels, p), first_block(p)
        self.stages = nn.ModuleList(
            nn.ModuleList(ElasticMBConv(*layer_shape(stage, j), stage.act, stage.se) for j in range(MAX_DEPTH))
            for stage in p.stages
        )
        self.head = Head(p.stages[-1].c_out, p.final_expand, p.feature_mix, num_classes)
        self.reset_parameters(torch.Generator().manual_seed(init_seed))

    def forward(self, x: torch.Tensor, arch: Arch | str) -> torch.Tensor:
        if self.training and x.device.type == "cpu":
            # oneDNN's depthwise backward is about 3x faster on channels-last tensors (a 7x7 one, measured),
            # a sandwich step about 2x; evaluation stays in the layout of the caller (and of ``extract``).
            x = x.contiguous(memory_format=torch.channels_last)
        x = self.first(self.stem(x))
        for slots, layers in zip(self.stages, active_layers(_SPACE.parse(arch))):
            for slot, (kernel, expand) in zip(slots, layers):
                x = slot(x, kernel, expand)
        return self.head(x)

    @torch.no_grad()
    def reset_parameters(self, generator: torch.Generator) -> None:
        """PyTorch's defaults, then He initialisation (normal, fan-in) of every convolution, as MobileNets are
        initialised; a depthwise slot's 7x7 taps get the variance of a 5x5 kernel's, so that each centre crop
        starts within a factor of two of unit gain (PyTorch's default would shrink a 3x3 crop's output fivefold)."""
        super().reset_parameters(generator)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                taps = min(module.kernel_size[0], 5) ** 2
                module.weight.normal_(0, math.sqrt(2 / (module.in_channels // module.groups * taps)), generator=generator)

    @torch.no_grad()
    def extract(self, arch: Arch | str) -> nn.Module:
        arch = _SPACE.parse(arch)
        state = {f"{name}.{key}": value for name in ("stem", "first", "head")
                 for key, value in getattr(self, name).state_dict().items()}
        for s, (slots, layers) in enumerate(zip(self.stages, active_layers(arch))):
            for j, (slot, (kernel, expand)) in enumerate(zip(slots, layers)):
                state.update({f"stages.{s}.{j}.{key}": value for key, value in slot.sliced(kernel, expand).items()})
        net = MobileNetV3Network(arch, self.settings["C"], self.settings["num_classes"], self.settings["in_channels"])
        net.load_state_dict(state)
        device = self.head.classifier.weight.device
        return (net if device.type == "cpu" else net.to(device)).train(self.training)


class MobileNetV3Network(nn.Module):
    """A standalone MobileNetV3 of one architecture, plain torch layers only (what ``extract`` returns)."""

    def __init__(self, arch: Arch, C: int, num_classes: int = 10, in_channels: int = 3):
        super().__init__()
        self.arch_str = _SPACE.to_str(arch)
        p = plan(int(C))
        self.stem, self.first = stem(in_channels, p), first_block(p)
        self.stages = nn.ModuleList(
            nn.ModuleList(mbconv(stage, j, kernel, expand) for j, (kernel, expand) in enumerate(layers))
            for stage, layers in zip(p.stages, active_layers(arch))
        )
        self.head = Head(p.stages[-1].c_out, p.final_expand, p.feature_mix, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.first(self.stem(x))
        for stage in self.stages:
            for block in stage:
                x = block(x)
        return self.head(x)
