"""Cost limits of family members: parsing, pymoo constraints, order of the limits, feasibility of a family."""
from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from regnas.errors import ConfigError, InfeasibleBudgetError
from search_spaces.base import Arch, SearchSpace

if TYPE_CHECKING:
    from regnas.family import FamilyView

ENUMERATION_LIMIT = 200_000  # spaces up to this size are checked exactly, by enumeration
KINDS = ("latency", "params", "flops")
UNITS = {"ms": "latency", "params": "params", "flops": "flops"}
MULTIPLIERS = {"": 1.0, "k": 1e3, "M": 1e6, "G": 1e9}
_LIMIT = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)(?:[eE]([+-]?\d+))?\s*([kMG]?)\s*(ms|params|flops)\s*$")
LIMIT_SYNTAX = "a positive number with a unit: 12ms (latency on the member's platform), 80kparams, 25Mflops"


@dataclass(frozen=True)
class Budget:
    """Member ``member`` must cost at most ``limit``: latency on ``platform`` (ms), parameters or FLOPs.

    As a pymoo constraint the violation is relative, ``cost / limit - 1 <= 0``, so that limits in
    milliseconds and in parameters weigh alike in the summed constraint violation.
    """

    member: int
    kind: str
    limit: float
    platform: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ConfigError(f"unknown budget kind {self.kind!r}; allowed: {', '.join(KINDS)}")
        if self.kind == "latency" and self.platform is None:
            raise ConfigError("a latency budget needs the member's platform")
        if not (math.isfinite(self.limit) and self.limit > 0):
            raise ConfigError(f"budget limit {self.limit!r} must be a positive finite number")

    @property
    def name(self) -> str:
        return f"latency@{self.platform}<={self.limit:g}ms" if self.kind == "latency" else f"{self.kind}<={self.limit:g}"

    def cost(self, family: FamilyView) -> float:
        member = family[self.member]
        if self.kind == "latency":
            return member.latency_ms(self.platform)
        return float(member.params if self.kind == "params" else member.flops)

    def violation(self, family: FamilyView) -> float:
        return float(self.excess(self.cost(family)))

    def excess(self, cost):
        """The relative constraint value of a cost (float or array): ``cost / limit - 1``, feasible where <= 0."""
        return cost / self.limit - 1.0


def parse_limit(text: str, where: str = "budget") -> tuple[str, float]:
    """``"12ms"`` -> ("latency", 12.0); ``"80kparams"`` -> ("params", 80000.0); ``"2.5Mflops"`` -> ("flops", 2.5e6)."""
    match = _LIMIT.match(text) if isinstance(text, str) else None
    if match is None:
        raise ConfigError(f"{where} {text!r} is not {LIMIT_SYNTAX}")
    mantissa, exponent, multiplier, unit = match.groups()
    value = float(f"{mantissa}e{exponent or 0}") * MULTIPLIERS[multiplier]  # 1e999 is inf, not an OverflowError
    if not (math.isfinite(value) and value > 0):
        raise ConfigError(f"{where} {text!r} is not {LIMIT_SYNTAX}")
    return UNITS[unit], value


def make_budgets(member_names: Sequence[str], platforms: Sequence[str], limits: Mapping[str, str]) -> list[Budget]:
    """One Budget per entry of ``limits`` (member name -> limit text), members in family order."""
    budgets = []
    for target, text in limits.items():
        if target not in member_names:
            raise ConfigError(f"budget for {target!r}, which is not a member; members: {', '.join(member_names)}")
        member = list(member_names).index(target)
        kind, value = parse_limit(text, f"budget of {target}")
        platform = platforms[member] if platforms else None
        if kind == "latency" and platform is None:
            raise ConfigError(f"budget {target}={text} is a latency, but member {target} has no platform; "
                              "give --platforms, or a params/flops limit")
        budgets.append(Budget(member, kind, value, platform if kind == "latency" else None))
    return sorted(budgets, key=lambda b: b.member)


def latency_function(space: SearchSpace, platforms: Sequence[str]) -> Callable[[Arch, str], float]:
    """``latency_ms(arch, platform)`` from the platforms' lookup tables (unknown platforms fail here, early)."""
    from regnas.latency import get_platform

    tables = {p: get_platform(p) for p in platforms}
    for table in tables.values():
        table.check_space(space.name)
    return lambda arch, platform: float(tables[platform].predict(arch))


def admitted_share(space: SearchSpace, budget: Budget) -> float | None:
    """The share of the space a latency budget admits (exact by enumeration; None where it cannot be known)."""
    if budget.kind != "latency" or space.size > ENUMERATION_LIMIT:
        return None
    from regnas.latency import get_platform
    from regnas.latency.bounds import gene_indices

    return float(np.mean(get_platform(budget.platform).predict_many(gene_indices(space)) <= budget.limit))


def check_order(space: SearchSpace, member_names: Sequence[str], budgets: Sequence[Budget]) -> None:
    """Raise unless every member has a limit and member k's limit is tighter than member k+1's.

    Limits of one kind on one yardstick (params, FLOPs, latency on the same platform) compare by value;
    latency limits on different platforms compare by the share of the space each admits.
    """
    by_member = {b.member: b for b in budgets}
    missing = [name for k, name in enumerate(member_names) if k not in by_member]
    if len(member_names) > 1 and missing:
        raise ConfigError(
            f"member {missing[0]} has no cost limit; every member of a family needs one (--budget "
            f"{missing[0]}=12ms on its platform, or =80kparams / =25Mflops): without limits the best network "
            "repeated K times wins")
    if len(budgets) != len(by_member):
        raise ConfigError("a member has two budgets; give one limit per member")
    for small, large in zip(budgets[:-1], budgets[1:]):
        text = f"{member_names[small.member]} ({small.name}) and {member_names[large.member]} ({large.name})"
        if small.kind != large.kind:
            raise ConfigError(f"the limits of {text} are of different kinds and cannot be ordered; "
                              "give consecutive members limits of one kind")
        if small.kind != "latency" or small.platform == large.platform:
            tighter = small.limit < large.limit
            measure = "its limit is not below the next one"
        else:
            shares = admitted_share(space, small), admitted_share(space, large)
            if None in shares:
                continue  # a space too large to enumerate: the user's order stands
            tighter = shares[0] < shares[1]
            measure = f"it admits {shares[0]:.1%} of {space.name}, the next {shares[1]:.1%}"
        if not tighter:
            raise ConfigError(f"members are ordered small to large by their limits, but {text} are not: {measure}; "
                              "list the platforms (and budgets) from the tightest to the loosest")


def check_feasible(space: SearchSpace, platforms: Sequence[str], budgets: Sequence[Budget], *, nested: bool = True) -> None:
    """Raise InfeasibleBudgetError unless some family meets every latency budget (a chain a_1 ⊑ ... ⊑ a_K
    when ``nested``, each member on its own otherwise).

    Exact for enumerable spaces: every architecture is priced once per budget, and since nesting
    depends only on weight footprints, the check walks the members small to large keeping the
    footprints reachable by a chain that met the budgets so far. Larger spaces are checked member by
    member against each table's minimum, where that minimum can be computed. Parameter and FLOP limits
    are not checked beforehand (they depend on the supernet's settings); pymoo ranks infeasible
    families by their violation, and the result marks them.
    """
    from regnas.latency import get_platform, min_latency
    from regnas.latency.bounds import ENUMERABLE, gene_indices

    budgets = [b for b in budgets if b.kind == "latency"]
    if not budgets:
        return
    if space.size > ENUMERATION_LIMIT:
        if space.size <= ENUMERABLE:
            for budget in budgets:
                _check_alone(space, budget, *min_latency(get_platform(budget.platform), space))
        return
    codes = gene_indices(space)
    archs = [space.decode(c) for c in codes]
    latency = {b.member: get_platform(b.platform).predict_many(codes) for b in budgets}
    for budget in budgets:
        fastest = int(np.argmin(latency[budget.member]))
        _check_alone(space, budget, float(latency[budget.member][fastest]), archs[fastest])
    if not nested:
        return
    footprints = np.array([space.footprint(a) for a in archs])
    limits = {b.member: b.limit for b in budgets}
    reachable: np.ndarray | None = None
    for member in range(len(platforms)):
        ok = latency[member] <= limits[member] if member in limits else np.ones(len(archs), dtype=bool)
        candidates = np.unique(footprints[ok], axis=0)
        if reachable is not None:
            above = (reachable[None, :, :] <= candidates[:, None, :]).all(axis=2).any(axis=1)
            candidates = candidates[above]
        if len(candidates) == 0:
            text = ", ".join(f"{b.platform}={b.limit:g}ms" for b in budgets)
            raise InfeasibleBudgetError(
                f"budgets {text} cannot all be met by one nested {space.name} family: no member "
                f"{member + 1} ({platforms[member]}) contains a smaller member that meets its budget"
            )
        reachable = candidates


def _check_alone(space: SearchSpace, budget: Budget, fastest_ms: float, fastest: Arch) -> None:
    if fastest_ms > budget.limit:
        raise InfeasibleBudgetError(
            f"budget {budget.platform}={budget.limit:g}ms cannot be met: the fastest {space.name} "
            f"architecture takes {fastest_ms:.3g} ms there ({space.to_str(fastest)})"
        )
