"""regnas-profile and regnas-lut: real runs on small inputs, and one-line errors with exit code 2."""
from __future__ import annotations

import json

import pytest

from regnas.cli.lut import main as lut
from regnas.cli.profile import main as profile


def test_lut_fit_writes_a_validated_table(shared_data, tmp_path, capsys):
    out = tmp_path / "t.json"
    code = lut(["fit", "--measured", str(shared_data / "nb201" / "nb201_archs.csv"), "--column", "gold_6226",
                "--train", "300", "--seed", "3", "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 0 and "modelled: scheme 'cells'" in printed and "held-out (15325 rows): MAPE" in printed
    meta = json.loads(out.read_text())["meta"]
    assert meta["device"] == "gold_6226" and meta["validation"]["rows"] == 15325 and meta["validation"]["kendall_tau"] > 0.85
    assert lut(["validate", "--table", str(out), "--measured", str(shared_data / "nb201" / "nb201_archs.csv"), "--column", "gold_6226"]) == 0


def test_lut_scale_recovers_the_factor_of_networks_slower_than_their_ops(tmp_path, capsys, rng):
    """Networks measured at exactly 1.25x (x 1 +- 2% noise) what a profiled table sums: the scaled table prices
    every network, held out or not, at 1.25x the original, to the noise."""
    from regnas.latency import get_platform
    from search_spaces import get_space

    space, profiled = get_space("nats-size"), get_platform("epyc_nats_size")
    archs = [space.to_str(space.sample(rng)) for _ in range(60)]
    measured = profiled.predict_many(archs) * 1.25 * rng.uniform(0.98, 1.02, len(archs))
    csv_path = tmp_path / "m.csv"
    csv_path.write_text("arch_str,latency_ms_box\n" + "".join(f"{a},{m:.6f}\n" for a, m in zip(archs, measured)))
    out = tmp_path / "scaled.json"
    code = lut(["scale", "--table", "epyc_nats_size", "--measured", str(csv_path), "--column", "box", "--train", "40",
                "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 0 and "held-out (20 rows): MAPE" in printed
    meta = json.loads(out.read_text())["meta"]
    assert meta["scale"]["factor"] == pytest.approx(1.25, rel=0.01) and meta["validation"]["mape_percent"] < 2
    scaled = get_platform(str(out))
    others = [space.sample(rng) for _ in range(20)]
    assert scaled.predict_many(others) == pytest.approx(profiled.predict_many(others) * meta["scale"]["factor"], rel=1e-4)
    spread = profiled.meta["spread_ms"]  # the profile's spread, in the unit of the entries, scales with them
    assert meta["spread_ms"] == pytest.approx({k: v * meta["scale"]["factor"] for k, v in spread.items()}, rel=1e-4)


def test_profile_tiny_network_with_validation(tmp_path, capsys):
    out = tmp_path / "here.json"
    code = profile(["--out", str(out), "--setting", "C=4", "--setting", "N=1", "--image-size", "8", "--repeats", "3", "--warmup", "1", "--validate", "3"])
    printed = capsys.readouterr().out
    assert code == 0 and "end-to-end timing of 3 random networks: MAPE" in printed
    meta = json.loads(out.read_text())["meta"]
    assert meta["settings"] == {"C": 4, "N": 1} and meta["threads"] == 1 and meta["validation"]["rows"] == 3


@pytest.mark.parametrize("main, argv, message", [
    (lut, ["fit", "--measured", "/nonexistent.csv", "--column", "pixel3", "--train", "10", "--out", "x.json"], "does not exist"),
    (lut, ["fit", "--measured", "M", "--column", "pixel3", "--out", "x.json"], "the following arguments are required: --train"),
    (lut, ["fit", "--space", "nope", "--measured", "M", "--column", "c", "--train", "10", "--out", "x"], "unknown search space 'nope'"),
    (lut, ["frobnicate"], "invalid choice: 'frobnicate'"),
    (lut, ["scale", "--table", "mars", "--measured", "M", "--column", "c", "--train", "10", "--out", "x.json"], "mars"),
    (profile, ["--out", "x.json", "--repeats", "0"], "argument --repeats: 0 is out of range; allowed: >= 1"),
    (profile, ["--out", "x.json", "--setting", "C=0"], "nasbench201 setting C=0 is out of range; allowed: an integer >= 1"),
    (profile, ["--out", "x.json", "--threads", "two"], "argument --threads: 'two' is not an integer"),
])
def test_bad_input_exits_2_with_one_line(main, argv, message, capsys):
    assert exit_code(main, argv) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_lut_fit_column_and_train_errors(shared_data, tmp_path, capsys):
    csv_path = str(shared_data / "nb201" / "nb201_archs.csv")
    assert lut(["fit", "--measured", csv_path, "--column", "mars", "--train", "100", "--out", str(tmp_path / "x.json")]) == 2
    assert lut(["fit", "--measured", csv_path, "--column", "pixel3", "--train", "99999", "--out", str(tmp_path / "x.json")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "allowed: latency_ms_raspi4" in err[0] and "--train must be between 10 and 15623" in err[1]
    assert not (tmp_path / "x.json").exists()


def exit_code(main, argv: list[str]) -> int:
    """What the console script exits with: argparse usage errors leave through SystemExit."""
    try:
        return main(argv)
    except SystemExit as leaving:
        return int(leaving.code)
