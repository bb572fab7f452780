"""Profiling on this machine: every op key of a tiny network gets a positive time; whole networks too."""
from __future__ import annotations

import pytest

from regnas.errors import ConfigError
from regnas.latency import LatencyTableError
from regnas.latency.profile import check_table_settings, measure_networks, profile_table
from search_spaces import get_space
from search_spaces.nasbench201.layers import layer_keys

SPACE = get_space("nasbench201")
TINY = {"C": 4, "N": 1}
SHAPE = (3, 8, 8)


def test_tiny_profile_prices_every_key_layers_produces(rng):
    table = profile_table(SPACE, settings=TINY, input_shape=SHAPE, batch=2, threads=1, repeats=3, warmup=1, rng=rng,
                          device="test-host", progress=False)
    full = {**SPACE.supernet_defaults, **TINY}
    needed = {k for arch in SPACE.enumerate() for k in layer_keys(arch, full, SHAPE)}
    assert needed == set(table.entries)
    assert all(v > 0 for v in table.entries.values())
    assert table.meta["threads"] == 1 and table.meta["batch"] == 2 and table.meta["settings"] == TINY
    archs = [SPACE.sample(rng) for _ in range(3)]
    predicted = table.predict_many(archs)
    measured = measure_networks(SPACE, archs, settings=TINY, input_shape=SHAPE, batch=2, threads=1, repeats=3, warmup=1,
                                rng=rng, progress=False)
    assert predicted.shape == measured.shape == (3,) and (measured > 0).all() and (predicted > 0).all()
    check_table_settings(table, TINY, SHAPE, 2)


def test_profile_refuses_bad_counts_and_other_settings(rng):
    with pytest.raises(ConfigError, match="repeats must be an integer >= 1, got 0"):
        profile_table(SPACE, settings=TINY, input_shape=SHAPE, batch=1, threads=1, repeats=0, warmup=1, rng=rng, device="x", progress=False)
    table = profile_table(SPACE, settings=TINY, input_shape=SHAPE, batch=1, threads=1, repeats=1, warmup=0, rng=rng, device="x", progress=False)
    with pytest.raises(LatencyTableError, match="C=8 \\(table 4\\)"):
        check_table_settings(table, {"C": 8, "N": 1}, SHAPE, 1)
