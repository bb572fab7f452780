"""The SearchSpace contract: genes, canonical strings, the nesting relation and its chain repair."""
from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from regnas.errors import ConfigError, InvalidArchError

if TYPE_CHECKING:
    from search_spaces.latency import KeyScheme, ProfilingHooks

Arch = tuple  # one value per gene, in the order of SearchSpace.genes; hashable
# Settings every supernet has, set from the data (classes, image channels); these values stand in where no
# data is at hand (latency tables price networks of 3-channel images and 10 classes unless told otherwise).
DATA_SETTINGS: Mapping[str, int] = {"num_classes": 10, "in_channels": 3}


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


@dataclass(frozen=True)
class Setting:
    """A size setting of a space's networks (``--setting NAME=VALUE``): an integer of at least ``low``, with
    the value of the published reference network, the quick CPU default of a search, and the tiny value
    of the contract tests."""

    name: str
    help: str
    reference: int
    quick: int
    test: int
    low: int = 1

    def check(self, value: Any, space: str) -> int:
        """``value`` (an int, or its text from the command line) if allowed, else ConfigError naming it."""
        allowed = f"an integer >= {self.low}"
        if isinstance(value, str):
            try:
                value = int(value.strip())
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise ConfigError(f"{space} setting {self.name}={value!r} is not an integer; allowed: {allowed}")
        if value < self.low:
            raise ConfigError(f"{space} setting {self.name}={value!r} is out of range; allowed: {allowed}")
        return int(value)


@dataclass(frozen=True)
class DefaultProblem:
    """The family problem a space's default search poses when no platforms or budgets are given.

    ``platforms`` names one platform per member, small to large (empty: members ``m1, m2, ...``);
    ``budgets`` maps each member to its limit (``"10ms"`` on its platform, ``"20kparams"``, ``"25Mflops"``);
    ``why`` says how the limits were chosen. Every member must have a limit, and the space's largest
    network must break the first member's, or the problem is degenerate (see README, "The family problem").
    """

    platforms: tuple[str, ...]
    budgets: Mapping[str, str]
    why: str

    @property
    def members(self) -> int:
        return len(self.platforms) or len(self.budgets)


class SearchSpace(ABC):
    """A space of architectures sharing one supernet, ordered by weight nesting (``a ⊑ b``).

    An architecture is a tuple of gene values (``Arch``); ``to_str``/``from_str`` give its canonical
    string, the key of every cache, log and lookup table. ``is_nested(a, b)`` is true when ``b``
    contains every weight ``a`` uses; ``footprint(a)`` is the set of weights (as a comparable vector)
    and nesting is its element-wise order, which makes ``is_nested`` a preorder whose classes are
    architectures with identical footprints.

    A space also carries what the layers above need without naming it: ``settings`` (``--setting``),
    ``default_problem`` (the family problem of its default search: platforms and per-member budgets,
    a ``DefaultProblem``), ``learning_rate`` (its supernets' training default), ``key_schemes`` and
    ``profiling_hooks`` (latency), and ``latency_tables`` (the tables it ships, registered as platforms by
    ``regnas.latency``).
    """

    name: str
    genes: tuple[Gene, ...]
    settings: tuple[Setting, ...]  # what --setting may set (e.g. NAS-Bench-201's C and N), with their defaults
    image_multiple: int = 1  # the networks take square images whose side is a positive multiple of this
    test_input_shape: tuple[int, int, int] = (3, 32, 32)  # the input of the contract tests' networks
    default_problem: DefaultProblem | None = None  # None: a search must be given its platforms or budgets
    # The SGD learning rate its supernets train with when none is given (regnas-train, a search's quick supernet);
    # None: regnas.supernet.TrainConfig's. A space sets its own where it trains measurably better with it.
    learning_rate: float | None = None

    # ---- settings ----------------------------------------------------------------------------
    @property
    def reference_settings(self) -> dict[str, int]:
        """The published network's settings (e.g. NAS-Bench-201's C=16, N=5): what latency tables price."""
        return {s.name: s.reference for s in self.settings}

    @property
    def supernet_defaults(self) -> dict[str, Any]:
        """The reference settings and the data stand-ins: every setting a supernet takes."""
        return {**self.reference_settings, **DATA_SETTINGS}

    @property
    def quick_settings(self) -> dict[str, int]:
        """The small networks a search trains on a CPU when no settings are given."""
        return {s.name: s.quick for s in self.settings}

    @property
    def test_settings(self) -> dict[str, int]:
        """The tiny networks of the contract tests."""
        return {s.name: s.test for s in self.settings}

    def check_settings(self, values: Mapping[str, Any]) -> dict[str, int]:
        """``values`` with each key a declared setting and each value allowed, else ConfigError naming it."""
        declared = {s.name: s for s in self.settings}
        out = {}
        for key, value in values.items():
            if key not in declared:
                raise ConfigError(f"unknown {self.name} setting {key!r}; allowed: {', '.join(declared) or '(none)'}")
            out[key] = declared[key].check(value, self.name)
        return out

    def parse_settings(self, items: Sequence[str]) -> dict[str, int]:
        """``["C=16", "N=5"]`` (repeatable ``--setting KEY=VALUE``) -> checked settings; a key given twice is refused."""
        out: dict[str, Any] = {}
        for item in items:
            key, sep, value = item.partition("=")
            key = key.strip()
            if not sep or not key:
                raise ConfigError(f"setting {item!r} is not KEY=VALUE; {self.name} settings: "
                                  f"{', '.join(s.name for s in self.settings) or '(none)'}")
            if key in out:
                raise ConfigError(f"setting {key} is given twice ({key}={out[key]}, {item}); give it once")
            out[key] = value
        return self.check_settings(out)

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

    @property
    def nesting_groups(self) -> tuple[tuple[int, ...], ...]:
        """Gene indices nesting judges together: ``a ⊑ b`` iff it holds on every group alone. Each gene is
        its own group where nesting is gene by gene; crossover by gene column moves whole groups, so the
        children of nested parents stay nested."""
        return tuple((g,) for g in range(self.n_genes))

    def is_chain(self, family: Sequence[Arch]) -> bool:
        return all(self.is_nested(a, b) for a, b in zip(family[:-1], family[1:]))

    @abstractmethod
    def repair_chain(self, family: Sequence[Arch], rng: np.random.Generator) -> list[Arch]:
        """Project a family (small to large) onto a nested chain, changing as few genes as it can."""

    @abstractmethod
    def largest(self) -> Arch:
        """The architecture with the most weights; where one network contains all, that one."""

    def maximal(self) -> list[Arch]:
        """The architectures nested in no other; every architecture is nested in one of them. Where one
        network contains all, just ``largest()``; a space without such a top lists its maximal ones."""
        return [self.largest()]

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

    def key_schemes(self) -> Mapping[str, KeyScheme]:
        """This space's own latency key schemes by name; ``ops`` (from ``layers``) and ``arch`` (one key per
        architecture) exist for every space, and a space may give a faster ``ops`` here."""
        return {}

    def profiling_hooks(self) -> ProfilingHooks | None:
        """What ``regnas-profile`` needs to time this space's ops and networks; None: it cannot be profiled."""
        return None

    def latency_tables(self) -> Mapping[str, Path]:
        """Latency table files this space ships, by platform name (``regnas.latency`` registers them): the
        ``tables/*.json`` in the space's own folder, so a space's tables live with it."""
        folder = Path(inspect.getfile(type(self))).with_name("tables")
        return {path.stem: path for path in sorted(folder.glob("*.json"))}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, genes={self.n_genes})"


