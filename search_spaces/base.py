"""The SearchSpace contract: genes, canonical strings, the nesting relation and its chain repair."""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from regnas.errors import ConfigError, InvalidArchError

Arch = tuple  # one value per gene, in the order of SearchSpace.genes; hashable


@dataclass(frozen=True)
class Gene:
    """A categorical gene: its name and the values it may take, in a fixed order."""

    name: str
    choices: tuple

    def index(self, value: Any) -> int:
        try:
            return self.choices.index(value)
        except ValueError:
            raise InvalidArchError(
                f"gene {self.name!r} has no choice {value!r}; allowed: {', '.join(map(str, self.choices))}"
            ) from None


class SearchSpace(ABC):
    """A space of architectures sharing one supernet, ordered by weight nesting (``a ⊑ b``).

    An architecture is a tuple of gene values (``Arch``); ``to_str``/``from_str`` give its canonical
    string, the key of every cache, log and lookup table. ``is_nested(a, b)`` is true when ``b``
    contains every weight ``a`` uses; ``footprint(a)`` is the set of weights (as a comparable vector)
    and nesting is its element-wise order, which makes ``is_nested`` a preorder whose classes are
    architectures with identical footprints.
    """

    name: str
    genes: tuple[Gene, ...]
    supernet_defaults: Mapping[str, Any]  # settings of the reference supernet (e.g. NAS-Bench-201's C=16, N=5)
    image_multiple: int = 1  # the networks take square images whose side is a positive multiple of this

    # ---- genes -------------------------------------------------------------------------------
    @property
    def n_genes(self) -> int:
        return len(self.genes)

    @property
    def n_choices(self) -> np.ndarray:
        return np.array([len(g.choices) for g in self.genes], dtype=np.int64)

    def encode(self, arch: Arch) -> np.ndarray:
        """Gene values -> choice indices (what the evolutionary operators work on)."""
        self.validate(arch)
        return np.array([g.index(v) for g, v in zip(self.genes, arch)], dtype=np.int64)

    def decode(self, indices: Sequence[int] | np.ndarray) -> Arch:
        """Choice indices -> gene values."""
        indices = np.asarray(indices)
        if indices.shape != (self.n_genes,):
            raise InvalidArchError(f"{self.name} needs {self.n_genes} gene indices, got shape {indices.shape}")
        out = []
        for g, i in zip(self.genes, indices.tolist()):
            if not 0 <= int(i) < len(g.choices):
                raise InvalidArchError(f"gene {g.name!r} index {i} out of range 0..{len(g.choices) - 1}")
            out.append(g.choices[int(i)])
        return tuple(out)

    def validate(self, arch: Arch) -> Arch:
        if not isinstance(arch, tuple) or len(arch) != self.n_genes:
            raise InvalidArchError(f"{self.name} architecture must be a tuple of {self.n_genes} gene values, got {arch!r}")
        for g, v in zip(self.genes, arch):
            g.index(v)
        return arch

    def parse(self, arch: Arch | str) -> Arch:
        """Accept an architecture as its canonical string or as a tuple of gene values."""
        return self.from_str(arch) if isinstance(arch, str) else self.validate(arch)

    def sample(self, rng: np.random.Generator) -> Arch:
        """One architecture with every gene drawn uniformly from its choices."""
        return tuple(g.choices[int(rng.integers(len(g.choices)))] for g in self.genes)

    def sample_family(self, k: int, rng: np.random.Generator) -> list[Arch]:
        """A random nested chain of ``k`` architectures, small to large."""
        return self.repair_chain([self.sample(rng) for _ in range(k)], rng)

    # ---- canonical strings -------------------------------------------------------------------
    @abstractmethod
    def to_str(self, arch: Arch) -> str: ...

    @abstractmethod
    def from_str(self, text: str) -> Arch:
        """Parse a canonical string; raise InvalidArchError with a one-line reason otherwise."""

    def functional_key(self, arch: Arch) -> str:
        """A key equal for architectures that compute the same function in the supernet
        (e.g. differing only in ops that cannot reach the output); used to share evaluations."""
        return self.to_str(arch)

    # ---- nesting -----------------------------------------------------------------------------
    @abstractmethod
    def footprint(self, arch: Arch) -> tuple[int, ...]:
        """How much of each shared weight the architecture uses, as a vector ordered element-wise."""

    def is_nested(self, a: Arch, b: Arch) -> bool:
        """``a ⊑ b``: every weight ``a`` uses is also used by ``b``."""
        return all(x <= y for x, y in zip(self.footprint(a), self.footprint(b)))

    def is_chain(self, family: Sequence[Arch]) -> bool:
        return all(self.is_nested(a, b) for a, b in zip(family[:-1], family[1:]))

    @abstractmethod
    def repair_chain(self, family: Sequence[Arch], rng: np.random.Generator) -> list[Arch]:
        """Project a family (small to large) onto a nested chain, changing as few genes as it can."""

    @abstractmethod
    def largest(self) -> Arch:
        """The architecture every other one is nested in."""

    # ---- enumeration (optional) --------------------------------------------------------------
    @property
    def size(self) -> int:
        return int(np.prod(self.n_choices, dtype=np.float64))

    def enumerate(self) -> Iterator[Arch]:
        """Every architecture in gene order (only for spaces small enough to list)."""
        import itertools

        return (tuple(v) for v in itertools.product(*(g.choices for g in self.genes)))

    # ---- supernet and costs ------------------------------------------------------------------
    @abstractmethod
    def supernet(self, *, init_seed: int = 0, **settings: Any):
        """Build this space's weight-sharing supernet (a ``search_spaces.supernet.Supernet``), its initial
        weights drawn from ``torch.Generator().manual_seed(init_seed)``."""

    def check_image_size(self, size: int) -> None:
        """Raise ConfigError unless this space's networks take square images ``size`` pixels wide."""
        if size < self.image_multiple or size % self.image_multiple:
            allowed = "a positive number" if self.image_multiple == 1 else f"a positive multiple of {self.image_multiple}"
            raise ConfigError(f"image size {size} does not fit {self.name} networks; allowed: {allowed} of pixels")

    @abstractmethod
    def layers(self, arch: Arch, settings: Mapping[str, Any], input_shape: tuple[int, int, int]) -> list[str]:
        """The op keys a per-op latency table prices for this architecture (one per executed op)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, genes={self.n_genes})"


