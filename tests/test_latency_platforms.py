"""Platforms by name (shipped tables, files, user tables) and the fastest architecture a table allows."""
from __future__ import annotations

import csv

import numpy as np
import pytest

from regnas.errors import DuplicateNameError, UnknownNameError
from regnas.latency import (LatencyTable, LatencyTableError, describe_platform, get_platform, list_platforms, min_latency,
                            register_platform, unregister_platform)
from regnas.latency.bounds import _mixed_radix
from search_spaces import get_space

SPACE = get_space("nasbench201")
SHIPPED = ["2080ti_1", "eyeriss", "fpga", "gold_6226", "pixel2", "pixel3", "raspi4", "samsung_a50", "titan_rtx_1", "titan_rtx_256"]


def test_shipped_platforms_match_the_measured_columns(shared_data):
    with open(shared_data / "nb201" / "nb201_archs.csv", newline="") as handle:
        columns = next(csv.reader(handle))
    assert sorted(c.removeprefix("latency_ms_") for c in columns if c.startswith("latency_ms_")) == SHIPPED


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_tables_load_describe_and_carry_provenance(name):
    assert name in list_platforms()
    table = get_platform(name)
    assert table.meta["space"] == "nasbench201" and table.meta["settings"] == {"C": 16, "N": 5}
    assert "MIT" in table.meta["source"] and table.meta["validation"]["rows"] == 14625
    line = describe_platform(name)
    assert line.startswith(f"{name} (") and "\n" not in line and "MAPE" in line and "not fitted on" in line
    assert 0 < table.predict(SPACE.largest()) < 1000


def test_register_duplicate_and_unknown(tmp_path):
    table = get_platform("pixel3")
    register_platform("my-phone", table)
    try:
        assert get_platform("my-phone") is table and "my-phone" in list_platforms()
        with pytest.raises(DuplicateNameError, match="'my-phone' is already registered"):
            register_platform("my-phone", table)
        register_platform("my-phone", get_platform("raspi4"), overwrite=True)
        assert get_platform("my-phone").meta["device"] == "raspi4"
    finally:
        unregister_platform("my-phone")
    with pytest.raises(UnknownNameError, match="unknown platform 'pixel9'; allowed: 2080ti_1, .*eyeriss, .*titan_rtx_256"):
        get_platform("pixel9")


def test_platforms_from_files(tmp_path):
    path = get_platform("fpga").save(tmp_path / "board.json")
    from_path = get_platform(str(path))
    assert from_path.meta["device"] == "fpga" and "board" not in list_platforms()
    named = get_platform(f"board={path}")
    try:
        assert "board" in list_platforms() and get_platform(f"board={path}") is named
        with pytest.raises(DuplicateNameError, match="'board' is already registered"):
            get_platform(f"board={tmp_path / 'other.json'}")
    finally:
        unregister_platform("board")
    with pytest.raises(LatencyTableError, match="does not exist"):
        get_platform(str(tmp_path / "missing.json"))


@pytest.mark.parametrize("name", ["pixel3", "titan_rtx_1"])
def test_min_latency_is_the_brute_force_minimum(name):
    table = get_platform(name)
    best_ms, best_arch = min_latency(table, SPACE)
    every = np.array([table.predict(a) for a in SPACE.enumerate()])
    assert best_ms == pytest.approx(every.min(), abs=1e-9)
    assert table.predict(best_arch) == pytest.approx(best_ms, abs=1e-9)


def test_enumeration_order_matches_the_space():
    codes = _mixed_radix(np.arange(SPACE.size), SPACE.n_choices)
    assert [SPACE.decode(c) for c in codes[[0, 1, 777, SPACE.size - 1]]] == [list(SPACE.enumerate())[i] for i in (0, 1, 777, SPACE.size - 1)]


def test_min_latency_refuses_other_settings_and_spaces():
    table = get_platform("pixel3")
    with pytest.raises(LatencyTableError, match="prices settings"):
        min_latency(table, SPACE, {"C": 32})
    other = LatencyTable({**table.meta, "space": "nats-size"}, table.entries)
    with pytest.raises(LatencyTableError, match="not 'nasbench201'"):
        min_latency(other, SPACE)
