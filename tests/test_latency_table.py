"""LatencyTable: file round trip, predictions as sums of entries, vectorised equals per-architecture, refusals."""
from __future__ import annotations

import json

import numpy as np
import pytest

from regnas.latency import KeyScheme, LatencyTable, LatencyTableError, get_key_scheme, register_key_scheme
from search_spaces import get_space
from search_spaces.nasbench201.layers import cell_vocabulary, layer_counts, layer_keys

SPACE = get_space("nasbench201")
SETTINGS = {"C": 16, "N": 5}
SHAPE = (3, 32, 32)


def random_table(scheme: str, rng: np.random.Generator) -> LatencyTable:
    full = {**SPACE.supernet_defaults, **SETTINGS}
    if scheme == "ops":
        vocabulary = layer_counts(np.zeros((1, 6), dtype=np.int64), full, SHAPE)[0]
    else:
        vocabulary = cell_vocabulary(full, SHAPE, fold=scheme == "cells-fold")
    meta = {"space": "nasbench201", "device": "test", "unit": "ms", "batch": 1, "input_shape": list(SHAPE),
            "settings": SETTINGS, "key_scheme": scheme, "resolution_ms": 1e-9}
    return LatencyTable(meta, {k: float(v) for k, v in zip(vocabulary, rng.uniform(0.01, 1.0, len(vocabulary)))})


@pytest.mark.parametrize("scheme", ["ops", "cells", "cells-fold"])
def test_predict_is_sum_of_entries_and_vectorised_agrees(scheme, rng):
    table = random_table(scheme, rng)
    archs = [SPACE.sample(rng) for _ in range(300)] + [("none",) * 6, SPACE.largest()]
    expected = np.array([sum(table.entries[k] for k in table.keys(a)) for a in archs])
    singles = np.array([table.predict(a) for a in archs])
    np.testing.assert_allclose(singles, expected, rtol=0, atol=1e-8)
    np.testing.assert_allclose(table.predict_many(archs), expected, rtol=0, atol=1e-8)
    codes = np.array([SPACE.encode(a) for a in archs])
    np.testing.assert_allclose(table.predict_many(codes), expected, rtol=0, atol=1e-8)
    assert table.predict(SPACE.to_str(archs[0])) == pytest.approx(expected[0], abs=1e-8)


def test_ops_keys_count_every_executed_op():
    arch = SPACE.from_str("|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|avg_pool_3x3~2|")
    keys = layer_keys(arch, {**SPACE.supernet_defaults, **SETTINGS}, SHAPE)
    stage1 = [k for k in keys if k.endswith("/C16/H32") and k.startswith("cell/")]
    # per cell: conv, skip, avg pool (reading empty node 2 -> one zeros), one add at node 3, the frame
    assert sorted(stage1) == sorted(["cell/nor_conv_3x3/C16/H32", "cell/skip_connect/C16/H32", "cell/avg_pool_3x3/C16/H32",
                                     "cell/zeros/C16/H32", "cell/add/C16/H32", "cell/frame/C16/H32"] * 5)
    assert keys[0] == "stem/conv3x3/3-16/H32" and keys[-1] == "head/C64-10/H8"
    assert "reduction/C16-32/H32" in keys and "reduction/C32-64/H16" in keys


def test_save_load_round_trip(tmp_path, rng):
    table = random_table("cells", rng)
    path = table.save(tmp_path / "sub" / "table.json")
    loaded = LatencyTable.load(path)
    assert loaded.meta == table.meta and loaded.entries == table.entries
    archs = [SPACE.sample(rng) for _ in range(50)]
    np.testing.assert_array_equal(loaded.predict_many(archs), table.predict_many(archs))
    assert not list(path.parent.glob("*.tmp"))


def test_plain_number_entries_are_accepted(tmp_path, rng):
    table = random_table("ops", rng)
    data = table.to_json()
    data["entries"] = {k: v["ms"] for k, v in data["entries"].items()}
    (tmp_path / "t.json").write_text(json.dumps(data))
    arch = SPACE.sample(rng)
    assert LatencyTable.load(tmp_path / "t.json").predict(arch) == pytest.approx(table.predict(arch))


def test_table_of_another_space_is_refused(tmp_path, rng):
    path = random_table("ops", rng).save(tmp_path / "t.json")
    with pytest.raises(LatencyTableError, match="prices space 'nasbench201', not 'nats-size'"):
        LatencyTable.load(path, space="nats-size")
    data = json.loads(path.read_text())
    data["meta"]["space"] = "no-such-space"
    path.write_text(json.dumps(data))
    with pytest.raises(LatencyTableError, match="unknown space 'no-such-space'; allowed: .*nasbench201"):
        LatencyTable.load(path)


def test_missing_key_is_named(rng):
    table = random_table("ops", rng)
    del table.entries["cell/nor_conv_1x1/C32/H16"]
    arch = ("nor_conv_1x1",) + ("none",) * 5
    for predict in (table.predict, lambda a: table.predict_many([a])):
        with pytest.raises(LatencyTableError, match=r"no entry for key 'cell/nor_conv_1x1/C32/H16'"):
            predict(arch)
    assert table.predict_many([("skip_connect",) * 6])[0] > 0  # keys it does not need may be absent


@pytest.mark.parametrize("text, message", [
    ("not json", "not valid JSON"),
    ('{"meta": {}, "entries": {}}', "lacks meta field"),
    ('[1, 2]', "expected a JSON object"),
])
def test_malformed_files_raise_one_line(tmp_path, text, message):
    (tmp_path / "bad.json").write_text(text)
    with pytest.raises(LatencyTableError, match=message) as error:
        LatencyTable.load(tmp_path / "bad.json")
    assert "\n" not in str(error.value)


def test_unknown_scheme_lists_allowed(rng):
    with pytest.raises(Exception, match="allowed: arch, cells, cells-fold, ops"):
        get_key_scheme(SPACE, "per-layer")


def test_floor_bounds_predictions(rng):
    table = random_table("cells", rng)
    archs = [SPACE.sample(rng) for _ in range(400)]
    raw = np.array([sum(table.entries[k] for k in table.keys(a)) for a in archs])
    floor = float(np.median(raw))
    table.meta["floor_ms"] = floor
    np.testing.assert_allclose(table.predict_many(archs), np.maximum(raw, floor), atol=1e-8)
    assert min(table.predict(a) for a in archs) == pytest.approx(floor)


def test_rounding_to_resolution(rng):
    table = random_table("ops", rng)
    table.meta["resolution_ms"] = 0.5
    values = table.predict_many([SPACE.sample(rng) for _ in range(20)])
    np.testing.assert_allclose(values * 2, np.round(values * 2), atol=1e-9)


def test_a_scheme_without_vectorised_counts_predicts_the_same(rng):
    """Another space plugs in with keys alone; predict_many then loops over them."""
    register_key_scheme(KeyScheme("nasbench201", "ops-by-loop", "ops, without counts", layer_keys), overwrite=True)
    vectorised = random_table("ops", rng)
    looped = LatencyTable({**vectorised.meta, "key_scheme": "ops-by-loop"}, vectorised.entries)
    archs = [SPACE.sample(rng) for _ in range(100)]
    np.testing.assert_allclose(looped.predict_many(archs), vectorised.predict_many(archs), atol=1e-9)


def test_interrupted_save_keeps_the_old_file(tmp_path, rng):
    table = random_table("ops", rng)
    path = table.save(tmp_path / "t.json")
    before = path.read_text()
    broken = LatencyTable({**table.meta, "note": object()}, table.entries)  # json.dump fails half-way
    with pytest.raises(TypeError):
        broken.save(path)
    assert path.read_text() == before and [p.name for p in tmp_path.iterdir()] == ["t.json"]
