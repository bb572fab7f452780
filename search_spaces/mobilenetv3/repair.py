"""Fewest-change repair of a family onto a nested chain, one stage at a time (stages share no constraint).

Within a stage, a chain has non-decreasing depths, so member depths are 2 up to index ``a``, 3 up to
``b`` and 4 after: the pair ``a <= b`` fixes which members run slot 3 (from ``a`` on) and slot 4 (from
``b`` on). Given the depths, each kernel and expand column needs only its active members non-decreasing,
which costs its length minus its longest non-decreasing subsequence. Every (a, b) is priced, one of the
cheapest drawn with ``rng``, then each column repaired with ties drawn with ``rng``.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from search_spaces.mobilenetv3.modules import MAX_DEPTH
from search_spaces.mobilenetv3.space import DEPTHS, EXPANDS, KERNELS

N_LEVELS = 3  # every gene of this space has three choices


def _level_costs(levels: Sequence[int]) -> np.ndarray:
    """``cost[m, v]``: fewest changes in ``levels[:m+1]`` making it non-decreasing and ending at level <= v."""
    cost = np.zeros((len(levels), N_LEVELS), dtype=np.int64)
    previous = np.zeros(N_LEVELS, dtype=np.int64)
    for m, level in enumerate(levels):
        cost[m] = (np.arange(N_LEVELS) != level) + previous
        previous = np.minimum.accumulate(cost[m])
    return cost


def min_changes(levels: Sequence[int]) -> int:
    """Fewest changes making ``levels`` non-decreasing."""
    return int(_level_costs(levels)[-1].min()) if len(levels) else 0


def nondecreasing(levels: Sequence[int], rng: np.random.Generator) -> list[int]:
    """``levels`` made non-decreasing with the fewest changes; among equal repairs, one drawn with ``rng``."""
    if not levels:
        return []
    cost = _level_costs(levels)
    out = [0] * len(levels)
    ceiling = N_LEVELS - 1
    for m in range(len(levels) - 1, -1, -1):
        # Any level up to the ceiling keeps what follows non-decreasing; one of the cheapest of them is taken.
        options = cost[m, : ceiling + 1]
        best = np.flatnonzero(options == options.min())
        ceiling = out[m] = int(best[rng.integers(len(best))] if len(best) > 1 else best[0])
    return out


def repair_stage(members: Sequence[Sequence], rng: np.random.Generator) -> list[list]:
    """One stage's genes (depth, then kernel and expand of each slot) per member, small to large, repaired."""
    k = len(members)
    depths = [DEPTHS.index(m[0]) for m in members]
    columns = [[choices.index(m[1 + 2 * slot + which]) for m in members]
               for slot in range(MAX_DEPTH) for which, choices in enumerate((KERNELS, EXPANDS))]

    def column_cost(slot: int, start: int) -> int:
        return sum(min_changes(columns[2 * slot + which][start:]) for which in range(2))

    # Slot 3 (index 2) runs from member a on, slot 4 from member b on.
    third = [column_cost(2, start) for start in range(k + 1)]
    fourth = [column_cost(3, start) for start in range(k + 1)]
    pairs, costs = [], []
    for a in range(k + 1):
        for b in range(a, k + 1):
            target = [0] * a + [1] * (b - a) + [2] * (k - b)
            pairs.append((a, b))
            costs.append(sum(t != d for t, d in zip(target, depths)) + third[a] + fourth[b])
    best = np.flatnonzero(np.array(costs) == min(costs))
    a, b = pairs[int(best[rng.integers(len(best))]) if len(best) > 1 else int(best[0])]
    target = [0] * a + [1] * (b - a) + [2] * (k - b)
    out = [list(m) for m in members]
    for m in range(k):
        out[m][0] = DEPTHS[target[m]]
    for slot, start in enumerate((0, 0, a, b)):
        for which, choices in enumerate((KERNELS, EXPANDS)):
            gene = 1 + 2 * slot + which
            repaired = nondecreasing(columns[2 * slot + which][start:], rng)
            for m, level in zip(range(start, k), repaired):
                out[m][gene] = choices[level]
    return out
