"""Accuracy and regression metrics of model pairs (NF, NFR, rel_NFR, NFI) with bootstrap intervals; pure numpy."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np


def correctness(predictions: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Boolean vector: sample i predicted right."""
    predictions, labels = np.asarray(predictions), np.asarray(labels)
    if predictions.shape != labels.shape:
        raise ValueError(f"predictions of shape {predictions.shape} do not match labels of shape {labels.shape}")
    return predictions == labels


def accuracy(correct: np.ndarray) -> float:
    return float(np.mean(correct))


def negative_flips(old_correct: np.ndarray, new_correct: np.ndarray) -> int:
    """NF: samples the old (smaller) model gets right and the new (larger) one gets wrong."""
    return int(np.count_nonzero(np.asarray(old_correct, bool) & ~np.asarray(new_correct, bool)))


def negative_flip_rate(old_correct: np.ndarray, new_correct: np.ndarray) -> float:
    """NFR = NF / N."""
    return negative_flips(old_correct, new_correct) / len(old_correct)


def relative_negative_flip_rate(old_correct: np.ndarray, new_correct: np.ndarray) -> float:
    """rel_NFR = NFR / ((1 - err_old) * err_new): NFR against what independent errors would give.

    NaN when the old model gets nothing right or the new one nothing wrong (no flip is possible).
    """
    expected = accuracy(old_correct) * (1.0 - accuracy(new_correct))
    return negative_flip_rate(old_correct, new_correct) / expected if expected > 0 else float("nan")


def negative_flip_impact(old_correct: np.ndarray, new_correct: np.ndarray) -> float:
    """NFI = NF / (samples the new model gets wrong): the share of new's errors that are regressions."""
    wrong = int(np.count_nonzero(~np.asarray(new_correct, bool)))
    return negative_flips(old_correct, new_correct) / wrong if wrong else 0.0


PAIR_METRICS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "nf": negative_flips,
    "nfr": negative_flip_rate,
    "rel_nfr": relative_negative_flip_rate,
    "nfi": negative_flip_impact,
}


def family_reward(mean_accuracy, nfr, reward_lambda: float):
    """The paper's scalar reward of a family: mean member accuracy minus lambda times its NFR.

    Floats or numpy arrays (one value per family); the ``reward`` objective and pick rule both use this.
    """
    return mean_accuracy - reward_lambda * nfr


# ---- packed correctness: NF of any pair as a popcount ---------------------------------------------
@dataclass(frozen=True)
class PackedCorrect:
    """Correctness of one model as packed bits (``np.packbits``) and the sample count."""

    bits: np.ndarray
    n: int

    @classmethod
    def pack(cls, correct: np.ndarray) -> PackedCorrect:
        correct = np.asarray(correct, dtype=bool)
        return cls(np.packbits(correct), int(correct.size))

    def unpack(self) -> np.ndarray:
        return np.unpackbits(self.bits, count=self.n).astype(bool)

    @property
    def n_correct(self) -> int:
        return int(np.bitwise_count(self.bits).sum())

    def negative_flips_to(self, new: PackedCorrect) -> int:
        """NF with self as old: popcount(old & ~new). Padding bits are zero in ``old``, so they never count."""
        if new.n != self.n:
            raise ValueError(f"models evaluated on different sample counts: {self.n} and {new.n}")
        return int(packed_negative_flips(self.bits, new.bits))


def packed_negative_flips(old_bits: np.ndarray, new_bits: np.ndarray) -> np.ndarray:
    """NF of many pairs at once: rows of packed correctness bits (any unsigned width, zero padding), old then new.

    ``popcount(old & ~new)`` summed over each row's last axis; padding is zero in ``old``, so it never counts.
    """
    return np.bitwise_count(old_bits & ~new_bits).sum(axis=-1, dtype=np.int64)


def relative_nfr_reduction(old_a: np.ndarray, new_a: np.ndarray, old_b: np.ndarray, new_b: np.ndarray) -> float:
    """``1 - NFR(a) / NFR(b)``: how much smaller pair a's negative flip rate is than pair b's on the same samples
    (0.4 = 40% fewer flips; negative when a flips more; NaN when b has no flips)."""
    reference = negative_flips(old_b, new_b)
    return float(1.0 - negative_flips(old_a, new_a) / reference) if reference else float("nan")


# ---- bootstrap intervals ------------------------------------------------------------------------
@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float
    confidence: float

    def as_dict(self) -> dict[str, float]:
        return {"estimate": self.estimate, "low": self.low, "high": self.high, "confidence": self.confidence}


def bootstrap_interval(
    statistic: Callable[..., float],
    *samples: np.ndarray,
    rng: np.random.Generator,
    n_resamples: int = 1000,
    confidence: float = 0.95,
) -> Interval:
    """Percentile bootstrap of ``statistic(*samples)``, resampling the N paired samples together.

    Example: ``bootstrap_interval(negative_flip_rate, old_correct, new_correct, rng=rng)``.
    """
    _check_confidence(confidence)
    samples = tuple(np.asarray(s) for s in samples)
    n = len(samples[0])
    if any(len(s) != n for s in samples):
        raise ValueError("bootstrap samples must be paired (equal lengths)")
    index = rng.integers(0, n, size=(n_resamples, n))
    values = np.array([statistic(*(s[row] for s in samples)) for row in index], dtype=np.float64)
    return _percentile_interval(float(statistic(*samples)), values, confidence)


def hierarchical_bootstrap_interval(
    statistic: Callable[..., float],
    groups: Sequence[Sequence[np.ndarray]],
    *,
    rng: np.random.Generator,
    n_resamples: int = 1000,
    confidence: float = 0.95,
) -> Interval:
    """Two-stage percentile bootstrap of ``statistic`` over groups of paired samples pooled together
    (e.g. one group per seed, each its own test split): each resample draws as many groups as there are,
    with replacement, then each drawn group's samples with replacement, and concatenates them.

    The interval so holds both the spread between groups (seeds: searches and trainings) and the sampling
    noise within each; the estimate is ``statistic`` of all groups concatenated.
    Example: ``hierarchical_bootstrap_interval(relative_nfr_reduction, [(oa0, na0, ob0, nb0), (oa1, ...)], rng=rng)``.
    """
    _check_confidence(confidence)
    groups = [tuple(np.asarray(s) for s in group) for group in groups]
    if not groups or len({len(group) for group in groups}) != 1:
        raise ValueError("hierarchical bootstrap needs at least one group, every group with the same arrays")
    if any(len({len(s) for s in group}) != 1 for group in groups):
        raise ValueError("bootstrap samples must be paired (equal lengths within a group)")
    arity = len(groups[0])

    def pooled(chosen: Sequence[tuple[np.ndarray, ...]]) -> float:
        return statistic(*(np.concatenate([group[k] for group in chosen]) for k in range(arity)))

    values = np.empty(n_resamples, dtype=np.float64)
    for r in range(n_resamples):
        drawn = [groups[g] for g in rng.integers(0, len(groups), size=len(groups))]
        values[r] = pooled([tuple(s[index] for s in group)
                            for group, index in ((group, rng.integers(0, len(group[0]), size=len(group[0])))
                                                 for group in drawn)])
    return _percentile_interval(pooled(groups), values, confidence)


def _check_confidence(confidence: float) -> None:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")


def _percentile_interval(estimate: float, values: np.ndarray, confidence: float) -> Interval:
    alpha = (1 - confidence) / 2
    low, high = np.nanquantile(values, [alpha, 1 - alpha])
    return Interval(float(estimate), float(low), float(high), confidence)
