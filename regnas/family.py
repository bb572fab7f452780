"""Views of a family of nested architectures that objectives read: members, their metrics, flips of pairs."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from regnas import metrics
from regnas.errors import ConfigError
from search_spaces.base import Arch, SearchSpace

if TYPE_CHECKING:
    from regnas.evaluate import Evaluator
    from regnas.model_stats import ModelStats

FLIP_REDUCTIONS: dict[str, Callable[[Sequence[float]], float]] = {"sum": lambda v: float(np.sum(v)), "max": lambda v: float(np.max(v))}


@dataclass
class EvaluationContext:
    """What objectives may read: the space, the evaluator, model statistics and the member platforms.

    ``platforms[k]`` is the platform of member k (or None); ``latency_ms(arch, platform)`` is set when
    latency tables are in play. ``flip_reduce`` folds the consecutive pairs' flip metrics ("sum" or "max").
    """

    space: SearchSpace
    evaluator: Evaluator
    stats: ModelStats
    member_names: list[str]
    platforms: list[str | None]
    latency_ms: Callable[[Arch, str], float] | None = None
    flip_reduce: str = "sum"
    reward_lambda: float = 1.0
    _latency_cache: dict[tuple[str, str], float] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.flip_reduce not in FLIP_REDUCTIONS:
            raise ConfigError(f"unknown flip reduction {self.flip_reduce!r}; allowed: {', '.join(FLIP_REDUCTIONS)}")
        if len(self.platforms) != len(self.member_names):
            raise ConfigError(f"{len(self.member_names)} members but {len(self.platforms)} platforms")

    def family(self, archs: Sequence[Arch]) -> FamilyView:
        if len(archs) != len(self.member_names):
            raise ValueError(f"a family of this search has {len(self.member_names)} members, got {len(archs)}")
        return FamilyView(self, [MemberView(self, k, a) for k, a in enumerate(archs)])

    def latency(self, arch: Arch, platform: str) -> float:
        if self.latency_ms is None:
            raise ConfigError("no latency tables in this search; give --platforms")
        key = (self.space.to_str(arch), platform)
        if key not in self._latency_cache:
            self._latency_cache[key] = float(self.latency_ms(arch, platform))
        return self._latency_cache[key]


class MemberView:
    """One member: its architecture, name, platform and lazily computed metrics on the evaluation split."""

    def __init__(self, context: EvaluationContext, index: int, arch: Arch):
        self.context, self.index, self.arch = context, index, arch
        self.name = context.member_names[index]
        self.platform = context.platforms[index]

    @cached_property
    def arch_str(self) -> str:
        return self.context.space.to_str(self.arch)

    @cached_property
    def correct(self) -> np.ndarray:
        return self.context.evaluator.correct(self.arch)

    @property
    def accuracy(self) -> float:
        return metrics.accuracy(self.correct)

    @property
    def error(self) -> float:
        return 1.0 - self.accuracy

    @property
    def params(self) -> int:
        return self.context.stats.params(self.arch)

    @property
    def flops(self) -> int:
        return self.context.stats.flops(self.arch)

    def latency_ms(self, platform: str | None = None) -> float:
        platform = platform or self.platform
        if platform is None:
            raise ConfigError(f"member {self.name} has no platform; give --platforms")
        return self.context.latency(self.arch, platform)


class FamilyView:
    """The members small to large and their pairwise regression metrics."""

    def __init__(self, context: EvaluationContext, members: list[MemberView]):
        self.context, self.members = context, members

    def __len__(self) -> int:
        return len(self.members)

    def __iter__(self):
        return iter(self.members)

    def __getitem__(self, index: int) -> MemberView:
        return self.members[index]

    @property
    def archs(self) -> list[Arch]:
        return [m.arch for m in self.members]

    def pair_metric(self, name: str, old: int, new: int) -> float:
        """``nf``, ``nfr``, ``rel_nfr`` or ``nfi`` with member ``old`` as reference and ``new`` as update."""
        return float(metrics.PAIR_METRICS[name](self.members[old].correct, self.members[new].correct))

    def consecutive(self, name: str) -> float:
        """A pair metric over consecutive members, folded with the context's flip reduction (0 for one member)."""
        values = [self.pair_metric(name, k, k + 1) for k in range(len(self.members) - 1)]
        return FLIP_REDUCTIONS[self.context.flip_reduce](values) if values else 0.0

    def mean_accuracy(self) -> float:
        return float(np.mean([m.accuracy for m in self.members]))
