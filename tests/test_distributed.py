"""Data-parallel supernet training over 2 gloo processes on the CPU: identical ranks, falling loss, exact resume."""
from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from regnas.data import load_data
from regnas.supernet import TrainConfig, read_checkpoint, train_supernet
from search_spaces import get_space

from .conftest import TINY

pytestmark = pytest.mark.slow
RANKS = 2


class Stop(Exception):
    """Raised by every rank after the epoch a test interrupts at."""


def _rank(rank: int, store: str, out: str, config: TrainConfig, stop_after: int | None, amp: bool) -> None:
    """One training process (spawned: a fresh interpreter), writing its final weights to ``out/rank{r}.pt``."""
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=RANKS)
    try:
        data = load_data("default", seed=0, calibration_size=64, validation_size=64, test_size=64)
        data = dataclasses.replace(data, train=data.train.subset(np.arange(384)))
        supernet = get_space("nasbench201").supernet(**TINY, num_classes=10, in_channels=3, init_seed=0)

        def interrupt(line: dict) -> None:
            if stop_after is not None and line["epoch"] == stop_after:
                raise Stop

        try:
            train_supernet(supernet, data, config, checkpoint=Path(out) / "supernet.pt", progress=False,
                           on_epoch_end=interrupt, amp=amp)
        except Stop:
            return
        torch.save(supernet.state_dict(), Path(out) / f"rank{rank}.pt")
    finally:
        dist.destroy_process_group()


def train_on_two_ranks(out: Path, config: TrainConfig, stop_after: int | None = None, amp: bool = False) -> list[dict]:
    """Spawn the ranks; return each rank's final state dict (none when stopped)."""
    out.mkdir(parents=True, exist_ok=True)
    store = out / f"store-{stop_after}"
    mp.spawn(_rank, args=(str(store), str(out), config, stop_after, amp), nprocs=RANKS, join=True)
    files = [out / f"rank{r}.pt" for r in range(RANKS)]
    return [torch.load(f, weights_only=True) for f in files if f.exists()]


CONFIG = TrainConfig(epochs=3, batch_size=64, learning_rate=0.05, seed=3)


@pytest.fixture(scope="module")
def straight(tmp_path_factory) -> tuple[Path, list[dict]]:
    out = tmp_path_factory.mktemp("ddp-straight")
    return out, train_on_two_ranks(out, CONFIG)


def test_ranks_hold_identical_weights_and_the_loss_falls(straight):
    out, states = straight
    assert len(states) == RANKS
    for key in states[0]:
        assert torch.equal(states[0][key], states[1][key]), key
    initial = get_space("nasbench201").supernet(**TINY, num_classes=10, in_channels=3, init_seed=0).state_dict()
    changed = [k for k in initial if initial[k].is_floating_point() and not torch.equal(initial[k], states[0][k])]
    assert len(changed) > len(initial) // 2  # trained, not just synchronised
    saved = read_checkpoint(out / "supernet.pt")
    losses = [line["loss"] for line in saved["log"]]
    assert saved["world_size"] == RANKS and saved["epoch"] == CONFIG.epochs
    assert losses[-1] < losses[0]
    # rank 0 wrote exactly the weights every rank holds
    for key in states[0]:
        assert torch.equal(saved["state_dict"][key], states[0][key]), key


def test_interrupted_distributed_training_resumes_to_identical_weights(straight, tmp_path):
    _, expected = straight
    assert train_on_two_ranks(tmp_path, CONFIG, stop_after=1) == []
    assert read_checkpoint(tmp_path / "supernet.pt")["epoch"] == 1
    resumed = train_on_two_ranks(tmp_path, CONFIG)
    for key in expected[0]:
        assert torch.equal(resumed[0][key], expected[0][key]), key
        assert torch.equal(resumed[1][key], expected[0][key]), key


def test_amp_over_two_ranks_keeps_them_identical_and_the_loss_falls(tmp_path):
    """With --amp each rank scales its loss and unscales the all-reduced gradients; the ranks skip or take
    every step together (the same reduced gradients overflow on both), so their weights and loss scales agree."""
    config = dataclasses.replace(CONFIG, epochs=2)
    states = train_on_two_ranks(tmp_path, config, amp=True)
    assert len(states) == RANKS
    for key in states[0]:
        assert torch.equal(states[0][key], states[1][key]), key
    saved = read_checkpoint(tmp_path / "supernet.pt")
    assert saved["amp"] is True and saved["world_size"] == RANKS and saved["scaler"]["scale"] > 1
    assert saved["log"][-1]["loss"] < saved["log"][0]["loss"]
    for key in states[0]:
        assert torch.equal(saved["state_dict"][key], states[0][key]), key


def test_a_run_of_two_ranks_goes_on_in_one_process_and_says_so(tmp_path):
    """Another number of processes shards every later batch otherwise than the run it continues: allowed
    (a job restarted on fewer GPUs), told, and recorded in each epoch's log line."""
    from regnas.errors import ResumeWarning

    assert train_on_two_ranks(tmp_path, CONFIG, stop_after=1) == []
    data = load_data("default", seed=0, calibration_size=64, validation_size=64, test_size=64)
    data = dataclasses.replace(data, train=data.train.subset(np.arange(384)))
    supernet = get_space("nasbench201").supernet(**TINY, num_classes=10, in_channels=3, init_seed=0)
    with pytest.warns(ResumeWarning, match="was trained without --amp in 2 processes; it goes on without --amp in 1 process"):
        train_supernet(supernet, data, CONFIG, checkpoint=tmp_path / "supernet.pt", progress=False)
    saved = read_checkpoint(tmp_path / "supernet.pt")
    assert saved["epoch"] == CONFIG.epochs and saved["world_size"] == 1
    assert [line["world_size"] for line in saved["log"]] == [2, 1, 1]


def test_regnas_train_refuses_a_resume_in_one_line_before_the_ranks_start(tmp_path, capsys):
    """Checked in the one process that launches the ranks: one line, not one from each rank."""
    from regnas.cli.train import main

    flags = ["--setting", "C=4", "--setting", "N=1", "--batch-size", "256", "--quiet", "--out", str(tmp_path / "one.pt")]
    assert main([*flags, "--epochs", "1"]) == 0
    capsys.readouterr()
    assert main(["--nproc", "2", *flags, "--epochs", "2"]) == 2
    err = capsys.readouterr().err.strip()
    assert "was trained with {'epochs': 1" in err and "use another --out or the same settings" in err
    assert len(err.splitlines()) == 1


def test_regnas_train_nproc_runs_torchrun(tmp_path):
    out = tmp_path / "supernet.pt"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-m", "regnas.cli.train", "--nproc", "2", "--setting", "C=4", "--setting",
                           "N=1", "--epochs", "1", "--batch-size", "256", "--quiet", "--out", str(out)],
                          capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    saved = read_checkpoint(out)
    assert saved["world_size"] == 2 and saved["epoch"] == 1
    assert "2 processes (gloo)" in done.stderr


@pytest.mark.parametrize("flags, message", [
    (["--nproc", "2", "--batch-size", "127"], "batch size 127 is not divisible by the 2 training processes"),
    (["--device", "gpu"], "device 'gpu' is not one of auto, cpu, cuda or cuda:N"),
])
def test_bad_device_flags_are_one_line_errors(tmp_path, capsys, flags, message):
    from regnas.cli.train import main

    assert main(["--out", str(tmp_path / "s.pt"), "--setting", "C=4", *flags]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


@pytest.fixture(scope="module")
def small_data():
    return load_data("default", seed=0, calibration_size=8, validation_size=8, test_size=8)


@pytest.mark.parametrize("size, batch, ranks", [(384, 64, 2), (385, 64, 2), (100, 30, 3), (7, 4, 4)])
def test_every_rank_draws_the_batches_of_one_process(small_data, size, batch, ranks):
    import math

    from regnas.distributed import World, shard_batches

    data = small_data
    split = data.train.subset(np.arange(size))
    for rank in range(ranks):
        world = World(rank=rank, size=ranks, local_rank=rank, backend="gloo")
        drawn = list(shard_batches(data, split, batch, world, seed=0, epoch=1))
        assert len(drawn) == math.ceil(size / batch)  # the schedule's steps per epoch, as in one process
        assert sum(len(labels) for _, labels in drawn) == -(-size // ranks)  # the padded shard, counted here


def test_a_malformed_local_rank_is_named(monkeypatch):
    from regnas.distributed import local_rank
    from regnas.errors import ConfigError

    monkeypatch.setenv("LOCAL_RANK", "gpu0")
    with pytest.raises(ConfigError, match="LOCAL_RANK='gpu0'"):
        local_rank()
