"""Where tensors live: ``--device auto|cpu|cuda[:N]`` resolved once, and batches moved there."""
from __future__ import annotations

import re

import torch

from regnas.errors import ConfigError

DEVICE_CHOICES = "auto, cpu, cuda or cuda:N"
_PATTERN = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")


def resolve_device(spec: str | torch.device = "auto") -> torch.device:
    """The device ``spec`` names; ``auto`` is the first GPU when one is visible, else the CPU.

    A GPU that is not there is a one-line ConfigError, never a silent fall-back to the CPU.
    """
    if isinstance(spec, torch.device):
        spec = str(spec)
    if not isinstance(spec, str) or not _PATTERN.match(spec):
        raise ConfigError(f"device {spec!r} is not one of {DEVICE_CHOICES}")
    if spec == "auto":
        return torch.device("cuda:0" if torch.cuda.is_available() else "cpu")
    device = torch.device(spec)
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        index = device.index or 0
        if index >= count:
            seen = f"{count} visible GPU{'s' if count != 1 else ''}" if count else "no GPU visible"
            raise ConfigError(f"device {spec!r} is not available ({seen}); use --device cpu or auto")
        device = torch.device("cuda", index)
    return device


def to_device(images: torch.Tensor, labels: torch.Tensor, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """One batch on ``device``; on a GPU through pinned memory, so the copy overlaps the previous step's work."""
    if device.type != "cuda":
        return images, labels
    return images.pin_memory().to(device, non_blocking=True), labels.pin_memory().to(device, non_blocking=True)


def amp_note(amp: bool, device: torch.device) -> str | None:
    """A line for the user when ``--amp`` runs on a CPU: float16 autocast and loss scaling work there as on a GPU
    (so the path is tested without one), but CPU kernels run float16 slower than float32; None otherwise."""
    if amp and device.type != "cuda":
        return (f"note: --amp on {device}: float16 autocast with loss scaling, as on a GPU, but several times slower "
                "than float32 on a CPU (benchmarks/RESULTS.md, 'Mixed precision on the CPU')")
    return None
