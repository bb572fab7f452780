"""NATS-Bench size supernet: every layer at 64 channels (over ``div``), a network runs on the first C_i; ``extract``."""
from __future__ import annotations

import torch
from torch import nn

from search_spaces.base import Arch
from search_spaces.nats_size.modules import NATSSizeNetwork
from search_spaces.nats_size.space import CHANNELS, N_GENES, NATSSizeSpace, widths
from search_spaces.supernet import Supernet

_SPACE = NATSSizeSpace()


class NATSSizeSupernet(Supernet):
    """The size network at the largest widths, with a skip projection in the second and third cells.

    BatchNorm is sliced like the convolutions (a network's BN is the first C_i channels of the shared
    one), not one BN per width: the nesting proof wants every tensor of ``extract(a)`` a slice of
    ``extract(b)``'s, statistics included, and the Evaluator recomputes each network's statistics anyway.
    The affine parameters of the sliced BN are trained jointly by every width, as the convolutions are.
    ``init_seed`` seeds the initial weights; it is not a setting.
    """

    space_name = NATSSizeSpace.name

    def __init__(self, div: int = 1, num_classes: int = 10, in_channels: int = 3, init_seed: int = 0):
        div = _SPACE.check_settings({"div": div})["div"]
        super().__init__({"div": div, "num_classes": int(num_classes), "in_channels": int(in_channels)})
        self.body = NATSSizeNetwork((CHANNELS[-1] // div,) * N_GENES, int(num_classes), int(in_channels), projections=True)
        self.reset_parameters(torch.Generator().manual_seed(init_seed))

    def forward(self, x: torch.Tensor, arch: Arch | str) -> torch.Tensor:
        return self.body(x, widths(_SPACE.parse(arch), self.settings))

    @torch.no_grad()
    def extract(self, arch: Arch | str) -> nn.Module:
        # Built without storage (no initialisation drawn, fast), then every tensor is copied in.
        with torch.device("meta"):
            net = NATSSizeNetwork(widths(_SPACE.parse(arch), self.settings), self.settings["num_classes"], self.settings["in_channels"])
        net = net.to_empty(device=self.body.stem.conv.weight.device)
        shared = self.body.state_dict()
        for name, tensor in net.state_dict().items():
            tensor.copy_(shared[name][tuple(slice(0, n) for n in tensor.shape)])
        net.arch_str = _SPACE.to_str(_SPACE.parse(arch))
        return net.train(self.training)
