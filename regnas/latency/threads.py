"""A context that fixes PyTorch's intra-op thread count and restores it afterwards."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch


@contextlib.contextmanager
def torch_threads(count: int) -> Iterator[None]:
    """Run the block with ``count`` PyTorch threads (timings depend on it; so does small linear algebra
    on a loaded machine, where thread hand-offs cost more than the arithmetic)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(int(count))
    try:
        yield
    finally:
        torch.set_num_threads(previous)
