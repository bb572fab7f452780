"""regnas.plot figures: the data each figure draws, read back from its artists and checked against the run files."""
from __future__ import annotations

import itertools
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from matplotlib.colors import Normalize, to_rgba_array
from pymoo.indicators.hv import HV

from regnas.plot import (RunFolderError, accuracy_latency, compare, flip_matrix, flip_matrix_data, hypervolume,
                         hypervolume_data, load_run, parallel_coordinates, parallel_coordinates_data, pareto,
                         run_labels)
from regnas.plot.style import sequential_cmap
from tests.conftest import tiny_config


@pytest.fixture(scope="module")
def result(tiny_run: Path) -> dict:
    return json.loads((tiny_run / "result.json").read_text())


@pytest.fixture(scope="module")
def history(tiny_run: Path) -> list[dict]:
    return [json.loads(line) for line in (tiny_run / "history.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def running_run(tiny_run: Path, tmp_path_factory) -> Path:
    """The tiny run as it looks before it finishes: no result.json (nor the files written with it)."""
    path = tmp_path_factory.mktemp("running") / "tiny-running"
    shutil.copytree(tiny_run, path)
    for name in ("result.json", "pareto.csv", "pareto.png"):
        (path / name).unlink()
    return path


def artist(axes, gid: str):
    found = [a for a in axes.get_children() if a.get_gid() == gid]
    assert len(found) == 1, f"expected one artist {gid!r} in {axes.get_gid()!r}, found {len(found)}"
    return found[0]


def panel(figure, gid: str):
    found = [a for a in figure.axes if a.get_gid() == gid]
    assert len(found) == 1, f"expected one panel {gid!r}, found {[a.get_gid() for a in figure.axes]}"
    return found[0]


def test_finished_run_reads_front_and_choice_from_result(tiny_run, result):
    run = load_run(tiny_run)
    assert run.finished and run.chosen == result["chosen"]
    assert [list(f.objectives) for f in run.front] == [f["objectives"] for f in result["front"]]
    assert run.column_names == result["columns"]


def test_running_run_uses_last_generation_front(running_run, history):
    run = load_run(running_run)
    last_front = [p for p in history[-1]["population"] if p["front"]]
    assert not run.finished and run.chosen is None and run.family == []
    assert [list(f.members) for f in run.front] == [p["members"] for p in last_front]
    assert f"generation {len(history)} of {len(history)}" in run.status


def test_pareto_draws_front_chosen_and_population_on_every_pair(tiny_run, result, history):
    figure = pareto(tiny_run)
    columns, front = result["columns"], np.array([f["objectives"] for f in result["front"]])
    dominated = np.array([p["objectives"] for p in history[-1]["population"]
                          if not p["front"] and p["objectives"] is not None])  # None: over budget, not evaluated
    dominated = dominated.reshape(-1, len(columns))
    pairs = list(itertools.combinations(range(len(columns)), 2))
    assert len([a for a in figure.axes if (a.get_gid() or "").startswith("pair ")]) == len(pairs)
    for i, j in pairs:
        axes = panel(figure, f"pair {columns[i]} vs {columns[j]}")
        np.testing.assert_allclose(artist(axes, "front").get_offsets(), front[:, [i, j]])
        np.testing.assert_allclose(artist(axes, "chosen").get_offsets(), front[[result["chosen"]]][:, [i, j]])
        if len(dominated):
            np.testing.assert_allclose(artist(axes, "population").get_offsets(), dominated[:, [i, j]])
        assert "lower is better" in axes.get_xlabel() and "lower is better" in axes.get_ylabel()
    assert any(a.name == "3d" for a in figure.axes) == (len(columns) == 3)


def test_pareto_colours_front_by_nfr_only_where_no_flip_axis(tiny_run, result):
    figure = pareto(tiny_run)
    columns = result["columns"]
    nfr = np.array([f["nfr"] for f in result["front"]])
    expected = sequential_cmap()(Normalize(nfr.min(), nfr.max())(nfr))
    for i, j in itertools.combinations(range(len(columns)), 2):
        colours = artist(panel(figure, f"pair {columns[i]} vs {columns[j]}"), "front").get_facecolors()
        if {"nf", "nfr"} & {columns[i], columns[j]}:
            assert len(np.unique(colours, axis=0)) == 1
        else:
            np.testing.assert_allclose(colours, expected, atol=1e-6)


def test_pareto_links_the_chosen_members_small_to_large(tiny_run, result):
    axes = panel(pareto(tiny_run), "members")
    family = result["family"]
    points = np.array([[m["params"], m["validation_accuracy"]] for m in family])
    np.testing.assert_allclose(artist(axes, "members").get_offsets(), points)
    links = [t for t in axes.texts if t.get_gid() == "members-link"]
    assert [(tuple(t.xyann), tuple(t.xy)) for t in links] == [(tuple(points[k]), tuple(points[k + 1]))
                                                               for k in range(len(family) - 1)]
    assert [t.get_text() for t in axes.texts if t.get_gid() == "members-label"] == [m["name"] for m in family]


def test_pareto_of_a_running_run_has_no_chosen_family(running_run, history):
    figure = pareto(running_run)
    columns = history[-1]["columns"]
    axes = panel(figure, f"pair {columns[0]} vs {columns[1]}")
    front = np.array([p["objectives"] for p in history[-1]["population"] if p["front"]])
    np.testing.assert_allclose(artist(axes, "front").get_offsets(), front[:, [0, 1]])
    assert not [a for ax in figure.axes for a in ax.get_children() if a.get_gid() == "chosen"]
    assert "members" not in [a.get_gid() for a in figure.axes]


def test_pareto_accepts_a_search_result(tiny_run, result):
    from evolution.result import SearchResult

    core = {key: result[key] for key in ("columns", "front", "chosen", "family", "flips")}
    search_result = SearchResult(**core, info={k: v for k, v in result.items() if k not in core})
    axes = panel(pareto(search_result), f"pair {result['columns'][0]} vs {result['columns'][1]}")
    np.testing.assert_allclose(artist(axes, "chosen").get_offsets()[0],
                               np.array(result["front"][result["chosen"]]["objectives"])[[0, 1]])
    with pytest.raises(RunFolderError, match="history"):
        hypervolume(search_result)


def test_flip_matrix_shows_every_ordered_pair_of_result(tiny_run, result):
    data = flip_matrix_data(tiny_run)
    figure = flip_matrix(tiny_run)
    axes = figure.axes[0]
    image = artist(axes, "nfr").get_array()
    size = len(result["family"])
    assert data.names == [m["name"] for m in result["family"]]
    assert len(result["flips"]) == size * (size - 1)
    for flip in result["flips"]:
        i, j = flip["old_index"], flip["new_index"]
        assert data.nf[i, j] == flip["nf"] and image[i, j] == pytest.approx(flip["nfr"])
        assert [data.nfr_low[i, j], data.nfr_high[i, j]] == flip["nfr_ci95"]
        text = next(t.get_text() for t in axes.texts if t.get_gid() == f"cell {i} {j}")
        assert f"NF {flip['nf']}" in text and f"{100 * flip['nfr']:.2f}%" in text
    assert all(image.mask[k, k] for k in range(size))


def test_flip_matrix_needs_a_finished_run(running_run):
    with pytest.raises(RunFolderError, match="result.json"):
        flip_matrix(running_run)


def test_hypervolume_matches_pymoo_on_history_normalised_once(tiny_run, history):
    signs = np.array([-1.0 if d == "max" else 1.0 for d in history[-1]["directions"]])
    everything = np.array([p["objectives"] for r in history for p in r["population"]
                           if p["objectives"] is not None]) * signs
    ideal, nadir = everything.min(axis=0), everything.max(axis=0)
    indicator = HV(ref_point=np.full(len(signs), 1.1))
    expected = []
    for record in history:
        front = np.array([p["objectives"] for p in record["population"] if p["front"] and p["violation"] <= 0]) * signs
        expected.append(indicator.do((front - ideal) / np.where(nadir > ideal, nadir - ideal, 1.0)))
    data = hypervolume_data(tiny_run)
    np.testing.assert_allclose(data.values, expected)
    figure = hypervolume(tiny_run)
    line = artist(figure.axes[0], "hypervolume")
    np.testing.assert_allclose(line.get_ydata(), expected)
    assert list(line.get_xdata()) == [r["generation"] for r in history]
    assert any("reference point (1.1, 1.1, 1.1)" in t.get_text() for t in figure.axes[0].texts)


def test_population_panel_fades_older_generations(tiny_run, history):
    axes = hypervolume(tiny_run).axes[1]
    shown = [a for a in axes.collections if (a.get_gid() or "").startswith("generation ")]
    assert [int(a.get_gid().split()[1]) for a in shown][0] == 1
    assert int(shown[-1].get_gid().split()[1]) == len(history)
    alphas = [a.get_alpha() for a in shown]
    assert alphas == sorted(alphas) and alphas[0] < alphas[-1]
    assert len(shown[-1].get_offsets()) == len([p for p in history[-1]["population"] if p["objectives"] is not None])


def test_parallel_coordinates_put_best_at_zero_on_each_axis(tiny_run, result):
    data = parallel_coordinates_data(tiny_run)
    values = np.array([f["objectives"] for f in result["front"]])
    signs = np.array([-1.0 if d == "max" else 1.0 for d in result["directions"]])
    assert data.positions.shape == values.shape
    assert data.positions.min() >= 0 and data.positions.max() <= 1
    for c in range(values.shape[1]):
        best = values[np.argmin(values[:, c] * signs[c]), c]
        assert data.best[c] == pytest.approx(best)
    axes = parallel_coordinates(tiny_run).axes[0]
    np.testing.assert_allclose(artist(axes, "chosen").get_ydata(), data.positions[result["chosen"]])
    assert len([line for line in axes.lines if line.get_gid() == "family"]) == len(values) - 1


def test_accuracy_latency_needs_latency(tiny_run, tmp_path):
    """A run folder without platforms (here: the tiny run with its platforms and latencies taken out)."""
    run = tmp_path / "no-latency"
    shutil.copytree(tiny_run, run)
    result = json.loads((run / "result.json").read_text())
    result["platforms"] = []
    result["family"] = [{k: v for k, v in m.items() if not k.startswith("latency@")} for m in result["family"]]
    (run / "result.json").write_text(json.dumps(result))
    config = json.loads((run / "config.json").read_text())
    (run / "config.json").write_text(json.dumps({**config, "platforms": [], "budgets": {}}))
    accuracy_latency(tiny_run)  # the default problem has platforms
    with pytest.raises(RunFolderError, match="latency"):
        accuracy_latency(run)


@pytest.fixture(scope="module")
def latency_run(tmp_path_factory, tiny_supernet) -> Path:
    """A real tiny search with --platforms raspi4,pixel3: latency objective columns and latency@P keys."""
    from evolution.search import search

    run_dir = tmp_path_factory.mktemp("runs") / "tiny-latency"
    search(tiny_config(platforms=["raspi4", "pixel3"], budgets={"raspi4": "30ms", "pixel3": "20ms"},
                       objectives=["error", "nf", "latency"], generations=2, population=6), run_dir, progress=False)
    return run_dir


def test_accuracy_latency_shows_front_members_and_chosen_chain_per_platform(latency_run):
    result = json.loads((latency_run / "result.json").read_text())
    columns, front = result["columns"], np.array([f["objectives"] for f in result["front"]])
    figure = accuracy_latency(latency_run)
    for platform in ("raspi4", "pixel3"):
        axes = panel(figure, f"latency {platform}")
        own = [columns.index(f"latency[{platform}]"), columns.index(f"error[{platform}]")]
        np.testing.assert_allclose(artist(axes, f"front {platform}").get_offsets(),
                                   np.column_stack([front[:, own[0]], 1 - front[:, own[1]]]))
        chain = [[m[f"latency@{platform}"], m["validation_accuracy"]] for m in result["family"]]
        np.testing.assert_allclose(artist(axes, "members").get_offsets(), chain)
        links = [(tuple(t.xyann), tuple(t.xy)) for t in axes.texts if t.get_gid() == "members-link"]
        assert links == [(tuple(chain[0]), tuple(chain[1]))]
        assert "latency on " + platform in axes.get_xlabel()


def test_compare_overlays_each_run_and_labels_what_differs(tiny_run, running_run, result, history):
    figure = compare([tiny_run, running_run])
    columns = result["columns"]
    axes = panel(figure, f"pair {columns[0]} vs {columns[1]}")
    np.testing.assert_allclose(artist(axes, "front 0").get_offsets(),
                               np.array([f["objectives"] for f in result["front"]])[:, [0, 1]])
    running_front = np.array([p["objectives"] for p in history[-1]["population"] if p["front"]])
    np.testing.assert_allclose(artist(axes, "front 1").get_offsets(), running_front[:, [0, 1]])
    assert artist(axes, "chosen 0") and not [a for a in axes.get_children() if a.get_gid() == "chosen 1"]
    assert to_rgba_array(artist(axes, "front 0").get_edgecolors())[0].tolist() != \
        to_rgba_array(artist(axes, "front 1").get_edgecolors())[0].tolist()
    finished, running = load_run(tiny_run), load_run(running_run)
    other = type(running)(running.name, running.path, {**running.config, "crossover": "uniform"}, running.history, None)
    assert run_labels([finished, running]) == ["tiny", "tiny-running"]
    assert run_labels([finished, other]) == [f"crossover={finished.config['crossover']}", "crossover=uniform"]
