"""Data-parallel supernet training with torch.distributed: the process group, the data shards and the DDP wrapper."""
from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DistributedSampler

from regnas.data import ImageData, Split, random_crop_flip
from regnas.errors import ConfigError
from search_spaces.base import Arch

# The variables torchrun (torch.distributed.run) sets in every process it starts.
LAUNCH_VARIABLES = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")


@dataclass(frozen=True)
class World:
    """This process's place among the training processes."""

    rank: int
    size: int
    local_rank: int
    backend: str

    @property
    def is_main(self) -> bool:
        """Rank 0 writes checkpoints and prints progress."""
        return self.rank == 0


def launched() -> bool:
    """True in a process started by torchrun (or anything that sets its environment variables)."""
    return all(name in os.environ for name in LAUNCH_VARIABLES)


def local_rank() -> int:
    """This process's rank on its node, as torchrun sets it (0 outside torchrun: one process per node)."""
    value = os.environ.get("LOCAL_RANK", "0")
    if not value.isdigit():
        raise ConfigError(f"LOCAL_RANK={value!r} in the environment; torchrun sets it to a rank 0, 1, ...")
    return int(value)


def init_world(device: torch.device) -> tuple[World, torch.device]:
    """Join the process group torchrun describes, and the device this rank trains on: NCCL with the GPU of the
    local rank bound to the group (``device_id``), gloo on CPUs, where every rank shares the CPU."""
    if device.type == "cuda":
        device = torch.device("cuda", local_rank())
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        if device.type == "cuda":
            dist.init_process_group("nccl", device_id=device)
        else:
            dist.init_process_group("gloo")
    world = current_world()
    assert world is not None  # initialised just above
    return world, device


def current_world() -> World | None:
    """The process group this process already belongs to (initialised by the caller), else None."""
    if not (dist.is_available() and dist.is_initialized()):
        return None
    return World(rank=dist.get_rank(), size=dist.get_world_size(), local_rank=local_rank(), backend=dist.get_backend())


def check_same_everywhere(world: World, what: str, value: object) -> None:
    """Every rank must train with the same settings (seed above all: it draws the paths of every step)."""
    values: list[object] = [None] * world.size
    dist.all_gather_object(values, value)
    if any(v != values[0] for v in values):
        raise ConfigError(f"the training processes disagree on {what}: {values}; start every rank with the same flags")


def per_rank_batch(batch_size: int, processes: int) -> int:
    """``batch_size`` is the global batch: the same optimisation recipe on any number of processes."""
    if batch_size % processes:
        raise ConfigError(f"batch size {batch_size} is not divisible by the {processes} training processes; "
                          f"use a multiple of {processes}")
    return batch_size // processes


def shard_batches(data: ImageData, split: Split, batch_size: int, world: World, *, seed: int,
                  epoch: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """This rank's augmented batches of one epoch: a ``DistributedSampler`` shard (``set_epoch``: a new order each
    epoch, the same on every rank), crops and flips from a generator seeded by (seed, epoch, rank), so a run
    resumed at an epoch boundary draws exactly what the uninterrupted run drew. Every rank draws
    ceil(len(split) / batch_size) batches, as one process does: the padded shard, ceil(n / ranks), in batches of
    batch_size / ranks (nested ceilings), so the learning-rate schedule is the same on any number of ranks."""
    sampler = DistributedSampler(range(len(split)), num_replicas=world.size, rank=world.rank, shuffle=True, seed=seed)
    sampler.set_epoch(epoch)
    order = torch.as_tensor(list(sampler), dtype=torch.long)
    generator = torch.Generator().manual_seed(int(np.random.SeedSequence([seed, epoch, world.rank]).generate_state(1)[0]))
    size = per_rank_batch(batch_size, world.size)
    for start in range(0, len(order), size):
        index = order[start : start + size]
        yield data.normalize(random_crop_flip(split.images[index], generator)), split.labels[index]


class Paths(nn.Module):
    """All paths of one step in a single forward, so DDP sees one graph (and finds the weights none of them used)."""

    def __init__(self, supernet: nn.Module) -> None:
        super().__init__()
        self.supernet = supernet

    def forward(self, images: torch.Tensor, archs: Sequence[Arch]) -> list[torch.Tensor]:
        return [self.supernet(images, arch) for arch in archs]


def wrap(supernet: nn.Module, device: torch.device) -> DistributedDataParallel:
    """DDP over every path of a step; parameters start as rank 0's (DDP broadcasts them).

    ``find_unused_parameters`` stays on: which weights a step leaves unused depends on the space and the rule,
    and DDP without it fails on the first such step. Counted over 20 steps at the test settings: sandwich steps
    use every weight of nasbench201 and mobilenetv3 (the largest path does) but leave up to 6 of nats-size's
    72 tensors unused (projections skipped where widths match); uniform steps leave 9-54 of 75 and 9-96 of 243.
    """
    return DistributedDataParallel(Paths(supernet), device_ids=[device.index] if device.type == "cuda" else None,
                                   find_unused_parameters=True)


def sum_over_ranks(*values: float) -> list[float]:
    tensor = torch.tensor(values, dtype=torch.float64)
    dist.all_reduce(tensor)
    return tensor.tolist()


def sync_buffers(module: nn.Module) -> None:
    """BatchNorm running statistics follow each rank's own batches; end every epoch with rank 0's everywhere,
    so all ranks hold the same state (DDP broadcasts buffers only at the start of a forward)."""
    for buffer in module.buffers():
        dist.broadcast(buffer, src=0)


def barrier() -> None:
    if dist.is_initialized():
        dist.barrier()
