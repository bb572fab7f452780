"""Console entry points: bad input is one line on stderr with exit code 2; Ctrl-C leaves a resumable run."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import yaml

from regnas.cli import evolve, main as regnas_main
from tests.conftest import sigint_as_in_a_terminal, tiny_config


def run_main(entry, argv, capsys) -> tuple[int, str, str]:
    code = entry.main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("argv,message", [
    (["--space", "nb999"], "unknown search space 'nb999'; allowed: "),
    (["--objectives", "error,foo"], "unknown objective 'foo'; allowed: accuracy,"),
    (["--objectives", "nosuchmodule:fn"], "cannot load objective 'nosuchmodule:fn'"),
    (["--algorithm", "cmaes"], "unknown algorithm 'cmaes'; allowed:"),
    (["--pick", "best:zz"], "pick rule 'best:zz' names no objective column"),
    (["--dataset", "cifar10"], "dataset 'cifar10' needs --data-path"),
    (["--dataset", "cifar10", "--data-path", "/no/such/dir"], "data path '/no/such/dir' does not exist"),
    (["--supernet", "/no/such.pt"], "supernet checkpoint '/no/such.pt' does not exist"),
    (["--generations", "0"], "generations must be between 1 and 100,000, got 0"),
    (["--budget", "m1=12ms"], "budget m1=12ms is a latency, but member m1 has no platform"),
    (["--platforms", "pixel3,titan_rtx_1", "--budget", "m1=12ms"], "budget for 'm1', which is not a member; members: pixel3"),
    (["--platforms", "a,b", "--budget", "a=fast"], "budget of a 'fast' is not a positive number with a unit"),
    (["--budget", "pixel3=infms"], "budget of pixel3 'infms' is not a positive number with a unit"),
    (["--budget", "pixel3=nanms"], "budget of pixel3 'nanms' is not a positive number with a unit"),
    (["--budget", "pixel3=0ms"], "budget of pixel3 '0ms' is not a positive number with a unit"),
    (["--budget", "pixel3"], "budget 'pixel3' is not MEMBER=LIMIT"),
    (["--budget", "pixel3=8ms", "--budget", "pixel3=9ms"], "--budget gives member 'pixel3' two limits"),
    (["--platforms", ","], "--platforms ',' names an empty platform"),
    (["--platforms", "raspi4,pixel3"], "member raspi4 has no cost limit"),
    (["--platforms", "pixel3,raspi4", "--budget", "pixel3=10ms", "--budget", "raspi4=10ms"],
     "members are ordered small to large by their limits, but pixel3"),
    (["--members", "3"], "member m1 has no cost limit"),
    (["--members", "2", "--budget", "m1=1Mparams", "--budget", "m2=1Mflops"], "are of different kinds and cannot be ordered"),
    (["--population", "many"], "argument --population: invalid int value: 'many'"),
    (["--resume", "/no/run"], "--out cannot be given with --resume"),
    (["--flip-reduce", "mean"], "unknown flip reduction 'mean'; allowed: sum, max"),
    (["--algorithm", "ga"], "algorithm 'ga' optimises one objective, got 3 columns"),
])
def test_bad_evolve_input_is_one_line_with_exit_code_2(argv, message, capsys, tmp_path):
    code, _, err = run_main(evolve, [*argv, "--out", str(tmp_path / "run"), "--quiet"], capsys)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("regnas-evolve: error: ") and message in err, err
    assert not (tmp_path / "run").exists()  # nothing half-written for a run that never started


def test_a_checkpoint_of_another_space_is_refused(tmp_path, capsys, tiny_supernet):
    import torch

    from regnas.supernet import save_checkpoint

    path = save_checkpoint(tmp_path / "other.pt", tiny_supernet)
    saved = torch.load(path, weights_only=False)
    saved["space"] = "mobilenetv3"
    torch.save(saved, path)
    code, _, err = run_main(evolve, ["--supernet", str(path), "--out", str(tmp_path / "r"), "--quiet"], capsys)
    assert code == 2 and "holds a 'mobilenetv3' supernet, not 'nasbench201'" in err


def test_regnas_lists_and_parses(capsys):
    code, out, _ = run_main(regnas_main, ["spaces"], capsys)
    assert code == 0 and "\nnasbench201    6 genes, 15,625 architectures" in "\n" + out
    code, out, _ = run_main(regnas_main, ["objectives"], capsys)
    assert code == 0 and {"error", "nf", "nfr", "rel_nfr", "nfi", "params", "flops", "reward"} <= {l.split()[0] for l in out.splitlines()}
    code, out, _ = run_main(regnas_main, ["algorithms"], capsys)
    assert "nsga2" in out.split()
    code, out, _ = run_main(regnas_main, ["arch", "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|none~2|"], capsys)
    assert "computes as |none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|" in out
    code, _, err = run_main(regnas_main, ["arch", "|nor_conv_3x3~0|+|bogus~0|"], capsys)
    assert code == 2 and err.count("\n") == 1 and "malformed nasbench201 architecture" in err


def test_ctrl_c_leaves_a_run_that_resumes(tmp_path, tiny_supernet, regnas_cache):
    """A real SIGINT to a real regnas-evolve process, then --resume to the end."""
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(tiny_config(generations=40).to_dict()))
    run_dir = tmp_path / "run"
    command = [sys.executable, "-c", "from regnas.cli.evolve import main; raise SystemExit(main())",
               "--config", str(config), "--out", str(run_dir)]
    env = {**os.environ, "REGNAS_CACHE": str(regnas_cache), "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=sigint_as_in_a_terminal)
    history = run_dir / "history.jsonl"
    deadline = time.monotonic() + 300
    while not (history.exists() and history.read_text().count("\n") >= 1):
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=300)
    assert process.returncode == 130, err
    assert "Traceback" not in err and f"regnas-evolve --resume {run_dir}" in err
    done = history.read_text().count("\n")
    assert 1 <= done < 40 and not (run_dir / "result.json").exists()
    resumed = subprocess.run([*command[:3], "--resume", str(run_dir), "--generations", str(done + 1), "--quiet"],
                             env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert history.read_text().count("\n") == done + 1
    assert json.loads((run_dir / "result.json").read_text())["generations"] == done + 1
