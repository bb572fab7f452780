"""Run folders: one search at a time, no silent overwrite, no orphaned workers after kill -9, a clean Ctrl-C."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from evolution.run_folder import RunLock, run_files
from evolution.search import search
from regnas.cli import evolve
from regnas.errors import ConfigError, RunFolderError
from regnas.eval_workers import _hold_ctrl_c_while_spawning
from tests.conftest import sigint_as_in_a_terminal, tiny_config


def children(pid: int) -> dict[int, str]:
    """Live (not zombie) direct children of ``pid`` with their command lines, read from /proc."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and process_state(int(entry.name)) not in (None, "Z"):
            try:
                stat = (entry / "stat").read_text()
                if int(stat.rpartition(")")[2].split()[1]) == pid:
                    found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except (OSError, ValueError):
                continue
    return found


def process_state(pid: int) -> str | None:
    """``R``, ``S``, ``Z`` (zombie: exited, not yet reaped) ... or None when the process is gone."""
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return None


def start_search(tmp_path: Path, regnas_cache: Path, supernet: str, generations: int) -> tuple[subprocess.Popen, Path, Path]:
    config = tmp_path / "config.json"
    config.write_text(json.dumps(tiny_config(generations=generations, supernet=supernet).to_dict()))
    run_dir = tmp_path / "run"
    command = [sys.executable, "-c", "from regnas.cli.evolve import main; raise SystemExit(main())", "--config", str(config), "--out", str(run_dir), "--workers", "2"]
    env = {**os.environ, "REGNAS_CACHE": str(regnas_cache), "OMP_NUM_THREADS": "1"}
    # Output goes to files: an orphaned worker holding a pipe would block reading it.
    with open(tmp_path / "stdout", "w") as out, open(tmp_path / "stderr", "w") as err:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=err, start_new_session=True,
                                   preexec_fn=sigint_as_in_a_terminal)
    return process, run_dir, config


def wait_for_workers(process: subprocess.Popen, n: int) -> dict[int, str]:
    """The spawned children of ``process`` once ``n`` evaluation workers are among them."""
    deadline = time.monotonic() + 300
    while True:
        spawned = {pid: cmd for pid, cmd in children(process.pid).items() if "multiprocessing" in cmd}
        workers = [cmd for cmd in spawned.values() if "spawn_main" in cmd]
        if len(workers) >= n:
            return spawned
        assert process.poll() is None and time.monotonic() < deadline, f"search ended early ({process.returncode})"
        time.sleep(0.05)


def kill_9_and_wait_for(process: subprocess.Popen, spawned: dict[int, str]) -> None:
    """kill -9 ``process``; fail unless every process of ``spawned`` (its children) is gone 10 s later."""
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=60)
    deadline = time.monotonic() + 10
    while any(process_state(pid) not in (None, "Z") for pid in spawned):
        left = {pid: cmd for pid, cmd in spawned.items() if process_state(pid) not in (None, "Z")}
        assert time.monotonic() < deadline, f"still running 10 s after kill -9 of their parent: {left}"
        time.sleep(0.1)


def kill_what_is_left(pids: list[int]) -> None:
    """Whatever a test started and is still there."""
    for pid in pids:
        if process_state(pid) not in (None, "Z"):
            os.kill(pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def supernet_path(tiny_run) -> str:
    return json.loads((tiny_run / "result.json").read_text())["supernet"]["path"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_kill_9_leaves_no_worker_and_a_second_search_is_refused_while_one_runs(tmp_path, regnas_cache, supernet_path, capsys):
    process, run_dir, config = start_search(tmp_path, regnas_cache, supernet_path, generations=500)
    spawned: dict[int, str] = {}
    try:
        spawned = wait_for_workers(process, 2)
        # The folder is locked: a second search on it is refused with one line, exit 2.
        code = evolve.main(["--config", str(config), "--out", str(run_dir), "--quiet"])
        err = capsys.readouterr().err
        assert code == 2 and err.count("\n") == 1, err
        assert f"run folder '{run_dir}' is in use by another search (process {process.pid})" in err
        # Workers and multiprocessing's resource tracker end with their parent.
        kill_9_and_wait_for(process, spawned)
    finally:
        kill_what_is_left([process.pid, *spawned])
    with RunLock(run_dir):  # the kernel released the dead search's lock
        pass


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_ctrl_c_before_the_first_generation_prints_no_traceback_and_no_resume_advice(tmp_path, regnas_cache, supernet_path):
    process, run_dir, _ = start_search(tmp_path, regnas_cache, supernet_path, generations=3)
    try:
        wait_for_workers(process, 2)  # workers are still starting: no generation can be done yet
        os.killpg(process.pid, signal.SIGINT)  # as a terminal does: the whole process group
        process.wait(timeout=300)
    finally:
        if process.poll() is None:
            process.kill()
    err = (tmp_path / "stderr").read_text()
    assert process.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert "--resume" not in err and "nothing to resume" in err, err
    assert run_files(run_dir) == []  # nothing that would stop the search from starting again


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_ctrl_c_while_workers_are_spawned_waits_and_is_raised_after_not_lost():
    """The race of the test above: a Ctrl-C that lands while the pool spawns its workers used to be ignored,
    and the search then ran to its end. It must wait, reach the spawned process blocked, and be raised."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)  # CI may start pytest with it ignored
    reached_the_end = False
    try:
        with pytest.raises(KeyboardInterrupt):
            with _hold_ctrl_c_while_spawning():
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(0.05)  # a Ctrl-C handled at once would raise here
                status = subprocess.run([sys.executable, "-c", "print(open('/proc/self/status').read())"],
                                        capture_output=True, text=True, check=True).stdout
                reached_the_end = True
    finally:
        signal.signal(signal.SIGINT, previous)
    assert reached_the_end
    blocked = int(next(line for line in status.splitlines() if line.startswith("SigBlk:")).split()[1], 16)
    assert blocked & (1 << (signal.SIGINT - 1)), status  # a child started in the block holds SIGINT too


@pytest.mark.skipif(not hasattr(signal, "pthread_sigmask"), reason="no signal masks")
def test_a_ctrl_c_handler_installed_by_c_code_is_left_alone(monkeypatch):
    """Where SIGINT's handler came from C code (an embedding program), Python reports it as None and could not
    put it back: the guard then neither replaces the handler nor blocks the signal."""
    handler = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        monkeypatch.setattr(signal, "getsignal", lambda signum: None)
        with _hold_ctrl_c_while_spawning():
            in_block = signal.signal(signal.SIGINT, signal.default_int_handler)
            mask = signal.pthread_sigmask(signal.SIG_BLOCK, [])
    finally:
        signal.signal(signal.SIGINT, handler)
    assert in_block is signal.default_int_handler
    assert signal.SIGINT not in mask


def test_a_locked_run_folder_is_refused(tmp_path):
    with RunLock(tmp_path / "run"):
        with pytest.raises(RunFolderError, match=f"is in use by another search \\(process {os.getpid()}\\)"):
            search(tiny_config(), tmp_path / "run", progress=False)


def test_a_folder_with_another_runs_files_is_refused_unless_overwrite(tmp_path, tiny_run, capsys):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "result.json").write_text((tiny_run / "result.json").read_text())
    (run_dir / "predictions-0123456789abcdef01234567-validation.npz").write_bytes(b"stale")
    (run_dir / "notes.txt").write_text("mine")
    config = tmp_path / "config.json"
    config.write_text(json.dumps(tiny_config(generations=1).to_dict()))
    code = evolve.main(["--config", str(config), "--out", str(run_dir), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert f"run folder '{run_dir}' already holds run files (result.json, predictions-" in err and "--overwrite" in err
    with pytest.raises(RunFolderError, match="already holds run files"):
        search(tiny_config(generations=1), run_dir, progress=False)
    assert (run_dir / "result.json").read_text() == (tiny_run / "result.json").read_text()  # untouched
    result = search(tiny_config(generations=1), run_dir, overwrite=True, progress=False)
    assert json.loads((run_dir / "result.json").read_text())["generations"] == 1 == result.info["generations"]
    assert not (run_dir / "predictions-0123456789abcdef01234567-validation.npz").exists()
    assert (run_dir / "notes.txt").read_text() == "mine"  # only run files are replaced
    with pytest.raises(RunFolderError, match="already holds a search; resume it with --resume"):
        search(tiny_config(generations=1), run_dir, progress=False)
    with pytest.raises(ConfigError, match="give one of them"):
        search(tiny_config(generations=1), run_dir, resume=True, overwrite=True, progress=False)
