"""regnas-export on a real finished run: every format loads in its own runtime and predicts as the member the search
evaluated (recomputed here independently), the cards say what the run reported, bad input is one line and exit 2."""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from regnas.cli import export as export_cli
from regnas.export import ATOL, RTOL, export_family

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def result(tiny_run) -> dict:
    return json.loads((tiny_run / "result.json").read_text())


@pytest.fixture(scope="module")
def exported(tiny_run, tmp_path_factory):
    """Every member of the tiny run in every format (the default), verified."""
    return export_family(tiny_run, tmp_path_factory.mktemp("export") / "family")


@pytest.fixture(scope="module")
def expected(result, tiny_supernet, tiny_data):
    """Logits of each member recomputed here, without regnas's export or evaluation code: cut from the supernet,
    every BatchNorm's statistics reset and taken from all calibration images in one batch (momentum None: exactly
    that batch's mean and variance along the member's path), then an eval-mode forward of the test images."""
    images = tiny_data.normalize(tiny_data.test.images)
    calibration = tiny_data.normalize(tiny_data.calibration.images)
    logits = {}
    for member in result["family"]:
        model = tiny_supernet.extract(member["arch"])
        norms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
        for norm in norms:
            norm.reset_running_stats()
            norm.momentum = None  # cumulative average: one batch gives exactly that batch's statistics
        model.train()
        with torch.no_grad():
            model(calibration)
            model.eval()
            logits[member["name"]] = model(images).numpy()
    return logits


def onnx_logits(path: Path, images: torch.Tensor) -> np.ndarray:
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(["logits"], {"images": images.numpy()})[0]


def test_onnx_runs_in_onnx_runtime_and_equals_the_independently_recalibrated_member(exported, expected, tiny_data):
    images = tiny_data.normalize(tiny_data.test.images)
    for member in exported.members:
        got = onnx_logits(member.files["onnx"], images)
        np.testing.assert_allclose(got, expected[member.name], atol=ATOL, rtol=RTOL)
        assert (got.argmax(axis=1) == expected[member.name].argmax(axis=1)).all()
        one = onnx_logits(member.files["onnx"], images[:1])  # the batch axis is dynamic, down to one image
        np.testing.assert_allclose(one, expected[member.name][:1], atol=ATOL, rtol=RTOL)


def test_pt2_loads_with_torch_export_and_equals_the_independently_recalibrated_member(exported, expected, tiny_data):
    images = tiny_data.normalize(tiny_data.test.images)
    for member in exported.members:
        program = torch.export.load(member.files["pt2"])
        with torch.no_grad():
            got = program.module()(images).numpy()
        np.testing.assert_allclose(got, expected[member.name], atol=ATOL, rtol=RTOL)
        assert (got.argmax(axis=1) == expected[member.name].argmax(axis=1)).all()


def test_state_dict_loads_weights_only_and_builds_the_member(exported, expected, tiny_data, result):
    from search_spaces import get_space

    images = tiny_data.normalize(tiny_data.test.images)
    for member in exported.members:
        saved = torch.load(member.files["state_dict"], weights_only=True)
        assert saved["arch"] == member.arch and saved["space"] == "nasbench201"
        model = get_space(saved["space"]).supernet(**saved["settings"]).extract(saved["arch"])
        model.load_state_dict(saved["state_dict"])
        with torch.no_grad():
            got = model.eval()(images).numpy()
        np.testing.assert_allclose(got, expected[member.name], atol=ATOL, rtol=RTOL)
        assert saved["meta"]["supernet_checksum"] == result["supernet"]["checksum"]


def test_exported_members_give_the_runs_accuracies_and_negative_flips(exported, tiny_data, result):
    images, labels = tiny_data.normalize(tiny_data.test.images), tiny_data.test.labels.numpy()
    right = {}
    for member in exported.members:
        right[member.name] = onnx_logits(member.files["onnx"], images).argmax(axis=1) == labels
        reported = next(m for m in result["family"] if m["name"] == member.name)
        assert right[member.name].sum() == round(reported["accuracy"] * len(labels))
    assert result["flips"] and result["flips_split"] == "test"
    for flip in result["flips"]:
        assert int((right[flip["old"]] & ~right[flip["new"]]).sum()) == flip["nf"], flip
    verified = {(p.old, p.new, p.format): p.nf for p in exported.verification.pairs}
    assert {(f["old"], f["new"], fmt) for f in result["flips"] for fmt in ("onnx", "pt2", "state_dict")} <= set(verified)


def test_cards_report_the_run_and_the_files(exported, result, tiny_run):
    family = json.loads(exported.family_card.read_text())
    assert [m["arch"] for m in family["members"]] == [m["arch"] for m in result["family"]]
    assert family["supernet"]["checksum"] == result["supernet"]["checksum"]
    assert family["data"]["sizes"] == result["data"]["sizes"]
    assert family["flips"]["pairs"] == result["flips"]
    assert family["verification"]["atol"] == ATOL and family["verification"]["rtol"] == RTOL
    for member, reported in zip(exported.members, result["family"]):
        card = json.loads(member.card.read_text())
        assert card["arch"] == reported["arch"] and card["accuracy"]["test"] == reported["accuracy"]
        assert card["accuracy"]["validation"] == reported["validation_accuracy"]
        for platform in result["platforms"]:
            assert card["latency_ms"][platform]["ms"] == pytest.approx(reported[f"latency@{platform}"])
            assert card["latency_ms"][platform]["searched_on"]
        assert {p["old"] for p in card["flips"]["pairs"]} | {p["new"] for p in card["flips"]["pairs"]} == \
            {m["name"] for m in result["family"]}
        assert card["versions"]["torch"] == torch.__version__.split("+")[0]
        for fmt, entry in card["files"].items():
            path = exported.out / entry["path"]
            assert entry["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest() and path == member.files[fmt]
        assert {c["format"] for c in card["verification"]["formats"]} == {"onnx", "pt2", "state_dict"}
        assert reported["arch"] in member.card_markdown.read_text()
    assert sorted(p.name for p in exported.out.iterdir()) == sorted(["family.json", "family.md", *card_names(result)])


def card_names(result: dict) -> list[str]:
    return [m["name"] for m in result["family"]]


def test_members_and_formats_select_what_is_written(tiny_run, result, tmp_path, capsys):
    name = result["family"][-1]["name"]
    out = tmp_path / "one"
    code = export_cli.main([str(tiny_run), "--members", name, "--format", "state_dict", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["family.json", "family.md", name]
    assert sorted(p.name for p in (out / name).iterdir()) == ["card.json", "card.md", "model.pt"]
    family = json.loads((out / "family.json").read_text())
    assert [m["exported"] for m in family["members"]] == [m["name"] == name for m in result["family"]]
    assert "verified on" in capsys.readouterr().out


def copy_run(tiny_run: Path, to: Path, files=("config.json", "history.jsonl", "result.json")) -> Path:
    to.mkdir()
    for name in files:
        shutil.copy(tiny_run / name, to / name)
    return to


def refused(argv: list[str], capsys) -> str:
    code = export_cli.main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("regnas-export: error: ") and "Traceback" not in err, err
    return err


def test_bad_input_is_one_line_naming_the_value(tiny_run, result, tmp_path, capsys):
    out = tmp_path / "out"
    err = refused([str(tmp_path / "missing"), "--out", str(out)], capsys)
    assert "missing" in err and "does not exist" in err
    unfinished = copy_run(tiny_run, tmp_path / "unfinished", ("config.json", "history.jsonl"))
    assert "no chosen family yet" in refused([str(unfinished), "--out", str(out)], capsys)
    err = refused([str(tiny_run), "--members", "phone", "--out", str(out)], capsys)
    assert "'phone'" in err and all(m["name"] in err for m in result["family"])
    err = refused([str(tiny_run), "--format", "onnx,tflite", "--out", str(out)], capsys)
    assert "'tflite'" in err and "onnx, pt2, state_dict" in err
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    assert "not a regnas export" in refused([str(tiny_run), "--out", str(tmp_path / "busy")], capsys)
    assert not out.exists() and (tmp_path / "busy" / "notes.txt").read_text() == "mine"


def test_a_supernet_other_than_the_runs_is_refused(tiny_run, tiny_supernet, tmp_path, capsys):
    from regnas.supernet import save_checkpoint
    from search_spaces import get_space

    other = get_space("nasbench201").supernet(**tiny_supernet.settings, init_seed=1)  # untrained: another checksum
    save_checkpoint(tmp_path / "other.pt", other)
    err = refused([str(tiny_run), "--supernet", str(tmp_path / "other.pt"), "--out", str(tmp_path / "out")], capsys)
    assert "checksum" in err and other.checksum() in err
    assert not (tmp_path / "out").exists()


def test_a_failed_verification_leaves_nothing_and_keeps_an_earlier_export(tiny_run, tmp_path, capsys):
    run = copy_run(tiny_run, tmp_path / "run")
    out = tmp_path / "out"
    assert export_cli.main([str(run), "--format", "state_dict", "--out", str(out)]) == 0
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    result = json.loads((run / "result.json").read_text())
    result["flips"][0]["nf"] += 1  # a result.json that this supernet and data do not reproduce
    (run / "result.json").write_text(json.dumps(result))
    err = refused([str(run), "--format", "state_dict", "--out", str(out), "--overwrite"], capsys)
    assert "NF" in err and str(result["flips"][0]["nf"]) in err
    assert {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "run"]  # no partial folder left beside it
    fresh = tmp_path / "fresh"
    refused([str(run), "--format", "state_dict", "--out", str(fresh)], capsys)
    assert not fresh.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["out", "run"]


def test_an_earlier_export_is_replaced_only_with_overwrite(tiny_run, tmp_path, capsys):
    out = tmp_path / "out"
    argv = [str(tiny_run), "--format", "state_dict", "--members", "pixel3", "--no-verify", "--out", str(out)]
    assert export_cli.main(argv) == 0
    assert "--overwrite" in refused(argv, capsys)
    assert export_cli.main([*argv, "--overwrite"]) == 0
    assert "not verified" in capsys.readouterr().out
    assert json.loads((out / "family.json").read_text())["verification"] is None


def test_the_console_script_prints_one_line_and_exits_2(tmp_path):
    command = [sys.executable, "-m", "regnas.cli.export", str(tmp_path / "nothing-here")]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert re.fullmatch(r"regnas-export: error: run folder '.*nothing-here' does not exist or is not a folder\n",
                        done.stderr), done.stderr
    assert list(tmp_path.iterdir()) == []
