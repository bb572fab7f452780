"""The exact front of nested feasible families against a brute-force double loop, and its hypervolume."""
from __future__ import annotations

import csv
import json
import itertools

import numpy as np
import pytest

from evolution.exact_front import FamilySpace, exact_front
from evolution.exact_run import enumerate_space, family_space, run_exact_front
from evolution.hypervolume import hypervolume
from evolution.session import build_session
from regnas.cli.bench import main as bench_main
from regnas.latency import get_platform
from regnas.metrics import negative_flips
from tests.conftest import tiny_config

LIMIT = 40  # functional keys: about 60 architectures, a few hundred nested feasible pairs


def brute_force(session, archs: list, limits: dict) -> dict[tuple[int, int, int], list[tuple[int, int]]]:
    """Every nested feasible pair by a Python double loop, filtered by naive pairwise dominance:
    front point (wrong small, wrong large, NF) -> the (small, large) pairs that attain it, in loop order."""
    space, evaluator = session.space, session.evaluator
    (small_platform, small_limit), (large_platform, large_limit) = limits.items()
    points: dict[tuple[int, int, int], list[tuple[int, int]]] = {}
    for i, a in archs:
        if get_platform(small_platform).predict(a) > small_limit:
            continue
        for j, b in archs:
            if get_platform(large_platform).predict(b) > large_limit or not space.is_nested(a, b):
                continue
            ca, cb = evaluator.correct(a), evaluator.correct(b)
            point = (int((~ca).sum()), int((~cb).sum()), negative_flips(ca, cb))
            points.setdefault(point, []).append((i, j))
    front = {}
    for p in points:
        dominated = any(all(x <= y for x, y in zip(q, p)) and q != p for q in points)
        if not dominated:
            front[p] = points[p]
    return front


def box_hypervolume(points: np.ndarray) -> float:
    """Hypervolume up to (1, ..., 1) by splitting the box at every coordinate and testing each cell's corner."""
    cuts = [np.unique(np.concatenate([points[:, d], [1.0]])) for d in range(points.shape[1])]
    volume = 0.0
    for cell in itertools.product(*(range(len(c) - 1) for c in cuts)):
        low = np.array([cuts[d][k] for d, k in enumerate(cell)])
        high = np.array([cuts[d][k + 1] for d, k in enumerate(cell)])
        if (points <= low).all(axis=1).any():
            volume += float(np.prod(high - low))
    return volume


@pytest.fixture(scope="module")
def exact_run(tmp_path_factory, tiny_supernet):
    out = tmp_path_factory.mktemp("exact")
    summary = run_exact_front(out, limit=LIMIT, progress=False, config=tiny_config())
    return out, summary


def test_exact_front_equals_brute_force(exact_run):
    out, summary = exact_run
    config = tiny_config()
    session = build_session(config, out, progress=False)
    enum = enumerate_space(session)
    chosen = set(enum.keys[:LIMIT])
    archs = [(i, a) for i, a in enumerate(enum.archs) if session.evaluator.key(a) in chosen]
    assert all(session.evaluator.is_cached(a) for _, a in archs)  # the run evaluated exactly these keys
    limits = {b.platform: b.limit for b in session.budgets}
    expected = brute_force(session, archs, limits)
    assert len(expected) > 1

    n = summary["validation_samples"]
    with open(out / "front.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    got = {(round(float(r["error[pixel3]"]) * n), round(float(r["error[titan_rtx_1]"]) * n), int(r["nf"])): r for r in rows}
    assert set(got) == set(expected)
    for point, pairs in expected.items():
        first = enum.archs[pairs[0][0]], enum.archs[pairs[0][1]]
        assert [got[point]["arch[1]"], got[point]["arch[2]"]] == [session.space.to_str(a) for a in first]
        assert int(got[point]["families"]) == len(pairs)
    assert summary["front_points"] == len(expected)
    assert summary["front_families"] == sum(len(p) for p in expected.values())
    nested = sum(1 for _, a in archs for _, b in archs
                 if get_platform("pixel3").predict(a) <= limits["pixel3"]
                 and get_platform("titan_rtx_1").predict(b) <= limits["titan_rtx_1"] and session.space.is_nested(a, b))
    assert summary["nested_pairs"] == nested
    points = np.array(sorted(expected), dtype=np.float64) / n  # both errors and NF / n: the unit cube
    assert summary["hypervolume"] == pytest.approx(box_hypervolume(points), rel=1e-12)
    saved = json.loads((out / "summary.json").read_text())
    assert saved["reference_point"] == {"error[pixel3]": 1.0, "error[titan_rtx_1]": 1.0, "nf": float(n)}


def test_chunking_does_not_change_the_front(exact_run):
    out, _ = exact_run
    session = build_session(tiny_config(), out, progress=False)
    table = family_space(session, enumerate_space(session), LIMIT)
    whole, chunked = exact_front(table), exact_front(table, pairs_per_chunk=7)
    for field in ("wrong_small", "wrong_large", "nf", "small", "large", "families"):
        np.testing.assert_array_equal(getattr(whole, field), getattr(chunked, field))
    assert whole.nested_pairs == chunked.nested_pairs


def test_front_of_hand_made_families():
    """Three models on four samples; every pair is nested and feasible except where marked."""
    correct = [np.array([1, 1, 0, 0], bool), np.array([1, 1, 1, 0], bool), np.array([0, 0, 1, 1], bool)]
    table = FamilySpace.from_correct(np.array([[0], [1], [2]]), np.array([0, 1, 2]), np.array([True, True, False]),
                                     np.array([True, True, True]), correct)
    front = exact_front(table)
    # pairs (small, large): (0,0) 2,2,0  (0,1) 2,1,0  (0,2) 2,2,2  (1,1) 1,1,0  (1,2) 1,2,2 -> (1,1) dominates all
    assert front.nested_pairs == 5
    assert list(zip(front.wrong_small, front.wrong_large, front.nf)) == [(1, 1, 0)]
    assert (front.small[0], front.large[0]) == (1, 1)
    assert hypervolume(front.objectives(), ["error[a]", "error[b]", "nf"], 4) == pytest.approx(0.75 * 0.75 * 1.0)


@pytest.mark.parametrize("argv, message", [
    (["--limit", "0"], "--limit"),
    (["--workers", "0"], "--workers"),
])
def test_bad_input_is_one_line(tmp_path, capsys, argv, message):
    assert bench_main(["exact-front", "--out", str(tmp_path / "x"), *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err


def test_command_resumes_from_its_cache(tmp_path, capsys):
    """The default problem through the command line: a second run computes nothing again."""
    out = tmp_path / "exact"
    assert bench_main(["exact-front", "--out", str(out), "--limit", "3", "--quiet"]) == 0
    first = json.loads((out / "summary.json").read_text())
    assert (first["keys_evaluated"], first["keys_computed_now"], first["complete"]) == (3, 3, False)
    assert bench_main(["exact-front", "--out", str(out), "--limit", "5", "--quiet"]) == 0
    second = json.loads((out / "summary.json").read_text())
    assert (second["keys_evaluated"], second["keys_computed_now"]) == (5, 2)
    assert "exact front over the first 5 of 10,405 functional keys" in capsys.readouterr().out
