"""Regression metrics against hand-computed cases."""
from __future__ import annotations

import math

import numpy as np
import pytest

from regnas import metrics

# 10 samples. old right on 0-5, new right on 2-8:
# NF = old right & new wrong = {0, 1} -> 2; positive flips = {6, 7, 8}.
LABELS = np.zeros(10, dtype=int)
OLD = np.array([0, 0, 0, 0, 0, 0, 1, 1, 1, 1])
NEW = np.array([1, 1, 0, 0, 0, 0, 0, 0, 0, 1])


def test_hand_computed_pair():
    old, new = metrics.correctness(OLD, LABELS), metrics.correctness(NEW, LABELS)
    assert metrics.accuracy(old) == 0.6 and metrics.accuracy(new) == 0.7
    assert metrics.negative_flips(old, new) == 2
    assert metrics.negative_flip_rate(old, new) == 0.2
    # rel_NFR = 0.2 / ((1 - 0.4) * 0.3) = 0.2 / 0.18
    assert metrics.relative_negative_flip_rate(old, new) == pytest.approx(0.2 / 0.18)
    # new gets 3 wrong (0, 1, 9), of which 2 are negative flips
    assert metrics.negative_flip_impact(old, new) == pytest.approx(2 / 3)
    # the reverse direction: old right & new wrong swaps roles: {6, 7, 8}
    assert metrics.negative_flips(new, old) == 3


def test_degenerate_cases():
    right, wrong = np.ones(5, bool), np.zeros(5, bool)
    assert metrics.negative_flips(right, right) == 0
    assert metrics.negative_flip_impact(right, right) == 0.0  # new makes no error
    assert math.isnan(metrics.relative_negative_flip_rate(wrong, wrong))  # old gets nothing right
    assert metrics.negative_flip_rate(right, wrong) == 1.0
    with pytest.raises(ValueError, match="do not match"):
        metrics.correctness(np.zeros(3), np.zeros(4))


def test_packed_bits_give_the_same_flips_for_any_length(rng):
    for n in (1, 7, 8, 9, 1000, 1003):
        a, b = rng.random(n) < 0.6, rng.random(n) < 0.7
        pa, pb = metrics.PackedCorrect.pack(a), metrics.PackedCorrect.pack(b)
        assert pa.negative_flips_to(pb) == metrics.negative_flips(a, b)
        assert pb.negative_flips_to(pa) == metrics.negative_flips(b, a)
        assert pa.n_correct == a.sum()
        assert np.array_equal(pa.unpack(), a)


def test_bootstrap_interval_contains_the_estimate_and_is_seeded(rng):
    old, new = rng.random(500) < 0.6, rng.random(500) < 0.7
    ci = metrics.bootstrap_interval(metrics.negative_flip_rate, old, new, rng=np.random.default_rng(0))
    again = metrics.bootstrap_interval(metrics.negative_flip_rate, old, new, rng=np.random.default_rng(0))
    assert ci == again
    assert ci.low <= ci.estimate <= ci.high and ci.high - ci.low > 0
    # Binomial standard error of a rate p over n samples: the 95% interval is about 4 of them wide.
    p = ci.estimate
    assert ci.high - ci.low == pytest.approx(3.92 * math.sqrt(p * (1 - p) / 500), rel=0.25)


@pytest.mark.parametrize("low, high", [(0.5, 0.8), (0.6, 0.6)], ids=["rates-differ", "rates-equal"])
def test_the_hierarchical_bootstrap_spreads_as_its_two_stages_add_up(rng, low, high):
    # 24 groups (seeds) of 200 samples. The pooled mean of G groups, each drawn with replacement and then
    # resampled within, has variance (between + within) / G, where between is the spread of the group means and
    # within the mean of p_g (1 - p_g) / n: a formula, not the code under test. Where the rates are equal the two
    # terms are about the same size, so leaving out either stage narrows the interval by about 30%.
    n, rates = 200, np.linspace(low, high, 24)
    groups = [(rng.random(n) < p,) for p in rates]
    means = np.array([g[0].mean() for g in groups])
    between, within = means.var(), np.mean(means * (1 - means) / n)
    sd = math.sqrt((between + within) / len(groups))

    def mean(x):
        return float(np.mean(x))

    ci = metrics.hierarchical_bootstrap_interval(mean, groups, rng=np.random.default_rng(0), n_resamples=4000)
    assert ci == metrics.hierarchical_bootstrap_interval(mean, groups, rng=np.random.default_rng(0), n_resamples=4000)
    assert ci.estimate == pytest.approx(np.concatenate([g[0] for g in groups]).mean())
    assert ci.high - ci.low == pytest.approx(3.92 * sd, rel=0.12)
    if low != high:  # resampling the pooled samples alone sees only the within-group noise: a far narrower interval
        flat = metrics.bootstrap_interval(mean, np.concatenate([g[0] for g in groups]), rng=np.random.default_rng(0))
        assert flat.high - flat.low < 0.5 * (ci.high - ci.low)


def test_the_hierarchical_bootstrap_rejects_groups_that_do_not_pair(rng):
    a, b = np.ones(3, bool), np.ones(4, bool)
    with pytest.raises(ValueError, match="paired"):
        metrics.hierarchical_bootstrap_interval(metrics.negative_flip_rate, [(a, a), (a, b)], rng=rng)
    with pytest.raises(ValueError, match="same arrays"):
        metrics.hierarchical_bootstrap_interval(metrics.negative_flip_rate, [(a, a), (a,)], rng=rng)


def test_bootstrap_rejects_unpaired_samples(rng):
    with pytest.raises(ValueError, match="paired"):
        metrics.bootstrap_interval(metrics.negative_flip_rate, np.ones(3, bool), np.ones(4, bool), rng=rng)
