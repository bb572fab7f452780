"""The search loop on a real tiny supernet: run folder, determinism, checkpoint/resume, pick rules, algorithms."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from evolution.config import SearchConfig
from evolution.search import read_search_checkpoint, search
from regnas.errors import CheckpointError, ConfigError, RunFolderError, UnknownNameError
from search_spaces import get_space
from tests.conftest import tiny_config

SPACE = get_space("nasbench201")


def front_of(result) -> list[tuple]:
    return sorted((tuple(f["members"]), tuple(f["objectives"])) for f in result.front)


def test_run_folder_holds_everything_a_user_reads(tiny_run):
    result = json.loads((tiny_run / "result.json").read_text())
    config = SearchConfig.from_dict(json.loads((tiny_run / "config.json").read_text()))
    assert config == tiny_config()
    family = result["family"]
    assert [m["name"] for m in family] == ["pixel3", "titan_rtx_1"]  # the default platforms, small to large
    assert all({"arch", "accuracy", "params"} <= set(m) for m in family)
    archs = [SPACE.from_str(m["arch"]) for m in family]
    assert SPACE.is_chain(archs) and family[0]["params"] <= family[1]["params"]
    pairs = {(f["old"], f["new"]) for f in result["flips"]}
    assert pairs == {("pixel3", "titan_rtx_1"), ("titan_rtx_1", "pixel3")}
    for flip in result["flips"]:
        assert flip["nfr"] == pytest.approx(flip["nf"] / result["test_size"])
        assert flip["nfr_ci95"][0] <= flip["nfr"] <= flip["nfr_ci95"][1]
    assert result["columns"] == ["error[pixel3]", "error[titan_rtx_1]", "nf"]
    history = [json.loads(line) for line in (tiny_run / "history.jsonl").read_text().splitlines()]
    assert [h["generation"] for h in history] == [1, 2, 3, 4]
    with open(tiny_run / "pareto.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(result["front"]) and sum(int(r["chosen"]) for r in rows) == 1
    assert (tiny_run / "pareto.png").stat().st_size > 1000


def test_every_family_ever_evaluated_is_nested(tiny_run):
    for line in (tiny_run / "history.jsonl").read_text().splitlines():
        for individual in json.loads(line)["population"]:
            assert SPACE.is_chain([SPACE.from_str(s) for s in individual["members"]])


def test_front_values_are_true_metrics_of_the_members(tiny_run, tiny_supernet, tiny_data):
    """Recompute one front family's objectives from scratch with a fresh evaluator."""
    from regnas import metrics
    from regnas.evaluate import Evaluator

    result = json.loads((tiny_run / "result.json").read_text())
    row = result["front"][0]
    evaluator = Evaluator(tiny_supernet, tiny_data, split="validation")
    correct = [evaluator.correct(a) for a in row["members"]]
    assert row["objectives"] == pytest.approx([1 - correct[0].mean(), 1 - correct[1].mean(),
                                               metrics.negative_flips(correct[0], correct[1])])


def test_same_seed_same_result_and_interrupted_runs_resume_identically(tmp_path, tiny_supernet, tiny_run):
    straight = json.loads((tiny_run / "result.json").read_text())

    def ctrl_c_after_two(record):
        if record["generation"] == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        search(tiny_config(), tmp_path / "cut", progress=False, on_generation=ctrl_c_after_two)
    assert read_search_checkpoint(tmp_path / "cut")["generation"] == 2
    assert not (tmp_path / "cut" / "result.json").exists()
    resumed = search(tiny_config(), tmp_path / "cut", resume=True, progress=False)
    assert front_of(resumed) == sorted((tuple(f["members"]), tuple(f["objectives"])) for f in straight["front"])
    assert resumed.family == straight["family"] and resumed.flips == straight["flips"]
    cut_history = [json.loads(l) for l in (tmp_path / "cut" / "history.jsonl").read_text().splitlines()]
    straight_history = [json.loads(l) for l in (tiny_run / "history.jsonl").read_text().splitlines()]
    assert [h["population"] for h in cut_history] == [h["population"] for h in straight_history]


def test_a_finished_run_can_be_extended(tmp_path, tiny_supernet, tiny_run):
    search(tiny_config(generations=2), tmp_path / "short", progress=False)
    extended = search(tiny_config(generations=4), tmp_path / "short", resume=True, progress=False)
    straight = json.loads((tiny_run / "result.json").read_text())
    assert front_of(extended) == sorted((tuple(f["members"]), tuple(f["objectives"])) for f in straight["front"])


def test_another_seed_searches_differently(tmp_path, tiny_supernet, tiny_run):
    """Same supernet, another seed: the first generation already differs (the same seed would repeat it)."""
    supernet = json.loads((tiny_run / "result.json").read_text())["supernet"]["path"]
    search(tiny_config(seed=1, generations=1, supernet=supernet), tmp_path / "seed1", progress=False)
    first = json.loads((tiny_run / "history.jsonl").read_text().splitlines()[0])
    other = json.loads((tmp_path / "seed1" / "history.jsonl").read_text().splitlines()[0])
    assert [p["members"] for p in first["population"]] != [p["members"] for p in other["population"]]


def test_resume_refuses_a_changed_config_and_an_existing_run(tmp_path, tiny_supernet, tiny_run):
    with pytest.raises(RunFolderError, match="already holds a search; resume it with --resume"):
        search(tiny_config(), tiny_run, progress=False)
    with pytest.raises(ConfigError, match="another config"):
        search(tiny_config(population=10), tiny_run, resume=True, progress=False)
    with pytest.raises(CheckpointError, match="holds no search checkpoint"):
        search(tiny_config(), tmp_path, resume=True, progress=False)


def test_resume_refuses_a_data_file_whose_images_changed(tmp_path, tiny_supernet):
    """The data file's path is in the config, its images are not: a file replaced under a stopped run would
    otherwise go on into one front judged on two data sets (the supernet, cached by path, stays the same)."""
    import numpy as np

    from importlib import resources

    from regnas.datasets.files import read_jpeg_npz

    x_train, y_train, x_test, y_test = read_jpeg_npz(Path(str(resources.files("regnas") / "resources" / "cifar10_subset.npz")))
    data = tmp_path / "images.npz"
    np.savez(data, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    config = tiny_config(dataset="npz", data_path=str(data), generations=2)

    def ctrl_c_after_one(record):
        if record["generation"] == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        search(config, tmp_path / "run", progress=False, on_generation=ctrl_c_after_one)
    np.savez(data, x_train=255 - x_train, y_train=y_train, x_test=255 - x_test, y_test=y_test)
    with pytest.raises(CheckpointError, match="was evaluated on other images than those now loaded .*; resume it on "
                                              "the same data or start a new run"):
        search(config, tmp_path / "run", resume=True, progress=False)
    np.savez(data, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    search(config, tmp_path / "run", resume=True, progress=False)  # the same images again: it goes on
    history = [json.loads(line) for line in (tmp_path / "run" / "history.jsonl").read_text().splitlines()]
    assert [h["device"] for h in history] == ["cpu", "cpu"]


def test_a_run_resumed_on_another_kind_of_device_says_so(tmp_path, tiny_run):
    """As if the run had started on a GPU (its checkpoint rewritten by regnas's own writer, digest and all):
    going on on the CPU may change predictions within rounding of a tie, so it is told, and recorded."""
    import shutil

    from evolution.checkpoint import write_search_checkpoint
    from regnas.errors import ResumeWarning

    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    saved = read_search_checkpoint(run)
    assert saved["device"] == "cpu"
    write_search_checkpoint(run, {**saved, "device": "cuda"})
    with pytest.warns(ResumeWarning, match=f"run '{run}' was evaluated on cuda; it goes on on cpu, whose kernels round"):
        search(tiny_config(generations=5), run, resume=True, progress=False)
    history = [json.loads(line) for line in (run / "history.jsonl").read_text().splitlines()]
    assert [h["device"] for h in history][-1] == "cpu"
    write_search_checkpoint(run, {**read_search_checkpoint(run), "device": "cuda", "supernet_checksum": "0" * 16})
    with pytest.raises(CheckpointError, match="a quick supernet trained on cpu has other weights than the one trained "
                                              "on cuda: resume with --device cuda"):
        search(tiny_config(generations=6), run, resume=True, progress=False)


def test_a_run_resumed_on_another_kind_of_device_goes_on_on_its_own_quick_supernet(tmp_path, tiny_run, monkeypatch):
    """A run started on a GPU and resumed on the CPU takes the quick supernet it was searched on from the cache
    (keyed by device), without training one on the CPU first only to be refused for its other weights."""
    import shutil

    from evolution.checkpoint import write_search_checkpoint
    from evolution.session import cache_dir, quick_supernet_path, quick_train_config
    from regnas.data import load_data
    from regnas.errors import ResumeWarning
    from regnas.supernet import read_checkpoint

    config = tiny_config(generations=5)
    data = load_data(config.dataset, None, seed=config.seed, calibration_size=config.calibration_size,
                     validation_size=config.validation_size, test_size=config.test_size)
    settings = {**SPACE.supernet_defaults, **config.supernet_settings, "num_classes": 10, "in_channels": 3}
    where = {kind: quick_supernet_path(SPACE, settings, quick_train_config(config, SPACE), data, kind)
             for kind in ("cpu", "cuda")}
    assert where["cpu"].exists() and read_checkpoint(where["cpu"], SPACE.name, settings)["epoch"] == 1
    monkeypatch.setenv("REGNAS_CACHE", str(tmp_path / "cache"))  # a cache holding the GPU's copy only
    elsewhere = {kind: cache_dir() / "supernets" / path.name for kind, path in where.items()}
    elsewhere["cuda"].parent.mkdir(parents=True)
    shutil.copyfile(where["cpu"], elsewhere["cuda"])  # the same weights, as though a GPU had trained them
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    write_search_checkpoint(run, {**read_search_checkpoint(run), "device": "cuda"})
    with pytest.warns(ResumeWarning, match="was evaluated on cuda; it goes on on cpu"):
        result = search(config, run, resume=True, progress=False)
    assert not elsewhere["cpu"].exists()  # no quick supernet trained here
    assert result.info["supernet"]["path"] == str(elsewhere["cuda"])


@pytest.mark.parametrize("algorithm", ["nsga3", "unsga3", "spea2", "smsemoa"])
def test_other_pymoo_algorithms_run_by_name(tmp_path, tiny_supernet, algorithm):
    result = search(tiny_config(algorithm=algorithm, generations=2), tmp_path / algorithm, progress=False)
    assert result.front and SPACE.is_chain([SPACE.from_str(m["arch"]) for m in result.family])


def test_paper_reward_alone_with_a_genetic_algorithm(tmp_path, tiny_supernet):
    result = search(tiny_config(objectives=["reward"], algorithm="ga", generations=2, members=3, reward_lambda=2.0,
                                budgets={"m1": "10kparams", "m2": "15kparams", "m3": "30kparams"}),
                    tmp_path / "ga", progress=False)
    assert result.columns == ["reward"] and len(result.family) == 3
    best = result.front[result.chosen]
    assert best["objectives"][0] == pytest.approx(best["mean_accuracy"] - 2.0 * best["nfr"])


def test_pick_rules_choose_from_the_front(tmp_path, tiny_supernet, tiny_run):
    from evolution.pick import make_picker

    result = json.loads((tiny_run / "result.json").read_text())
    columns = result["columns"]
    import numpy as np

    F = np.array([f["objectives"] for f in result["front"]])
    accuracy = np.array([f["mean_accuracy"] for f in result["front"]])
    nfr = np.array([f["nfr"] for f in result["front"]])
    assert make_picker("best:nf", columns, reward_lambda=1.0)(F, accuracy, nfr) == int(np.argmin(F[:, 2]))
    assert make_picker("reward:0", columns, reward_lambda=1.0)(F, accuracy, nfr) == int(np.argmax(accuracy))
    # Pseudo-weights (Deb's): a family's weight on a column is its normalised distance from the column's worst
    # value; the rule takes the family whose weights are nearest (L1) to the ones given. Not always the best of
    # the first column: a family best there and good elsewhere has weight spread over several columns.
    target = np.array([1.0, 0.0, 0.0])
    worst, best = F.max(axis=0), F.min(axis=0)
    assert np.all(worst > best), F  # every column varies on this front: the weights are defined
    weights = (worst - F) / (worst - best)
    weights /= weights.sum(axis=1, keepdims=True)
    nearest = np.abs(weights - target).sum(axis=1)
    chosen = make_picker("pseudo-weights:1,0,0", columns, reward_lambda=1.0)(F, accuracy, nfr)
    assert nearest[chosen] == nearest.min()  # ties: any of them
    for bad, message in [("best:zz", "names no objective column"), ("pseudo-weights:1,2", "3 non-negative"),
                         ("knee", "unknown pick rule 'knee'; allowed:")]:
        with pytest.raises(ConfigError, match=message):
            make_picker(bad, columns, reward_lambda=1.0)


@pytest.mark.parametrize("constant", [0, 1, 2])
def test_pseudo_weights_leave_out_a_column_equal_on_the_whole_front(constant):
    import numpy as np

    from evolution.pick import make_picker

    # Two members' errors trade off, the flips are the same everywhere (no range to normalise): by hand, the
    # weights on the varying columns are (1, 0), (0.5, 0.5), (0, 1), and the middle family is the equal-weight pick.
    varying = np.array([[0.30, 0.40], [0.35, 0.35], [0.40, 0.30]])
    F = np.insert(varying, constant, 5.0, axis=1)
    columns = ["error[a]", "error[b]", "nf"]
    ones = np.ones(3)
    assert make_picker("pseudo-weights", columns, reward_lambda=1.0)(F, ones, ones) == 1
    weights = ",".join("0" if k == constant else "1" for k in range(3))
    assert make_picker(f"pseudo-weights:{weights}", columns, reward_lambda=1.0)(F, ones, ones) == 1
    first_only = ",".join("1" if k == min(set(range(3)) - {constant}) else "0" for k in range(3))
    assert make_picker(f"pseudo-weights:{first_only}", columns, reward_lambda=1.0)(F, ones, ones) == 0
    assert make_picker("pseudo-weights", columns, reward_lambda=1.0)(np.full((3, 3), 2.0), ones, ones) == 0


def test_without_the_nesting_constraint_families_are_free(tmp_path, tiny_supernet):
    result = search(tiny_config(nested=False, generations=2), tmp_path / "free", progress=False)
    assert result.info["nested"] is False
    lines = (tmp_path / "free" / "history.jsonl").read_text().splitlines()
    families = [[SPACE.from_str(s) for s in p["members"]] for line in lines for p in json.loads(line)["population"]]
    assert any(not SPACE.is_chain(f) for f in families)


def test_platforms_price_every_member_and_budgets_constrain_them(tmp_path, tiny_supernet):
    from regnas.latency import get_platform

    budgets = {"raspi4": 15.0, "pixel3": 8.0}
    result = search(tiny_config(platforms=["raspi4", "pixel3"], budgets={k: f"{v}ms" for k, v in budgets.items()},
                                objectives=["error", "nf", "latency"], generations=2), tmp_path / "budget", progress=False)
    assert result.columns == ["error[raspi4]", "error[pixel3]", "nf", "latency[raspi4]", "latency[pixel3]"]
    tables = {p: get_platform(p) for p in budgets}
    for member in result.family:
        for platform, table in tables.items():
            assert member[f"latency@{platform}"] == pytest.approx(table.predict(member["arch"]))
    for k, (platform, limit) in enumerate(budgets.items()):
        assert result.family[k][f"latency@{platform}"] <= limit
        for row in result.front:
            if row["feasible"]:
                assert tables[platform].predict(row["members"][k]) <= limit


def test_a_budget_no_family_can_meet_is_refused_before_searching(tmp_path):
    from regnas.errors import InfeasibleBudgetError

    with pytest.raises(InfeasibleBudgetError, match=r"budget raspi4=0.0001ms cannot be met: the fastest nasbench201 architecture takes"):
        search(tiny_config(platforms=["raspi4", "pixel3"], budgets={"raspi4": "0.0001ms", "pixel3": "8ms"}), tmp_path / "no",
               progress=False)
    assert not (tmp_path / "no").exists()
    with pytest.raises(UnknownNameError, match="unknown platform 'pixel9'"):
        search(tiny_config(platforms=["pixel9", "pixel3"]), tmp_path / "no", progress=False)


def test_resume_cannot_shorten_a_run(tiny_run, tiny_supernet):
    with pytest.raises(ConfigError, match="--generations 2 is below the 4 generations"):
        search(tiny_config(generations=2), tiny_run, resume=True, progress=False)


def test_worker_processes_give_the_identical_search(tmp_path, tiny_supernet, tiny_run):
    result = search(tiny_config(), tmp_path / "workers", progress=False, workers=2)
    straight = json.loads((tiny_run / "result.json").read_text())
    assert front_of(result) == sorted((tuple(f["members"]), tuple(f["objectives"])) for f in straight["front"])


def test_reward_lambda_sets_the_pick_rule_as_well_as_the_objective(tmp_path, tiny_supernet):
    """The same search (its objectives do not involve lambda) picks by --reward-lambda: 0 takes the most
    accurate family of the front, 1000 all but the one with the fewest flips.

    A front whose most accurate family also flips least gives the same pick for every lambda, so it
    cannot show lambda ignored; whether a seed's front trades accuracy against flips depends on the
    trained weights, hence on the CPU's arithmetic: the test takes the first of three seeds that does."""
    import numpy as np

    def scores(result):
        return np.array([f["mean_accuracy"] for f in result.front]), np.array([f["nfr"] for f in result.front])

    for seed in (1, 2, 3):
        first = search(tiny_config(pick="reward", reward_lambda=0.0, seed=seed), tmp_path / f"s{seed}-0", progress=False)
        accuracy, nfr = scores(first)
        if np.argmax(accuracy) != np.argmax(accuracy - 1000.0 * nfr):
            break
    else:
        pytest.fail("the fronts of seeds 1-3 do not trade accuracy against flips")
    second = search(tiny_config(pick="reward", reward_lambda=1000.0, seed=seed), tmp_path / f"s{seed}-1000",
                    progress=False)
    assert front_of(second) == front_of(first)
    for result, lam in ((first, 0.0), (second, 1000.0)):
        accuracy, nfr = scores(result)
        assert result.chosen == int(np.argmax(accuracy - lam * nfr))
    assert first.front[first.chosen]["members"] != second.front[second.chosen]["members"]


def test_progress_line_best_follows_each_objectives_direction():
    from evolution.search import format_record

    front = [[1.0, 5.0], [3.0, 2.0]]
    record = {"generation": 1, "evaluations": 8, "subnets_computed": 3, "front_size": 2, "seconds": 0.1,
              "columns": ["score", "cost"], "directions": ["max", "min"],
              "population": [*({"front": True, "objectives": f} for f in front), {"front": False, "objectives": [9.0, 0.5]}]}
    assert "best score 3  cost 2  " in format_record(record, 4)
