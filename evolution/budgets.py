"""Latency budgets: per-platform prediction for the search, and a check that some nested family meets them."""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from evolution.config import SearchConfig
from evolution.problem import Budget
from regnas.errors import InfeasibleBudgetError
from search_spaces.base import Arch, SearchSpace

ENUMERATION_LIMIT = 200_000  # spaces up to this size are checked exactly, by enumeration


def latency_function(space: SearchSpace, platforms: Sequence[str]) -> Callable[[Arch, str], float]:
    """``latency_ms(arch, platform)`` from the platforms' lookup tables (unknown platforms fail here, early)."""
    from regnas.latency import get_platform

    tables = {p: get_platform(p) for p in platforms}
    for platform, table in tables.items():
        table.check_space(space.name)
    return lambda arch, platform: float(tables[platform].predict(arch))


def make_budgets(config: SearchConfig) -> list[Budget]:
    """The config's budgets as constraints on the members of their platforms (``check_feasible`` proves
    beforehand that a nested family can meet them all; ``evolution.session.check_config`` calls it)."""
    return [Budget(config.platforms.index(p), p, float(ms)) for p, ms in config.budgets.items()]


def check_feasible(space: SearchSpace, platforms: Sequence[str], budgets: Sequence[Budget]) -> None:
    """Raise InfeasibleBudgetError unless some chain a_1 ⊑ ... ⊑ a_K meets every budget.

    Exact for enumerable spaces: every architecture is priced once per budget, and since nesting
    depends only on weight footprints, the check walks the members small to large keeping the
    footprints reachable by a chain that met the budgets so far. Larger spaces are checked member by
    member against each table's minimum, where that minimum can be computed.
    """
    from regnas.latency import get_platform, min_latency
    from regnas.latency.bounds import ENUMERABLE, gene_indices

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
    footprints = np.array([space.footprint(a) for a in archs])
    limits = {b.member: b.limit_ms for b in budgets}
    reachable: np.ndarray | None = None
    for member in range(len(platforms)):
        ok = latency[member] <= limits[member] if member in limits else np.ones(len(archs), dtype=bool)
        candidates = np.unique(footprints[ok], axis=0)
        if reachable is not None:
            above = (reachable[None, :, :] <= candidates[:, None, :]).all(axis=2).any(axis=1)
            candidates = candidates[above]
        if len(candidates) == 0:
            text = ", ".join(f"{b.platform}={b.limit_ms:g}ms" for b in budgets)
            raise InfeasibleBudgetError(
                f"budgets {text} cannot all be met by one nested {space.name} family: no member "
                f"{member + 1} ({platforms[member]}) contains a smaller member that meets its budget"
            )
        reachable = candidates


def _check_alone(space: SearchSpace, budget: Budget, fastest_ms: float, fastest: Arch) -> None:
    if fastest_ms > budget.limit_ms:
        raise InfeasibleBudgetError(
            f"budget {budget.platform}={budget.limit_ms:g}ms cannot be met: the fastest {space.name} "
            f"architecture takes {fastest_ms:.3g} ms there ({space.to_str(fastest)})"
        )
