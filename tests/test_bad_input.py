"""Bad input of every kind is one line on stderr naming the bad value, exit code 2, no traceback, before anything slow."""
from __future__ import annotations

import errno
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from evolution.config import SearchConfig
from regnas.cli import bench, evolve, finetune, lut, main as regnas_main, plot, profile, train
from regnas.cli.common import entry_point
from regnas.errors import ConfigError, DataError

REPO = Path(__file__).resolve().parents[1]
PIXEL3 = REPO / "regnas" / "latency" / "tables" / "pixel3.json"
ENTRY = {"regnas-bench": bench, "regnas-evolve": evolve, "regnas-train": train, "regnas-finetune": finetune, "regnas-profile": profile, "regnas-lut": lut,
         "regnas-plot": plot, "regnas": regnas_main}


def refused(command: str, argv: list[str], capsys) -> str:
    """Run ``command``'s main(argv) in-process; assert exit 2 and one line without a traceback; return the line."""
    try:
        code = ENTRY[command].main(argv)
    except SystemExit as leaving:  # argparse usage errors leave through SystemExit
        code = leaving.code
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and re.match(rf"{command}( \w+)?: error: ", err) and "Traceback" not in err, err
    return err


# ---- numbers out of range, on every command that takes them ---------------------------------------
SEED_COMMANDS = [
    ("regnas-evolve", ["--quiet"]),
    ("regnas-train", []),
    ("regnas-profile", []),
    ("regnas-lut", ["fit", "--measured", "m.csv", "--column", "c", "--train", "10"]),
    ("regnas-finetune", ["--arch", "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"]),
]


@pytest.mark.parametrize("command, argv", SEED_COMMANDS)
@pytest.mark.parametrize("seed", ["-1", str(2**63), "1.5"])
def test_a_seed_outside_0_to_2_63_is_refused_by_every_command(command, argv, seed, tmp_path, capsys):
    err = refused(command, [*argv, "--out", str(tmp_path / "out.json"), "--seed", seed], capsys)
    assert f"seed" in err and seed in err, err
    assert not (tmp_path / "out.json").exists()


@pytest.mark.parametrize("command, argv, message", [
    ("regnas-evolve", ["--population", "100000000"], "population must be between 1 and 10,000, got 100000000"),
    ("regnas-evolve", ["--generations", str(10**12)], f"generations must be between 1 and 100,000, got {10**12}"),
    ("regnas-evolve", ["--generations", "0"], "generations must be between 1 and 100,000, got 0"),
    ("regnas-evolve", ["--members", "0"], "members must be between 1 and 100, got 0"),
    ("regnas-evolve", ["--workers", "0"], "argument --workers: 0 is out of range; allowed: between 1 and 1,024"),
    ("regnas-evolve", ["--reward-lambda", "nan"], "reward_lambda must be a finite number, got nan"),
    ("regnas-evolve", ["--reward-lambda", "-1"], "reward_lambda must be >= 0, got -1.0"),
    ("regnas-evolve", ["--setting", "C=0"], "nasbench201 setting C=0 is out of range; allowed: an integer >= 1"),
    ("regnas-evolve", ["--setting", "N=-2"], "nasbench201 setting N=-2 is out of range; allowed: an integer >= 1"),
    ("regnas-evolve", ["--validation-size", "0"], "validation_size must be >= 1, got 0"),
    ("regnas-evolve", ["--train-epochs", "0"], "train_epochs must be >= 1, got 0"),
    ("regnas-train", ["--lr", "-1"], "argument --lr: -1 is out of range; allowed: > 0"),
    ("regnas-train", ["--lr", "inf"], "argument --lr: 'inf' is not a finite number"),
    ("regnas-train", ["--epochs", "0"], "argument --epochs: 0 is out of range"),
    ("regnas-train", ["--batch-size", "-5"], "argument --batch-size: -5 is out of range"),
    ("regnas-train", ["--momentum", "1.5"], "argument --momentum: 1.5 is out of range; allowed: >= 0 and < 1"),
    ("regnas-train", ["--weight-decay", "-0.1"], "argument --weight-decay: -0.1 is out of range; allowed: >= 0"),
    ("regnas-train", ["--calibration-size", "0"], "argument --calibration-size: 0 is out of range"),
    ("regnas-train", ["--setting", "C=0"], "nasbench201 setting C=0 is out of range; allowed: an integer >= 1"),
    ("regnas-train", ["--setting", "N=-1"], "nasbench201 setting N=-1 is out of range; allowed: an integer >= 1"),
    ("regnas-profile", ["--image-size", "2"], "image size 2 does not fit nasbench201 networks; allowed: a positive multiple of 4"),
    ("regnas-profile", ["--image-size", "30"], "image size 30 does not fit nasbench201"),
    ("regnas-profile", ["--batch", "0"], "argument --batch: 0 is out of range"),
    ("regnas-profile", ["--threads", "0"], "argument --threads: 0 is out of range"),
    ("regnas-profile", ["--warmup", "-1"], "argument --warmup: -1 is out of range"),
    ("regnas-profile", ["--validate", "-3"], "argument --validate: -3 is out of range"),
    ("regnas-profile", ["--setting", "N=0"], "nasbench201 setting N=0 is out of range"),
    ("regnas-lut", ["fit", "--measured", "m.csv", "--column", "c", "--train", "10", "--image-size", "6"],
     "image size 6 does not fit nasbench201"),
    ("regnas-lut", ["fit", "--measured", "m.csv", "--column", "c", "--train", "10", "--batch", "0"],
     "argument --batch: 0 is out of range"),
    ("regnas-lut", ["fit", "--measured", "m.csv", "--column", "c", "--train", "10", "--schemes", "cells,nope"],
     "unknown key scheme of nasbench201 'nope'"),
    ("regnas-evolve", ["--pick", "reward:nan"], "reward lambda 'nan' is not a finite number"),
    ("regnas-evolve", ["--pick", "pseudo-weights:inf,1,1"], "pseudo-weight 'inf' is not a finite number"),
])
def test_numbers_out_of_range_are_one_line(command, argv, message, tmp_path, capsys):
    err = refused(command, [*argv, "--out", str(tmp_path / "out.json")], capsys)
    assert message in err, err
    assert not (tmp_path / "out.json").exists()


@pytest.mark.parametrize("argv, message", [
    (["--objectives", ","], "--objectives ',' names no objective"),
    (["--members", "2", "--budget", "m1=80kparams", "--budget", "m2=1Mparams", "--objectives", "error,latency"],
     "objective 'latency' needs latency tables: give --platforms"),
    (["--objectives", "error,latency@raspi4", "--platforms", "pixel3,titan_rtx_1"],
     "objective 'latency@raspi4' names platform 'raspi4', which is not among --platforms pixel3, titan_rtx_1"),
    (["--data-path", "/tmp"], "dataset 'default' is embedded in regnas and reads no --data-path (got '/tmp')"),
    (["--sampling", "best"], "unknown sampling 'best'; allowed: feasible, random"),
    (["--duplicates", "arch"], "unknown duplicate key 'arch'; allowed: canonical, functional"),
])
def test_values_that_would_be_ignored_or_fail_after_training_are_refused_first(argv, message, tmp_path, capsys):
    err = refused("regnas-evolve", [*argv, "--out", str(tmp_path / "run"), "--quiet"], capsys)
    assert message in err, err


# ---- config files: every value type-checked against its field -------------------------------------
@pytest.mark.parametrize("text, message", [
    ('nested: "no"', "nested must be true or false, got 'no' (str)"),
    ("archive: 1", "archive must be true or false, got 1 (int)"),
    ("generations: 1.5", "generations must be an integer, got 1.5 (float)"),
    ("generations: true", "generations must be an integer, got True (bool)"),
    ("objectives: error", "objectives must be a list of strings or null, got 'error' (str)"),
    ("objectives: [error, 3]", "objectives[1] must be a string, got 3 (int)"),
    ("population: six", "population must be an integer, got 'six' (str)"),
    ('seed: "0"', "seed must be an integer, got '0' (str)"),
    ("seed: -1", "seed must be between 0 and 2**63-1, got -1"),
    ("platforms: [pixel3]\nbudgets: {pixel3: abc}", "budget of pixel3 'abc' is not a positive number with a unit"),
    ("platforms: [pixel3]\nbudgets: {pixel3: 12}", "budgets['pixel3'] must be a string, got 12 (int)"),
    ("supernet_settings: {C: true}", "supernet_settings['C'] must be an integer, got True (bool)"),
    ("supernet_settings: [8, 1]", "supernet_settings must be a mapping of strings to integers or null, got [8, 1]"),
    ("supernet_settings: {C: 8, width: 2}", "unknown nasbench201 setting 'width'; allowed: C, N"),
    ("supernet_settings: {N: 0}", "nasbench201 setting N=0 is out of range; allowed: an integer >= 1"),
    ("crossover_prob: 2", "crossover_prob must be between 0 and 1, got 2"),
    ("reward_lambda: .inf", "reward_lambda must be a finite number, got inf"),
    ("data_path: 3", "data_path must be a string or null, got 3 (int)"),
    ("colour: red", "unknown config key 'colour'"),
    ("objectives: []", "objectives is an empty list"),
    ("- seed: 1", "must hold a mapping of settings, not a list"),
    ("seed: [1", "is not valid YAML at line 2"),
])
def test_config_file_values_are_checked_against_their_fields(text, message, tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text(text + "\n")
    err = refused("regnas-evolve", ["--config", str(path), "--out", str(tmp_path / "run"), "--quiet"], capsys)
    assert message in err, err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("name, content, message", [
    ("bad.json", b'{"seed": ', "is not valid JSON: Expecting value at line 1"),
    ("bad.json", b'"seed"', "must hold a mapping of settings, not a str"),
    ("bad.yaml", bytes(range(256)) * 4, "is not text (YAML or JSON)"),
    ("folder", None, "is a directory, not a file"),
])
def test_unreadable_config_files_are_one_line(name, content, message, tmp_path, capsys):
    path = tmp_path / name
    if content is None:
        path.mkdir()
    else:
        path.write_bytes(content)
    assert message in refused("regnas-evolve", ["--config", str(path), "--out", str(tmp_path / "run")], capsys)


def test_every_field_of_search_config_is_type_checked_from_its_annotation():
    """The check is derived from the dataclass, so a new field is covered: each field given a value of the
    wrong kind (a list where a scalar belongs, a dict where a list belongs) is refused by its own name."""
    import dataclasses
    import typing

    hints = typing.get_type_hints(SearchConfig)
    for f in dataclasses.fields(SearchConfig):
        wrong = ["x"] if "dict[" in str(hints[f.name]) else {"x": 1}  # a list where a mapping belongs
        with pytest.raises(ConfigError, match=rf"^{f.name} must be "):
            SearchConfig(**{f.name: wrong})


# ---- flags that conflict or that a resumed run cannot honour ----------------------------------------
@pytest.mark.parametrize("flags, named", [
    (["--seed", "3"], "--seed"),
    (["--objectives", "error,nfr"], "--objectives"),
    (["--population", "30"], "--population"),
    (["--out", "elsewhere"], "--out"),
    (["--no-nesting"], "--no-nesting"),
    (["--budget", "pixel3=12ms"], "--budget"),
    (["--config", "x.yaml"], "--config"),
])
def test_resume_refuses_every_flag_but_generations_quiet_and_workers(flags, named, tmp_path, capsys):
    err = refused("regnas-evolve", ["--resume", str(tmp_path), *flags, "--generations", "5", "--quiet",
                                    "--workers", "1"], capsys)
    assert f"{named} cannot be given with --resume" in err, err


def test_resume_checks_raised_generations_against_the_bound(tmp_path, capsys):
    from evolution.checkpoint import write_search_checkpoint

    write_search_checkpoint(tmp_path, {"format": "regnas-search/1", "config": SearchConfig().to_dict(), "generation": 1,
                                       "algorithm": None, "history": [], "supernet_checksum": ""})
    err = refused("regnas-evolve", ["--resume", str(tmp_path), "--generations", str(10**9)], capsys)
    assert f"generations must be between 1 and 100,000, got {10**9}" in err


@pytest.mark.parametrize("flags", [["--setting", "C=8", "--setting", "N=2"], ["--train-epochs", "3"]])
def test_quick_supernet_flags_conflict_with_a_given_checkpoint(flags, tmp_path, capsys):
    ckpt = tmp_path / "s.pt"
    ckpt.write_bytes(b"x")
    err = refused("regnas-evolve", ["--supernet", str(ckpt), *flags, "--out", str(tmp_path / "run")], capsys)
    assert flags[0] in err and "--supernet" in err and "drop" in err
    config = tmp_path / "c.yaml"
    config.write_text(f"supernet: {ckpt}\n")
    err = refused("regnas-evolve", ["--config", str(config), *flags, "--out", str(tmp_path / "run")], capsys)
    assert flags[0] in err and str(ckpt) in err


# ---- files: outputs that cannot be written, inputs of the wrong kind ------------------------------
def _out_cases(tmp: Path) -> list[tuple[str, list[str], str, str]]:
    a_file = tmp / "file.txt"
    a_file.write_text("x")
    fit = ["fit", "--measured", "m.csv", "--column", "c", "--train", "10", "--out"]
    return [
        ("regnas-evolve", ["--out"], str(a_file), "is an existing file, not a folder"),
        ("regnas-evolve", ["--out"], str(a_file / "run"), "is a file, not a folder"),
        ("regnas-train", ["--out"], str(tmp), "is a folder; give a file path"),
        ("regnas-train", ["--out"], str(a_file / "s.pt"), "is a file, not a folder"),
        ("regnas-profile", ["--out"], str(tmp), "is a folder; give a file path"),
        ("regnas-profile", ["--out"], str(a_file / "t.json"), "is a file, not a folder"),
        ("regnas-lut", fit, str(tmp), "is a folder; give a file path"),
        ("regnas-lut", fit, str(a_file / "deep" / "t.json"), "is a file, not a folder"),
    ]


@pytest.mark.parametrize("case", range(8))
def test_outputs_that_cannot_be_created_are_refused_before_work(case, tmp_path, capsys):
    command, argv, out, message = _out_cases(tmp_path)[case]
    err = refused(command, [*argv, out], capsys)
    assert message in err and repr(out) in err, err


@pytest.mark.parametrize("command, argv", [("regnas-evolve", ["--quiet"]), ("regnas-train", []), ("regnas-profile", [])])
def test_an_unwritable_output_location_is_refused(command, argv, capsys):
    target = Path("/sys/regnas-test/out.json")  # sysfs takes no new files, even from root
    err = refused(command, [*argv, "--out", str(target)], capsys)
    assert "cannot be written" in err and repr(str(target)) in err, err


def test_entry_point_turns_os_errors_on_user_paths_into_one_line(capsys):
    @entry_point("regnas-x")
    def read_only(argv=None):
        raise OSError(errno.EROFS, "Read-only file system", "/mnt/ro/out.json")

    assert read_only([]) == 2
    assert capsys.readouterr().err == "regnas-x: error: '/mnt/ro/out.json': Read-only file system\n"

    @entry_point("regnas-x")
    def a_bug(argv=None):  # an OSError that names no path is not about user input: it keeps its traceback
        raise OSError(errno.EIO, "Input/output error")

    with pytest.raises(OSError):
        a_bug([])


@pytest.mark.parametrize("argv, message", [
    (["--seeds", f"0,{2**63}"], f"--seeds '0,{2**63}': seed {2**63} is above 2**63-1"),
    (["--out", "FILE"], "--out 'FILE' is an existing file, not a folder"),
    (["--supernet", "DIR"], "supernet checkpoint 'DIR' is a folder, not a file"),
])
def test_bench_checks_seeds_and_paths_before_work(argv, message, tmp_path, capsys):
    fill = {"FILE": str(tmp_path / "f.txt"), "DIR": str(tmp_path)}
    (tmp_path / "f.txt").write_text("x")
    argv = [fill.get(a, a) for a in argv]
    err = refused("regnas-bench", ["headline", "--data-path", str(tmp_path), "--out", str(tmp_path / "b"), *argv], capsys)
    assert re.sub("FILE|DIR", lambda m: fill[m.group()], message) in err, err


def test_supernet_that_is_a_folder_is_named_as_such(tmp_path, capsys):
    err = refused("regnas-evolve", ["--supernet", str(tmp_path), "--out", str(tmp_path / "run")], capsys)
    assert f"supernet checkpoint {str(tmp_path)!r} is a folder, not a file" in err


@pytest.mark.parametrize("kind", ["binary", "folder"])
def test_lut_measurements_that_are_not_csv_text(kind, tmp_path, capsys):
    path = tmp_path / "m.csv"
    path.mkdir() if kind == "folder" else path.write_bytes(bytes(range(256)) * 8)
    for argv in (["fit", "--measured", str(path), "--column", "c", "--train", "10", "--out", str(tmp_path / "t.json")],
                 ["validate", "--table", "pixel3", "--measured", str(path), "--column", "c"]):
        err = refused("regnas-lut", argv, capsys)
        assert repr(str(path)) in err and ("is a folder" if kind == "folder" else "is not a CSV text file") in err


@pytest.mark.parametrize("make, argv, message", [
    ("file", ["RUN", "--out", "OUT"], "--out 'OUT' is an existing file, not a folder"),
    ("file", ["--compare", "RUN", "RUN", "--out", "OUT/x"], "--out 'OUT/x' cannot be created: 'OUT' is a file"),
    ("file", ["OUT"], "figures folder 'OUT/figures' cannot be created: 'OUT' is a file"),
    ("binary history", ["RUN"], "'RUN/history.jsonl' is not text; is it a regnas history?"),
])
def test_plot_outputs_and_damaged_runs_are_one_line(make, argv, message, tmp_path, capsys):
    run, out = tmp_path / "run", tmp_path / "out"
    run.mkdir()
    out.write_text("x")
    if make == "binary history":
        (run / "history.jsonl").write_bytes(bytes(range(256)) * 4)
    fill = {"RUN": str(run), "OUT": str(out)}
    err = refused("regnas-plot", [re.sub("RUN|OUT", lambda m: fill[m.group()], a) for a in argv], capsys)
    assert re.sub("RUN|OUT", lambda m: fill[m.group()], message) in err, err


# ---- data: checked where the arrays come together (split_data), so every reader is covered -------
def _images(n: int, size: int = 8, channels: int = 3) -> np.ndarray:
    return np.random.default_rng(n).integers(0, 256, (n, size, size, channels), dtype=np.uint8)


def _labels(n: int, classes: int = 3) -> np.ndarray:
    return np.arange(n) % classes


def _npz_cases() -> dict[str, tuple[dict, str]]:
    good = dict(x_train=_images(30), y_train=_labels(30), x_test=_images(12), y_test=_labels(12))
    return {
        "negative label": ({**good, "y_train": np.r_[_labels(29), -1]}, "training label -1 is out of range; allowed: 0..2"),
        "label gap (1,010 classes)": ({**good, "y_test": np.r_[_labels(11), 1009]},
                                       "labels run up to 1009 but no image has label 3"),
        "float labels": ({**good, "y_train": _labels(30).astype(np.float32)}, "training labels must be a 1-D integer array, got float32"),
        "x/y lengths": ({**good, "y_train": _labels(29)}, "training part has 30 images but 29 labels"),
        "train/test sizes": ({**good, "x_test": _images(12, size=12)}, "training images are (3, 8, 8) (C, H, W) but test images (3, 12, 12)"),
        "empty test set": ({**good, "x_test": _images(0), "y_test": _labels(0)}, "test part has 0 images; at least 2"),
        "not square": ({**good, "x_train": _images(30)[:, :, :6], "x_test": _images(12)[:, :, :6]},
                       "images must be square"),
        "float images": ({**good, "x_train": _images(30).astype(np.float64)}, "images must be uint8"),
    }


@pytest.mark.parametrize("case", list(_npz_cases()))
def test_bad_arrays_are_refused_with_the_bad_value(case, tmp_path, capsys):
    arrays, message = _npz_cases()[case]
    path = tmp_path / "data.npz"
    np.savez(path, **arrays)
    err = refused("regnas-train", ["--dataset", "npz", "--data-path", str(path), "--out", str(tmp_path / "s.pt"),
                                   "--calibration-size", "3"], capsys)
    assert message in err, err
    assert not (tmp_path / "s.pt").exists()


def test_images_too_small_for_the_network_are_refused_before_training(tmp_path, capsys):
    path = tmp_path / "tiny.npz"
    np.savez(path, x_train=_images(30, size=2), y_train=_labels(30), x_test=_images(12, size=2), y_test=_labels(12))
    err = refused("regnas-train", ["--dataset", "npz", "--data-path", str(path), "--out", str(tmp_path / "s.pt"),
                                   "--calibration-size", "3"], capsys)
    assert "image size 2 does not fit nasbench201 networks" in err


def test_check_arrays_is_what_every_reader_passes_through():
    from regnas.data import split_data

    with pytest.raises(DataError, match="test label 10 is out of range; allowed: 0..9"):
        split_data("mine", _images(30).transpose(0, 3, 1, 2), _labels(30), _images(12).transpose(0, 3, 1, 2),
                   np.r_[_labels(11), 10], tuple("abcdefghij"), source="", seed=0, calibration_size=3,
                   validation_size=None, test_size=None)


@pytest.mark.parametrize("dataset, damage", [("npz", "truncated"), ("npz", "junk"), ("cifar10", "junk"),
                                             ("cifar10", "truncated")])
def test_damaged_data_files_are_one_line(dataset, damage, tmp_path, capsys):
    path = tmp_path / "data.npz"
    np.savez(path, x_train=_images(30), y_train=_labels(30), x_test=_images(12), y_test=_labels(12))
    if damage == "junk":
        path.write_bytes(bytes(range(256)) * 16)
    else:
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    err = refused("regnas-train", ["--dataset", dataset, "--data-path", str(path), "--out", str(tmp_path / "s.pt")], capsys)
    assert f"cannot read {str(path)!r} as" in err, err


def test_a_truncated_member_inside_a_valid_zip_is_one_line(tmp_path, capsys):
    path = tmp_path / "data.npz"
    np.savez(path, x_train=_images(30), y_train=_labels(30), x_test=_images(12), y_test=_labels(12))
    rebuilt = tmp_path / "rebuilt.npz"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(rebuilt, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            target.writestr(item, data[: len(data) // 2] if item.filename == "x_train.npy" else data)
    err = refused("regnas-train", ["--dataset", "npz", "--data-path", str(rebuilt), "--out", str(tmp_path / "s.pt")], capsys)
    assert f"cannot read {str(rebuilt)!r} as an npz file" in err


# ---- latency tables: validated on load ---------------------------------------------------------------
def _table_cases() -> dict[str, tuple[object, str]]:
    def meta(**changes):
        return lambda t: t["meta"].update(changes)

    return {
        "settings not a mapping": (meta(settings=[16, 5]), "meta.settings must be a mapping"),
        "resolution 0": (meta(resolution_ms=0), "meta.resolution_ms must be > 0, got 0"),
        "resolution negative": (meta(resolution_ms=-0.5), "meta.resolution_ms must be > 0, got -0.5"),
        "resolution not a number": (meta(resolution_ms="fine"), "meta.resolution_ms must be a number, got 'fine'"),
        "floor negative": (meta(floor_ms=-1), "meta.floor_ms must be >= 0, got -1"),
        "batch 0": (meta(batch=0), "meta.batch must be >= 1, got 0"),
        "input shape": (meta(input_shape=[3, 32]), "meta.input_shape must be [channels, height, width]"),
        "empty entries": (lambda t: t.update(entries={}), "entries must be a non-empty mapping"),
        "entry not a number": (lambda t: t["entries"].update({"k": "fast"}), "entry 'k' must be a number"),
        "entry NaN": (lambda t: t["entries"].update({"k": float("nan")}), "entry 'k' must be a number"),
    }


@pytest.mark.parametrize("case", list(_table_cases()))
def test_bad_latency_tables_are_refused_on_load(case, tmp_path, capsys):
    change, message = _table_cases()[case]
    table = json.loads(PIXEL3.read_text())
    change(table)
    path = tmp_path / "t.json"
    path.write_text(json.dumps(table))
    err = refused("regnas-lut", ["validate", "--table", str(path), "--measured", "m.csv", "--column", "c"], capsys)
    assert message in err, err
    err = refused("regnas-evolve", ["--platforms", f"{path},pixel3", "--out", str(tmp_path / "run"), "--quiet"], capsys)
    assert message in err, err


def test_a_binary_latency_table_is_one_line(tmp_path, capsys):
    path = tmp_path / "t.json"
    path.write_bytes(bytes(range(256)) * 4)
    err = refused("regnas-lut", ["validate", "--table", str(path), "--measured", "m.csv", "--column", "c"], capsys)
    assert f"latency table {str(path)!r} is not a JSON text file" in err


# ---- objectives: user modules that fail to import, functions that return no number -----------------
@pytest.mark.parametrize("source, message", [
    ("def fn(family):\n    return (\n", "raised SyntaxError"),
    ("raise RuntimeError('no GPU here')\n", "raised RuntimeError: no GPU here"),
    ("import no_such_dependency_xyz\n", "raised ModuleNotFoundError: No module named 'no_such_dependency_xyz'"),
])
def test_objective_modules_that_fail_on_import(source, message, tmp_path, monkeypatch, capsys):
    (tmp_path / "broken_objective_mod.py").write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("broken_objective_mod", None)
    err = refused("regnas-evolve", ["--objectives", "error,broken_objective_mod:fn", "--out", str(tmp_path / "run")], capsys)
    assert "cannot load objective 'broken_objective_mod:fn'" in err and message in err, err


@pytest.fixture(scope="module")
def tiny_family(tiny_data):
    """A real family view on a tiny untrained supernet (C=4, N=1): objective values need no training."""
    from regnas.evaluate import Evaluator
    from regnas.family import EvaluationContext
    from regnas.model_stats import ModelStats
    from search_spaces import get_space

    space = get_space("nasbench201")
    supernet = space.supernet(C=4, N=1, init_seed=0)
    context = EvaluationContext(space, Evaluator(supernet, tiny_data, batch_size=300), ModelStats(supernet, 32),
                                ["m1", "m2"], [None, None])
    return context.family(space.sample_family(2, np.random.default_rng(0)))


@pytest.mark.parametrize("returns, message", [
    ("None", "returned None (NoneType)"),
    ("'0.5'", "returned 0.5 (str)"),
    ("[0.1, 0.2]", "returned [0.1, 0.2] (list)"),
    ("True", "returned True (bool)"),
    ("float('nan')", "returned nan"),
    ("float('-inf')", "returned -inf"),
])
def test_objectives_that_return_no_finite_number_are_named(returns, message, tiny_family, tmp_path, monkeypatch):
    from regnas.objectives import get_objective

    (tmp_path / "odd_objective_mod.py").write_text(f"def fn(family):\n    return {returns}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("odd_objective_mod", None)
    with pytest.raises(ConfigError, match="objective 'odd_objective_mod:fn' ") as caught:
        get_objective("odd_objective_mod:fn").values(tiny_family)
    assert message in str(caught.value)


def test_a_function_that_fails_on_a_family_is_named(tiny_family):
    from regnas.objectives import get_objective

    with pytest.raises(ConfigError, match=r"^objective 'os:system' raised TypeError: expected str"):
        get_objective("os:system").values(tiny_family)


# ---- real processes: what a user at a shell sees ------------------------------------------------------
@pytest.mark.parametrize("module, argv, named", [
    ("evolve", ["--seed", "-1", "--quiet"], "-1"),
    ("train", ["--lr", "-1", "--out", "s.pt"], "-1"),
    ("profile", ["--image-size", "2", "--out", "t.json"], "image size 2"),
    ("lut", ["validate", "--table", "/", "--measured", "m.csv", "--column", "c"], "'/'"),
    ("main", ["arch", "|nope~0|"], "'|nope~0|'"),
])
def test_console_scripts_print_one_line_and_exit_2(module, argv, named, tmp_path):
    command = [sys.executable, "-c", f"from regnas.cli.{module} import main; raise SystemExit(main())", *argv]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr and named in done.stderr, done.stderr
    assert list(tmp_path.iterdir()) == []  # nothing written
