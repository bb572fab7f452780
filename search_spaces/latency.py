"""What a space gives the latency library: key schemes (architectures -> priced keys) and profiling hooks."""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
from scipy import sparse

from search_spaces.base import Arch

if TYPE_CHECKING:
    import torch

    from search_spaces.base import SearchSpace

Settings = Mapping[str, Any]
InputShape = tuple[int, int, int]
KeysFn = Callable[[Arch, Settings, InputShape], list[str]]
CountsFn = Callable[[np.ndarray, Settings, InputShape], tuple[list[str], "np.ndarray | sparse.spmatrix"]]


@dataclass(frozen=True)
class KeyScheme:
    """One way of pricing a space's architectures: ``keys`` lists an architecture's keys (with repeats).

    ``counts`` (optional) does the same for many architectures given as rows of gene indices and
    returns (vocabulary, counts matrix); without it a loop over ``keys`` does, slower. ``level``
    (optional) tells a fit which keys are base costs (0) and which adjust them (1, 2, ...: shrunk
    harder towards zero).
    """

    space: str
    name: str
    description: str
    keys: KeysFn
    counts: CountsFn | None = None
    level: Callable[[str], int] | None = None

    def count_matrix(self, space: SearchSpace, codes: np.ndarray, settings: Settings, input_shape: InputShape):
        """(vocabulary, counts) with one row per row of ``codes`` (gene indices)."""
        if self.counts is not None:
            return self.counts(codes, settings, input_shape)
        per_arch = [Counter(self.keys(space.decode(row), settings, input_shape)) for row in codes]
        vocabulary = sorted(set().union(*per_arch)) if per_arch else []
        column = {key: j for j, key in enumerate(vocabulary)}
        rows = [r for r, counter in enumerate(per_arch) for _ in counter]
        cols = [column[k] for counter in per_arch for k in counter]
        values = [v for counter in per_arch for v in counter.values()]
        return vocabulary, sparse.csr_matrix((values, (rows, cols)), shape=(len(per_arch), len(vocabulary)))


class ProfilingHooks(Protocol):
    """What ``regnas-profile`` needs to time a space's ``ops`` keys and whole networks on this machine
    (a module with these functions qualifies; see ``search_spaces/nasbench201/profiling.py``)."""

    def op_keys(self, settings: Settings, input_shape: InputShape) -> list[str]:
        """Every key of the ``ops`` scheme at these settings (what a profile must time)."""

    def max_repeats(self, settings: Settings) -> int:
        """The most times one key occurs in a network (how many copies of an op to cycle through)."""

    def build_op(self, key: str, batch: int, generator: torch.Generator) -> Callable[[], Any]:
        """A call that runs the op of ``key`` once on a fixed random input of the key's shape."""

    def build_network(self, arch: Arch, settings: Settings, input_shape: InputShape, batch: int,
                      generator: torch.Generator) -> Callable[[], Any]:
        """A call that runs the standalone network of ``arch`` on a fixed random input."""


def random_module(factory: Callable[[], torch.nn.Module], generator: torch.Generator) -> torch.nn.Module:
    """``factory()``'s module for timing, built without drawing from the global RNG: weights uniform in
    [-0.1, 0.1] from ``generator``, BatchNorm statistics of an identity, in eval mode as deployed."""
    import torch

    with torch.device("meta"):
        module = factory()
    module = module.to_empty(device="cpu")
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.uniform_(-0.1, 0.1, generator=generator)
        for name, buffer in module.named_buffers():
            buffer.fill_(1 if name.endswith("running_var") else 0)
    return module.eval()
