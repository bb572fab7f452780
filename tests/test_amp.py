"""--amp: float16 autocast with loss scaling, on the CPU (always) and on a GPU (where there is one); its resume."""
from __future__ import annotations

import warnings

import pytest
import torch

from regnas.device import amp_note
from regnas.errors import ResumeWarning
from regnas.supernet import TrainConfig, read_checkpoint, train_supernet
from search_spaces import get_space

SPACE = get_space("nasbench201")
DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU"))]


class Stop(Exception):
    pass


def stop(line):
    raise Stop


def fresh():
    return SPACE.supernet(C=4, N=1)


@pytest.mark.parametrize("device", DEVICES)
def test_amp_trains_in_float16_a_supernet_near_the_float32_one(small_train_data, tmp_path, device):
    """The same seeded run with and without --amp from the same initial weights: the float16 forward changes
    the weights (so autocast is on), but the training moves them as far as float32 does and to nearly the same
    place (so the loss scale is taken out of the gradients before clipping and the step: a scale left in would
    clip them to a 65,536th)."""
    config = TrainConfig(epochs=2, batch_size=64, seed=3)
    runs = {}
    for amp in (False, True):
        log = []
        train_supernet(fresh(), small_train_data, config, checkpoint=tmp_path / f"{amp}.pt", progress=False, device=device,
                       amp=amp, on_epoch_end=log.append)
        runs[amp] = (read_checkpoint(tmp_path / f"{amp}.pt"), log)
    (full, full_log), (mixed, mixed_log) = runs[False], runs[True]
    assert mixed["amp"] is True and mixed["scaler"]["scale"] > 1 and full["scaler"] == {}
    initial = fresh().state_dict()
    weights = [k for k, v in initial.items() if v.is_floating_point() and "running_" not in k]
    assert all(mixed["state_dict"][k].dtype == torch.float32 for k in weights)  # autocast casts the compute only

    def flat(state):
        return torch.cat([state[k].flatten().float() for k in weights])

    start, after_full, after_mixed = flat(initial), flat(full["state_dict"]), flat(mixed["state_dict"])
    assert not torch.equal(after_full, after_mixed)
    moved_full, moved_mixed = float((after_full - start).norm()), float((after_mixed - start).norm())
    assert 0.9 < moved_mixed / moved_full < 1.1
    assert float((after_mixed - after_full).norm()) < 0.1 * moved_full
    assert abs(mixed_log[-1]["loss"] - full_log[-1]["loss"]) < 0.05
    assert mixed_log[-1]["loss"] < mixed_log[0]["loss"]


@pytest.mark.parametrize("device", DEVICES)
def test_amp_training_resumes_from_the_loss_scale_it_reached(small_train_data, tmp_path, device):
    """A stopped AMP run continues from its checkpoint's loss scale, not from a new scaler's 2**16: the scale
    written there (1024, below anything 4 steps of a fresh scaler reach) is where the resumed run starts."""
    config, path = TrainConfig(epochs=2, batch_size=64, seed=1), tmp_path / "amp.pt"
    with pytest.raises(Stop):
        train_supernet(fresh(), small_train_data, config, checkpoint=path, progress=False, device=device, amp=True,
                       on_epoch_end=stop)
    saved = read_checkpoint(path)
    assert saved["amp"] is True and saved["scaler"]["scale"] > 1024
    raw = torch.load(path, weights_only=True)
    raw["scaler"]["scale"] = 1024.0
    torch.save(raw, path)
    train_supernet(fresh(), small_train_data, config, checkpoint=path, progress=False, device=device, amp=True)
    final = read_checkpoint(path)
    assert final["epoch"] == 2 and final["scaler"]["scale"] <= 1024  # 4 steps: no growth (every 2000), halvings only


def test_a_stopped_amp_run_resumes_to_the_weights_of_an_unstopped_one(small_train_data, tmp_path):
    """On the CPU (deterministic kernels) bit for bit: the loss scale, the scaler's growth tracker, the
    generators and the optimiser all come back from the checkpoint."""
    config = TrainConfig(epochs=2, batch_size=64, seed=2)
    train_supernet(fresh(), small_train_data, config, checkpoint=tmp_path / "straight.pt", progress=False, amp=True)
    with pytest.raises(Stop):
        train_supernet(fresh(), small_train_data, config, checkpoint=tmp_path / "resumed.pt", progress=False, amp=True,
                       on_epoch_end=stop)
    train_supernet(fresh(), small_train_data, config, checkpoint=tmp_path / "resumed.pt", progress=False, amp=True)
    straight, resumed = read_checkpoint(tmp_path / "straight.pt"), read_checkpoint(tmp_path / "resumed.pt")
    assert straight["scaler"] == resumed["scaler"]
    for key, value in straight["state_dict"].items():
        assert torch.equal(value, resumed["state_dict"][key]), key


@pytest.mark.parametrize("trained, resumed", [(True, False), (False, True)])
def test_a_resume_that_switches_amp_says_so_and_each_epoch_records_its_precision(small_train_data, tmp_path, trained,
                                                                               resumed):
    """A run may go on in another precision (one that overflows in float16 can go on in float32), but not
    silently: the resumed run starts from another loss scale than the uninterrupted one would, and the
    checkpoint's ``amp`` says only how the last epoch ran."""
    config, path = TrainConfig(epochs=2, batch_size=64, seed=1), tmp_path / "run.pt"
    with pytest.raises(Stop):
        train_supernet(fresh(), small_train_data, config, checkpoint=path, progress=False, amp=trained, on_epoch_end=stop)
    how = {True: "with --amp in 1 process", False: "without --amp in 1 process"}
    with pytest.warns(ResumeWarning, match=f"was trained {how[trained]}; it goes on {how[resumed]}, so its weights"):
        train_supernet(fresh(), small_train_data, config, checkpoint=path, progress=False, amp=resumed)
    saved = read_checkpoint(path)
    assert saved["epoch"] == 2 and saved["amp"] is resumed
    assert [line["amp"] for line in saved["log"]] == [trained, resumed]
    assert bool(saved["scaler"]) is resumed  # a disabled scaler saves nothing


def test_a_resume_in_the_same_precision_says_nothing(small_train_data, tmp_path):
    config, path = TrainConfig(epochs=2, batch_size=64, seed=1), tmp_path / "run.pt"
    with pytest.raises(Stop):
        train_supernet(fresh(), small_train_data, config, checkpoint=path, progress=False, amp=True, on_epoch_end=stop)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResumeWarning)
        train_supernet(fresh(), small_train_data, config, checkpoint=path, progress=False, amp=True)


def test_regnas_train_prints_the_switch_as_one_warning_line(tmp_path, capsys):
    from regnas.cli.train import main

    flags = ["--setting", "C=4", "--setting", "N=1", "--epochs", "1", "--batch-size", "256", "--quiet",
             "--out", str(tmp_path / "s.pt")]
    assert main(flags) == 0
    capsys.readouterr()
    assert main([*flags, "--amp"]) == 0
    warned = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert warned == [f"regnas-train: warning: checkpoint '{tmp_path / 's.pt'}' was trained without --amp in 1 process; "
                      "it goes on with --amp in 1 process, so its weights will differ from those of an uninterrupted "
                      "run (each epoch's log line records how it ran)"]


def test_amp_on_a_cpu_says_it_is_slower_and_on_a_gpu_says_nothing():
    assert "slower than float32 on a CPU" in amp_note(True, torch.device("cpu"))
    assert amp_note(False, torch.device("cpu")) is None
    assert amp_note(True, torch.device("cuda", 0)) is None
