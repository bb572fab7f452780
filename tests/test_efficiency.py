"""Search replays on a prediction cache: the same search as regnas-evolve, counted in distinct sub-networks."""
from __future__ import annotations

import json

import numpy as np
import pytest

from evolution.efficiency import RANDOM, CurvePoint, replay
from evolution.efficiency_report import position, subnets_to_reach, summarise
from evolution.efficiency_run import run_efficiency
from evolution.exact_run import run_exact_front
from evolution.hypervolume import hypervolume
from evolution.session import build_session
from regnas.cli.bench import main as bench_main
from tests.conftest import tiny_config


def history(run_dir) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "history.jsonl").read_text().splitlines()]


def test_replay_is_the_search_and_counts_what_a_cold_run_computes(tiny_run):
    """tiny_run searched from an empty cache: its subnets_computed are the distinct functional keys it evaluated."""
    config = tiny_config()
    session = build_session(config, tiny_run, progress=False)
    points = replay(session, config.algorithm, config.seed, config.generations)
    records = history(tiny_run)
    n = len(session.evaluator.labels)
    assert session.evaluator.n_computed == 0  # everything came from the run's cache
    assert [p.subnets for p in points] == list(np.cumsum([r["subnets_computed"] for r in records]))
    assert [p.families for p in points] == [r["evaluations"] for r in records]
    result = json.loads((tiny_run / "result.json").read_text())
    front = [f["objectives"] for f in result["front"] if f["feasible"]]
    assert points[-1].hv_front == pytest.approx(hypervolume(np.array(front), result["columns"], n), abs=1e-15)
    # The search returns its archive: every feasible non-dominated family evaluated, so its HV never falls.
    assert all(a.hv_front <= b.hv_front for a, b in zip(points, points[1:]))
    assert all(p.hv_front == pytest.approx(p.hv_archive, abs=1e-15) for p in points)


def test_previous_operators_return_the_last_population(tiny_run):
    """With 2 families a generation the last population drops families the archive keeps: the front returned
    is not the archive (the new default's is: see test_replay_is_the_search...)."""
    config = tiny_config()
    session = build_session(config, tiny_run, progress=False)
    points = replay(session, "nsga2-previous", config.seed, 8, population=2)
    assert points[-1].families <= 2 * 8
    assert all(p.hv_front <= p.hv_archive + 1e-15 for p in points)
    assert any(p.hv_front < p.hv_archive - 1e-9 for p in points)
    assert all(a.subnets <= b.subnets for a, b in zip(points, points[1:]))


def test_random_search_counts_distinct_keys(tiny_run):
    config = tiny_config()
    session = build_session(config, tiny_run, progress=False)
    points = replay(session, RANDOM, 3, 2)
    rng = np.random.default_rng(3)
    problem = session.problem()
    keys, over = set(), 0
    for _ in range(2):  # the same draws, independently: random nested chains of two members
        for _ in range(config.population):
            family = session.space.sample_family(2, rng)
            if all(b.violation(problem.context.family(family)) <= 0 for b in session.budgets):
                keys.update(session.evaluator.key(a) for a in family)  # over budget: not evaluated
            else:
                over += 1
    assert over > 0 and points[-1].subnets == len(keys)
    assert points[-1].families == 2 * config.population
    assert points[-1].hv_front == points[-1].hv_archive


def test_position_against_a_hand_made_front():
    front = np.array([[0.2, 0.3, 10.0], [0.3, 0.2, 5.0], [0.25, 0.25, 0.0]])
    columns = ["error[a]", "error[b]", "nf"]
    on = position(front[2], front, columns, 100)
    assert on["on_front"] and on["dominated_by"] == 0 and on["epsilon"] == 0.0
    assert on["gap"] == {"error[a]": 0.0, "error[b]": 0.0, "nf": 0.0}
    off = position(np.array([0.3, 0.3, 12.0]), front, columns, 100)
    assert not off["on_front"] and off["dominated_by"] == 3
    assert off["gap"]["nf"] == pytest.approx(12.0)  # (0.25, 0.25, 0) is no worse in both errors
    assert off["gap"]["error[a]"] == pytest.approx(0.1)  # (0.2, 0.3, 10)
    assert off["epsilon"] == pytest.approx(-0.05)  # (0.25, 0.25, 0): 0.05 better in both errors, 0.12 in NF / 100
    near = position(np.array([0.3, 0.3, 4.0]), front, columns, 100)
    assert near["epsilon"] == pytest.approx(-0.04)  # (0.25, 0.25, 0): NF 4 better, i.e. 0.04 of the reference NF


def test_summary_medians_and_thresholds():
    def curve(values):
        return [CurvePoint(g + 1, 10 * (g + 1), 20 * (g + 1), v, v) for g, v in enumerate(values)]

    curves = {"a": {0: curve([0.5, 0.92, 0.96]), 1: curve([0.6, 0.8, 0.91]), 2: curve([0.95, 0.99, 1.0])}}
    assert subnets_to_reach(curves["a"][0], 0.95, 1.0) == 30
    summary = summarise(curves, 1.0, 20)["a"]
    assert summary["at_budget"] == {"median": 0.92, "min": 0.8, "max": 0.99}
    assert summary["to_reach"]["90%"] == {"median_subnets": 20.0, "seeds_reached": 3, "seeds": 3}
    assert summary["to_reach"]["95%"] == {"median_subnets": 20.0, "seeds_reached": 2, "seeds": 3}
    assert summary["to_reach"]["99%"] == {"median_subnets": 20.0, "seeds_reached": 1, "seeds": 3}


def test_efficiency_run_writes_its_files(tmp_path, tiny_supernet):
    exact = tmp_path / "exact"
    run_exact_front(exact, limit=12, progress=False, config=tiny_config())
    out = tmp_path / "eff"
    summary = run_efficiency(exact, out, variants=("nsga2", RANDOM), seeds=(0, 1), generations=3, progress=False,
                             config=tiny_config(generations=2), require_complete=False)
    for name in ("curves.json", "efficiency.json", "efficiency.md", "efficiency.png", "default-run/result.json"):
        assert (out / name).is_file(), name
    assert set(summary["algorithms"]) == {"nsga2", RANDOM}
    # The default budget is read off the 3-generation curve of the default run's seed: a 2-generation replay's.
    session = build_session(tiny_config(generations=2), exact, progress=False)
    assert summary["default_budget_subnets"] == replay(session, "nsga2", 0, 2)[-1].subnets > 0
    # the exact front was refused by the command: it covers 12 keys, not all
    assert bench_main(["efficiency", "--exact", str(exact), "--out", str(tmp_path / "x")]) == 2
