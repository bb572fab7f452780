"""The Supernet contract: forward along one architecture, extract it as a plain module, carry its identity."""
from __future__ import annotations

import hashlib
import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from search_spaces.base import Arch


class Supernet(nn.Module, ABC):
    """A weight-sharing network over a search space.

    ``settings`` (e.g. channels, depth, classes) together with ``space_name`` identify which
    checkpoints fit: ``regnas.supernet.load_supernet`` refuses a checkpoint of another space or settings.
    """

    space_name: str

    def __init__(self, settings: Mapping[str, Any]):
        super().__init__()
        self.settings = dict(settings)

    @property
    def space(self):
        from search_spaces.registry import get_space

        return get_space(self.space_name)

    @abstractmethod
    def forward(self, x: torch.Tensor, arch: Arch | str) -> torch.Tensor:
        """Logits of the sub-network ``arch`` (canonical string or gene tuple)."""

    @abstractmethod
    def extract(self, arch: Arch | str) -> nn.Module:
        """A standalone ``nn.Module`` of ``arch`` with copies of its weights and BatchNorm statistics."""

    @torch.no_grad()
    def reset_parameters(self, generator: torch.Generator) -> None:
        """PyTorch's default initialisation of every conv, linear and norm layer, drawn from ``generator``
        so that the same seed gives the same supernet (module constructors draw from global state)."""
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_uniform_(module.weight, a=math.sqrt(5), generator=generator)
                if module.bias is not None:
                    bound = 1 / math.sqrt(module.weight[0].numel())
                    nn.init.uniform_(module.bias, -bound, bound, generator=generator)
            elif isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.reset_parameters()

    def identity(self) -> dict[str, Any]:
        return {"space": self.space_name, "settings": dict(self.settings)}

    def checksum(self) -> str:
        return state_checksum(self)

    def input_shape(self, image_size: int = 32) -> tuple[int, int, int]:
        return (int(self.settings["in_channels"]), image_size, image_size)


def state_checksum(module: nn.Module) -> str:
    """SHA-256 over every tensor of the state dict (parameters and buffers), in key order."""
    digest = hashlib.sha256()
    for key, tensor in sorted(module.state_dict().items()):
        digest.update(key.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]
