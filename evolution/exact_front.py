"""The exact Pareto front of two-member nested, budget-feasible families, by vectorised enumeration."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from regnas.metrics import PackedCorrect, packed_negative_flips

PAIRS_PER_CHUNK = 1 << 19  # candidate (small, large) pairs per numpy step: bounds memory to a few tens of MB


@dataclass(frozen=True)
class FamilySpace:
    """What the enumeration needs of every architecture of the space (rows) and of every evaluated key.

    ``footprints[a]``: the weight footprint of architecture a (``a ⊑ b`` iff every entry is <=);
    ``key_index[a]``: the row of its functional key in ``correct``, or -1 where the key is not evaluated;
    ``small_ok[a]`` / ``large_ok[a]``: a meets member 1's / member 2's budget; ``correct``: packed
    correctness bits of each evaluated key (``np.packbits`` rows, as ``PackedCorrect``) on ``n`` samples.
    """

    footprints: np.ndarray
    key_index: np.ndarray
    small_ok: np.ndarray
    large_ok: np.ndarray
    correct: np.ndarray
    n: int

    @classmethod
    def from_correct(cls, footprints: np.ndarray, key_index: np.ndarray, small_ok: np.ndarray, large_ok: np.ndarray,
                     correct: list[np.ndarray]) -> FamilySpace:
        packed = [PackedCorrect.pack(c) for c in correct]
        n = packed[0].n if packed else 0
        bits = np.stack([p.bits for p in packed]) if packed else np.zeros((0, 0), dtype=np.uint8)
        return cls(np.asarray(footprints), np.asarray(key_index), np.asarray(small_ok, bool), np.asarray(large_ok, bool),
                   bits, n)

    @property
    def wrong(self) -> np.ndarray:
        """Samples each evaluated key gets wrong (its error times n)."""
        return self.n - np.bitwise_count(self.correct).sum(axis=1, dtype=np.int64)


@dataclass(frozen=True)
class ExactFront:
    """The front in integer counts: ``wrong_small``, ``wrong_large``, ``nf`` per front point (error = wrong / n).

    Each point is attained by ``families[i]`` nested feasible (small, large) architecture pairs, of
    which ``small[i]``, ``large[i]`` (row indices) is the first in enumeration order.
    """

    n: int
    feasible_small: int
    feasible_large: int
    nested_pairs: int
    wrong_small: np.ndarray
    wrong_large: np.ndarray
    nf: np.ndarray
    small: np.ndarray
    large: np.ndarray
    families: np.ndarray

    @property
    def size(self) -> int:
        return len(self.nf)

    def objectives(self) -> np.ndarray:
        """Rows (error of member 1, error of member 2, NF) in the objectives' natural units."""
        return np.column_stack([self.wrong_small / self.n, self.wrong_large / self.n, self.nf.astype(np.float64)])


def nested_pairs(space: FamilySpace, smalls: np.ndarray, larges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row indices (small, large) of every nested pair among the given candidates, small-major order."""
    fits = (space.footprints[smalls][:, None, :] <= space.footprints[larges][None, :, :]).all(axis=2)
    i, j = np.nonzero(fits)
    return smalls[i], larges[j]


def exact_front(space: FamilySpace, pairs_per_chunk: int = PAIRS_PER_CHUNK) -> ExactFront:
    """Enumerate every nested pair (small meets budget 1, large budget 2, both keys evaluated) in chunks of
    smalls, and return the Pareto front of (wrong of small, wrong of large, NF), all minimised.

    The objectives are integers in 0..n, so the front is found on an (n+1) x (n+1) grid holding the least NF
    of each pair of error counts: a cell is on the front when its NF is below the least NF of every cell
    weakly better in both errors and different from it (a 2-D prefix minimum). Pairs that attained their
    cell's running minimum are kept as candidates, to name and count the families of each front point.
    """
    evaluated = space.key_index >= 0
    smalls = np.flatnonzero(space.small_ok & evaluated)
    larges = np.flatnonzero(space.large_ok & evaluated)
    n, wrong = space.n, space.wrong
    words = _as_words(space.correct)
    grid = np.full((n + 1, n + 1), n + 1, dtype=np.int64)  # n + 1: no pair in this cell (NF <= n always)
    candidates: list[np.ndarray] = []
    total = 0
    step = max(1, pairs_per_chunk // max(1, len(larges)))
    for start in range(0, len(smalls), step):
        small, large = nested_pairs(space, smalls[start:start + step], larges)
        if not len(small):
            continue
        total += len(small)
        ka, kb = space.key_index[small], space.key_index[large]
        wa, wb = wrong[ka], wrong[kb]
        nf = packed_negative_flips(words[ka], words[kb])
        np.minimum.at(grid, (wa, wb), nf)
        keep = nf == grid[wa, wb]
        candidates.append(np.column_stack([small[keep], large[keep], wa[keep], wb[keep], nf[keep]]))
    front_nf = _front_cells(grid, n)
    rows = np.concatenate(candidates) if candidates else np.zeros((0, 5), dtype=np.int64)
    rows = rows[front_nf[rows[:, 2], rows[:, 3]] == rows[:, 4]]
    rows = rows[np.lexsort((rows[:, 1], rows[:, 0]))]  # enumeration order: the first row of a point names it
    points, first, counts = np.unique(rows[:, 2:5], axis=0, return_index=True, return_counts=True)
    return ExactFront(n, len(smalls), len(larges), total, points[:, 0], points[:, 1], points[:, 2],
                      rows[first, 0], rows[first, 1], counts)


def _front_cells(grid: np.ndarray, n: int) -> np.ndarray:
    """NF of each non-dominated grid cell, -1 elsewhere (see ``exact_front``)."""
    best = np.minimum.accumulate(np.minimum.accumulate(grid, axis=0), axis=1)
    above = np.full_like(grid, n + 1)
    above[1:, :] = best[:-1, :]
    left = np.full_like(grid, n + 1)
    left[:, 1:] = best[:, :-1]
    on_front = (grid <= n) & (grid < np.minimum(above, left))
    return np.where(on_front, grid, -1)


def _as_words(bits: np.ndarray) -> np.ndarray:
    """Packed bit rows zero-padded to whole 64-bit words (8x fewer popcounts than bytes; zeros never count)."""
    pad = (-bits.shape[1]) % 8
    padded = np.pad(bits, ((0, 0), (0, pad))) if pad else bits
    return np.ascontiguousarray(padded).view(np.uint64)
