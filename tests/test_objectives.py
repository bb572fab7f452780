"""Objectives: the registry, built-ins on a real family, user objectives from Python and as module:function."""
from __future__ import annotations

import json

import pytest

from evolution.search import search
from regnas import metrics
from regnas.errors import ConfigError, DuplicateNameError, UnknownNameError
from regnas.objectives import Objective, get_objective, list_objectives, objective, register_objective, OBJECTIVES
from tests.conftest import tiny_config


def test_registry_lists_builtins_and_refuses_duplicates():
    names = list_objectives()
    assert {"accuracy", "error", "nf", "nfr", "rel_nfr", "nfi", "params", "flops", "reward", "latency@PLATFORM"} <= set(names)
    with pytest.raises(DuplicateNameError, match="objective 'nf' is already registered"):
        register_objective(Objective("nf", lambda f: 0.0))
    with pytest.raises(UnknownNameError, match="unknown objective 'latency@'"):
        get_objective("latency@")
    assert get_objective("latency@pixel3").columns(["a", "b"]) == ["latency@pixel3[a]", "latency@pixel3[b]"]
    with pytest.raises(ConfigError, match="direction 'up'"):
        Objective("x", lambda f: 0.0, direction="up")


def test_builtins_on_a_real_family(tiny_supernet, tiny_data, rng):
    from evolution.session import build_session

    session = build_session(tiny_config(members=3, budgets={"m1": "10kparams", "m2": "15kparams", "m3": "30kparams"}), None, progress=False)
    family = session.context.family(session.space.sample_family(3, rng))
    correct = [session.evaluator.correct(a) for a in family.archs]
    nf = [metrics.negative_flips(correct[k], correct[k + 1]) for k in range(2)]
    assert get_objective("nf").values(family) == [sum(nf)]
    assert get_objective("error").values(family) == pytest.approx([1 - c.mean() for c in correct])
    assert get_objective("nfr").values(family) == pytest.approx([sum(nf) / len(correct[0])])
    assert get_objective("reward").values(family) == pytest.approx(
        [sum(c.mean() for c in correct) / 3 - session.context.reward_lambda * sum(nf) / len(correct[0])])
    params = get_objective("params").values(family)
    assert params == sorted(params) and params[0] > 0
    session.context.flip_reduce = "max"
    assert get_objective("nf").values(family) == [max(nf)]


def test_user_objectives_from_python_and_from_module_function(tmp_path, monkeypatch, tiny_supernet):
    module = tmp_path / "my_objectives.py"
    module.write_text(
        "def worst_member_error(family):\n"
        "    '''the largest error of any member'''\n"
        "    return max(m.error for m in family)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))

    @objective("small_member_params", scope="family")
    def small_member_params(family):
        return family[0].params

    try:
        result = search(tiny_config(objectives=["error", "my_objectives:worst_member_error", "small_member_params"],
                                    generations=1), tmp_path / "run", progress=False)
    finally:
        OBJECTIVES.unregister("small_member_params")
    assert result.columns == ["error[pixel3]", "error[titan_rtx_1]", "my_objectives:worst_member_error", "small_member_params"]
    for row in result.front:
        assert row["objectives"][2] == pytest.approx(max(row["objectives"][:2]))
    saved = json.loads((tmp_path / "run" / "result.json").read_text())
    assert saved["objectives"][1] == "my_objectives:worst_member_error"


def test_an_objectives_label_unit_and_direction_reach_the_progress_line_history_and_plots(tmp_path, tiny_supernet, capsys):
    from regnas.plot.load import load_run

    @objective("mean_score", direction="max", unit="fraction", label="mean member accuracy")
    def mean_score(family):
        return family.mean_accuracy()

    try:
        search(tiny_config(objectives=["mean_score", "nf"], generations=1), tmp_path / "run", progress=True)
    finally:
        OBJECTIVES.unregister("mean_score")
    record = json.loads((tmp_path / "run" / "history.jsonl").read_text().splitlines()[0])
    assert (record["directions"], record["units"], record["labels"]) == (["max", "min"], ["fraction", "count"],
                                                                        ["mean member accuracy", "negative flips"])
    best = max(p["objectives"][0] for p in record["population"] if p["front"])
    assert f"best mean_score {best:.4g}  nf " in capsys.readouterr().err
    column = load_run(tmp_path / "run").columns[0]
    assert column.axis_label == "mean member accuracy (%), higher is better" and column.arrow == "↑"
