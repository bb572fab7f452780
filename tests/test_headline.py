"""The headline benchmark on a small real slice of CIFAR-10: every row, the reductions, the files; and its pieces."""
from __future__ import annotations

import csv
import json
from dataclasses import replace

import numpy as np
import pytest

from evolution.headline import FINETUNED, OURS, QUICK, ROWS, pick_at_accuracy, pick_most_accurate, run_headline
from regnas import metrics


def test_relative_nfr_reduction_by_hand():
    old_a = np.array([1, 1, 1, 1, 0, 0], bool)
    new_a = np.array([1, 0, 1, 1, 1, 0], bool)  # one flip
    old_b = np.array([1, 1, 1, 1, 0, 1], bool)
    new_b = np.array([0, 0, 1, 0, 1, 1], bool)  # three flips
    assert metrics.relative_nfr_reduction(old_a, new_a, old_b, new_b) == pytest.approx(1 - 1 / 3)
    assert metrics.relative_nfr_reduction(old_b, new_b, old_a, new_a) == pytest.approx(1 - 3 / 1)
    assert np.isnan(metrics.relative_nfr_reduction(old_a, new_a, old_a, old_a))


def _row(name, accuracies, nfr, feasible=True):
    return {"members": [name], "accuracies": accuracies, "mean_accuracy": float(np.mean(accuracies)), "nfr": nfr,
            "feasible": feasible}


def test_the_reg_nas_family_has_the_fewest_flips_with_every_member_within_the_tolerance():
    reference = [0.66, 0.70]
    front = [_row("a", [0.66, 0.70], 0.05),
             _row("b", [0.655, 0.695], 0.03),
             _row("same-twice", [0.68, 0.68], 0.00),  # mean 0.68 is the reference's, but the cloud member is 2 pt short
             _row("c", [0.60, 0.60], 0.00),
             _row("d", [0.75, 0.75], 0.00, feasible=False)]
    assert pick_at_accuracy(front, reference, 0.01)["members"] == ["b"]
    assert pick_at_accuracy(front, reference, 0.02)["members"] == ["same-twice"]
    assert pick_at_accuracy(front, reference, 0.2)["members"] == ["same-twice"]  # fewest flips, then most accurate
    # none close enough: the smallest worst shortfall (a: 0.14, 0.10 short; same-twice: 0.12 short)
    assert pick_at_accuracy(front, [0.80, 0.80], 0.01)["members"] == ["same-twice"]


def test_the_reference_family_is_the_most_accurate_feasible_one():
    front = [_row("a", [0.66, 0.70], 0.05), _row("b", [0.67, 0.70], 0.04), _row("c", [0.70, 0.70], 0.0, feasible=False)]
    assert pick_most_accurate(front)["members"] == ["b"]
    assert pick_most_accurate([_row("x", [0.5, 0.5], 0.1, feasible=False)])["members"] == ["x"]  # none feasible


def test_a_search_folder_of_an_older_version_is_refused_in_one_line(tmp_path):
    from evolution.headline import run_search
    from regnas.errors import ConfigError

    run_dir = tmp_path / "searches" / "reg-nas-seed0"
    run_dir.mkdir(parents=True)
    (run_dir / "result.json").write_text(json.dumps({"front": [{"members": ["a", "b"], "mean_accuracy": 0.5,
                                                                "nfr": 0.1, "feasible": True}]}))
    with pytest.raises(ConfigError, match="written by an older regnas .* delete"):
        run_search(tmp_path, "reg-nas", 0, "unused", QUICK, tmp_path / "unused.pt", progress=False)


@pytest.fixture(scope="module")
def headline(tmp_path_factory, shared_data):
    settings = replace(QUICK, name="test", train_images=600, validation_size=200, test_size=300,
                       supernet_settings={"C": 4, "N": 1}, supernet_epochs=1, model_epochs=1, finetune_epochs=1,
                       population=6, generations=2)
    out = tmp_path_factory.mktemp("headline")

    class Stop(Exception):
        pass

    def stop_after_supernet_rows(step: str) -> None:
        if step.endswith("supernet rows"):
            raise Stop

    with pytest.raises(Stop):  # stopped before the stand-alone trainings: the rows done so far are on disk
        run_headline(shared_data / "cifar10" / "cifar10-jpeg.npz", out, settings, progress=False,
                     on_step=stop_after_supernet_rows)
    partial = json.loads((out / "headline.json").read_text())
    summary = run_headline(shared_data / "cifar10" / "cifar10-jpeg.npz", out, settings, progress=False)
    return out, summary, settings, partial


@pytest.fixture(scope="module")
def headline_data(headline, shared_data):
    """Seed 0's split of the headline fixture, loaded once (decoding full CIFAR-10 takes seconds)."""
    from evolution.headline import load_headline_data

    return load_headline_data(shared_data / "cifar10" / "cifar10-jpeg.npz", headline[2], 0)


def test_a_stopped_run_keeps_its_rows_and_the_final_table_agrees(headline):
    out, summary, _, partial = headline
    assert partial["complete"] is False and summary["complete"] is True
    assert [r["row"] for r in partial["rows"]] == ["shared-unconstrained", "nesting-only", "reg-nas"]
    final = {r["row"]: r for r in summary["rows"]}
    for row in partial["rows"]:  # the same numbers, bootstrap intervals included
        assert row == final[row["row"]]
    final_reductions = {(r["ours"], r["against"]): r for r in summary["reductions"]}
    for r in partial["reductions"]:
        assert r == final_reductions[r["ours"], r["against"]]
    assert "Partial" not in (out / "headline.md").read_text()


def test_a_finished_seed_is_on_disk_before_the_next_seed_begins(headline, shared_data, tmp_path):
    import shutil

    out, summary, settings, _ = headline
    shutil.copytree(out, tmp_path / "run")  # every step of seed 0 is done there: it is reused, not redone

    class Stop(Exception):
        pass

    def stop_after_seed_0(step: str) -> None:
        if step == "seed 0":
            raise Stop

    steps = [*(tmp_path / "run").rglob("*.pt"), *(tmp_path / "run").rglob("result.json")]
    written = {path: path.stat().st_mtime_ns for path in steps}  # copytree keeps the times
    with pytest.raises(Stop):
        run_headline(shared_data / "cifar10" / "cifar10-jpeg.npz", tmp_path / "run", replace(settings, seeds=(0, 1)),
                     progress=False, on_step=stop_after_seed_0)
    saved = json.loads((tmp_path / "run" / "headline.json").read_text())
    assert saved["complete"] is False and saved["rows"] == json.loads(json.dumps(summary["rows"]))
    assert len(steps) >= 9 and {path: path.stat().st_mtime_ns for path in steps} == written  # nothing redone


def test_every_row_is_measured_on_the_same_test_images(headline, headline_data):
    from regnas.evaluate import Evaluator
    from regnas.supernet import load_supernet

    out, summary, settings, _ = headline
    assert [r["row"] for r in summary["rows"]] == list(ROWS)
    data = headline_data
    supernet = load_supernet(out / "supernet.pt")
    for row in summary["rows"]:
        assert row["members"][0]["latency_ms"] <= 10 and row["members"][1]["latency_ms"] <= 10  # the default budgets
        if row["origin"] == "supernet":  # recompute the flips of searched rows with a fresh evaluator
            evaluator = Evaluator(supernet, data, split="test")
            old, new = (evaluator.correct(m["arch"]) for m in row["members"])
            assert row["nf"] == int(np.sum(old & ~new))
            assert row["members"][1]["accuracy"] == pytest.approx(new.mean())
    by_row = {r["row"]: r for r in summary["rows"]}
    # independent and focal distillation share the device model: the same old member.
    assert by_row["independent"]["members"][0] == by_row["focal-distillation"]["members"][0]
    for tuned, source in FINETUNED.items():  # fine-tuned in place: the searched family's architectures
        assert [m["arch"] for m in by_row[tuned]["members"]] == [m["arch"] for m in by_row[source]["members"]]


def test_the_fine_tuned_rows_are_their_families_in_the_fine_tuned_supernet(headline, headline_data):
    from regnas.evaluate import Evaluator
    from regnas.supernet import load_supernet

    out, summary, settings, _ = headline
    data = headline_data
    by_row = {r["row"]: r for r in summary["rows"]}
    # a family picked by both searches is fine-tuned once, into the checkpoint of the first row that needs it
    first = {}
    for source in FINETUNED.values():
        first.setdefault(tuple(m["arch"] for m in by_row[source]["members"]), source)
    for tuned, source in FINETUNED.items():
        archs = [m["arch"] for m in by_row[tuned]["members"]]
        assert by_row[tuned]["origin"] == "supernet, fine-tuned"
        checkpoint = out / "models" / "seed0" / f"{first[tuple(archs)]}-finetuned.pt"
        with Evaluator(load_supernet(checkpoint), data, split="test") as evaluator:
            old, new = (evaluator.correct(a) for a in archs)
        assert by_row[tuned]["nf"] == int(np.sum(old & ~new))
        assert by_row[tuned]["members"][1]["accuracy"] == pytest.approx(new.mean())


def test_a_stand_alone_model_of_another_architecture_is_refused(headline, tiny_data, tmp_path):
    import shutil

    from evolution.headline import train_standalone
    from regnas.errors import ConfigError

    out, summary, settings, _ = headline
    shutil.copytree(out / "models", tmp_path / "models")  # the device model there is the picked device member's
    device, cloud = (m["arch"] for m in summary["rows"][0]["members"])
    assert device != cloud
    with pytest.raises(ConfigError, match=r"device.pt holds .* not the picked .* delete"):  # before any training
        train_standalone(tmp_path, [cloud, cloud], tiny_data, settings, 0, settings.supernet_settings, progress=False)


def test_reductions_follow_from_the_rows(headline):
    _, summary, _, _ = headline
    by_row = {r["row"]: r for r in summary["rows"]}
    assert {(r["ours"], r["against"]) for r in summary["reductions"]} == {
        (ours, row) for ours in OURS for row in ROWS if row not in OURS}
    for r in summary["reductions"]:
        ours, other = by_row[r["ours"]], by_row[r["against"]]
        if other["nf"]:
            assert r["reduction"] == pytest.approx(1 - ours["nf"] / other["nf"])
            assert r["ci95"][0] <= r["reduction"] <= r["ci95"][1]
        assert r["accuracy_gap"] == pytest.approx([a["accuracy"] - b["accuracy"]
                                                   for a, b in zip(ours["members"], other["members"])])


def test_the_table_and_figure_are_written(headline):
    out, summary, _, _ = headline
    with open(out / "headline.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["row"] for r in rows] == list(ROWS)
    assert "| reg-nas |" in (out / "headline.md").read_text()
    assert (out / "headline.png").stat().st_size > 5000
    assert json.loads((out / "headline.json").read_text())["rows"] == json.loads(json.dumps(summary["rows"]))


def test_pooled_reductions_are_the_flip_counts_of_every_seed_summed(rng):
    from evolution.headline import pooled_reductions
    from evolution.headline_report import to_markdown

    correct_by_seed = {seed: {row: [rng.random(400) < 0.6, rng.random(400) < 0.7] for row in ROWS} for seed in (3, 5)}
    pooled = pooled_reductions(correct_by_seed)
    assert {(r["ours"], r["against"]) for r in pooled} == {(ours, row) for ours in OURS for row in ROWS if row not in OURS}
    for r in pooled:
        flips = {name: sum(int(np.sum(old & ~new)) for old, new in (c[name] for c in correct_by_seed.values()))
                 for name in (r["ours"], r["against"])}
        assert r["reduction"] == pytest.approx(1 - flips[r["ours"]] / flips[r["against"]])
        assert r["ci95"][0] <= r["reduction"] <= r["ci95"][1] and r["seeds"] == [3, 5]
    assert pooled_reductions(correct_by_seed) == pooled  # seeded by the seeds and the rows
    settings = {"platforms": ["pixel3", "titan_rtx_1"], "budgets": {"pixel3": "10ms", "titan_rtx_1": "10ms"},
                "name": "test", "seeds": [3, 5], "test_size": 400}
    reductions = [{"ours": r["ours"], "against": r["against"], "seed": seed, "reduction": 0.1, "ci95": [0.0, 0.2],
                   "accuracy_gap": [0.0, 0.0]} for r in pooled for seed in (3, 5)]
    text = to_markdown({"settings": settings, "rows": [], "reductions": reductions, "pooled": pooled,
                        "timings": {"total_s": 60.0, "supernet_s": 0.0}})
    first = pooled[0]
    assert (f"| {first['ours']} | {first['against']} | 10.0% (10.0% to 10.0%) | {100 * first['reduction']:.1f}% "
            f"[{100 * first['ci95'][0]:.1f}%, {100 * first['ci95'][1]:.1f}%] | 2 |") in text


@pytest.mark.parametrize("argv,message", [
    (["--seeds", "0,x"], "--seeds '0,x' is not a comma-separated list of integers"),
    (["--seeds", "1,1"], "--seeds '1,1' must be distinct non-negative integers"),
    (["--threads", "0"], "--threads must be at least 1, got 0"),
    (["--data-path", "/no/such.npz"], "data path '/no/such.npz' does not exist"),
])
def test_bad_bench_input_is_one_line_with_exit_code_2(argv, message, capsys, tmp_path):
    import torch

    from regnas.cli.bench import main

    threads = torch.get_num_threads()
    base = {"--data-path": "/work/shared/data/cifar10/cifar10-jpeg.npz", "--out": str(tmp_path / "b")}
    for flag, value in zip(argv[::2], argv[1::2]):
        base[flag] = value
    try:
        code = main(["headline", *[x for pair in base.items() for x in pair], "--quick", "--quiet"])
    finally:
        torch.set_num_threads(threads)
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and message in err, err
    assert not (tmp_path / "b").exists()
