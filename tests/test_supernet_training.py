"""Supernet training: sampling rules, seeded runs, checkpoints that resume to identical weights, regnas-train."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from regnas.errors import CheckpointError, ConfigError
from regnas.supernet import SAMPLING_RULES, TrainConfig, load_supernet, read_checkpoint, train_supernet
from search_spaces import get_space

SPACE = get_space("nasbench201")


def fresh():
    return SPACE.supernet(C=4, N=1)


def states_equal(a, b) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_sandwich_trains_the_largest_and_a_nested_pair(rng):
    archs = SAMPLING_RULES["sandwich"](SPACE, rng)
    assert archs[0] == SPACE.largest() and SPACE.is_nested(archs[1], archs[2])


def training_loss(supernet, data) -> float:
    """Cross-entropy of the largest network and of the smallest convolutional one on the training images,
    computed here (not read from the training log), with batch statistics as in training."""
    import copy

    model = copy.deepcopy(supernet).train()  # batch statistics; the copy keeps the caller's running stats
    images, labels = next(data.batches(data.train, len(data.train)))
    with torch.no_grad():
        return sum(torch.nn.functional.cross_entropy(model(images, arch), labels).item()
                   for arch in (SPACE.largest(), ("nor_conv_1x1",) * 6)) / 2


def test_training_lowers_the_loss_and_is_seeded(small_train_data):
    config = TrainConfig(epochs=3, batch_size=64, seed=3)
    before = training_loss(fresh(), small_train_data)
    log = []
    a = train_supernet(fresh(), small_train_data, config, progress=False, on_epoch_end=log.append)
    b = train_supernet(fresh(), small_train_data, config, progress=False)
    assert training_loss(a, small_train_data) < before - 0.1
    assert log[-1]["loss"] < log[0]["loss"]
    assert states_equal(a, b)
    c = train_supernet(fresh(), small_train_data, dataclasses.replace(config, seed=4), progress=False)
    assert not states_equal(a, c)


def test_interrupted_training_resumes_to_identical_weights(small_train_data, tmp_path):
    config = TrainConfig(epochs=2, batch_size=64, seed=1)
    straight = train_supernet(fresh(), small_train_data, config, checkpoint=tmp_path / "straight.pt", progress=False)

    def stop(log):
        raise KeyboardInterrupt  # as if Ctrl-C came right after the first epoch's checkpoint

    with pytest.raises(KeyboardInterrupt):
        train_supernet(fresh(), small_train_data, config, checkpoint=tmp_path / "cut.pt", progress=False, on_epoch_end=stop)
    assert read_checkpoint(tmp_path / "cut.pt")["epoch"] == 1
    resumed = train_supernet(fresh(), small_train_data, config, checkpoint=tmp_path / "cut.pt", progress=False)
    assert states_equal(straight, resumed)
    saved = read_checkpoint(tmp_path / "cut.pt", "nasbench201", resumed.settings)
    assert saved["epoch"] == 2 and saved["checksum"] == resumed.checksum() and len(saved["log"]) == 2
    assert load_supernet(tmp_path / "cut.pt").checksum() == straight.checksum()


def test_resuming_with_other_settings_is_refused(small_train_data, tmp_path):
    train_supernet(fresh(), small_train_data, TrainConfig(epochs=1, batch_size=64), checkpoint=tmp_path / "a.pt", progress=False)
    with pytest.raises(CheckpointError, match="trained with"):
        train_supernet(fresh(), small_train_data, TrainConfig(epochs=2, batch_size=64), checkpoint=tmp_path / "a.pt", progress=False)
    with pytest.raises(CheckpointError, match="settings"):
        train_supernet(SPACE.supernet(C=8, N=1), small_train_data, TrainConfig(epochs=1, batch_size=64),
                       checkpoint=tmp_path / "a.pt", progress=False)


def test_resuming_on_other_data_is_refused_and_on_the_same_data_moved_is_not(small_train_data, tmp_path):
    import dataclasses

    import numpy as np

    config, path = TrainConfig(epochs=1, batch_size=64), tmp_path / "a.pt"
    train_supernet(fresh(), small_train_data, config, checkpoint=path, progress=False)
    fewer = dataclasses.replace(small_train_data, train=small_train_data.train.subset(np.arange(200)))
    with pytest.raises(CheckpointError, match=r"was trained on default \(seed 0; 256 train, .* images of 3x32x32, 10 classes\), "
                                              r"not default \(seed 0; 200 train, .*; use another --out or the same data"):
        train_supernet(fresh(), fewer, config, checkpoint=path, progress=False)
    train = small_train_data.train
    replaced = dataclasses.replace(small_train_data, train=dataclasses.replace(train, images=255 - train.images))
    with pytest.raises(CheckpointError, match="was trained on other training images than those now loaded .*: the "
                                              "data file was replaced; use another --out or the same data"):
        train_supernet(fresh(), replaced, config, checkpoint=path, progress=False)  # same name, seed and sizes
    moved = dataclasses.replace(small_train_data, source="/elsewhere/the-same-file.npz")
    train_supernet(fresh(), moved, config, checkpoint=path, progress=False)


def test_train_config_rejects_unknown_rules():
    with pytest.raises(ConfigError, match="unknown sampling rule 'zigzag'; allowed: sandwich, uniform"):
        TrainConfig(sampling="zigzag")


def test_regnas_train_cli(tmp_path, capsys):
    from regnas.cli.train import main

    out = tmp_path / "cli.pt"
    assert main(["--out", str(out), "--setting", "C=4", "--setting", "N=1", "--epochs", "1", "--quiet",
                 "--calibration-size", "4000"]) == 0
    assert load_supernet(out, "nasbench201", {"C": 4, "N": 1, "num_classes": 10, "in_channels": 3})
    assert main(["--out", str(out), "--setting", "K=3"]) == 2
    assert "unknown nasbench201 setting 'K'; allowed: C, N" in capsys.readouterr().err
    assert read_checkpoint(out)["train_config"]["learning_rate"] == 0.05  # nasbench201 has no rate of its own


def test_a_space_s_learning_rate_is_the_default_of_regnas_train_and_of_a_quick_supernet(tmp_path, tiny_data):
    """mobilenetv3 trains at 0.2 unless told (README, "Search space mobilenetv3"); --lr still decides."""
    from evolution.session import obtain_supernet
    from regnas.cli.train import main
    from tests.conftest import tiny_config

    small = ["--space", "mobilenetv3", "--setting", "C=4", "--epochs", "1", "--quiet", "--calibration-size", "4900"]
    assert main([*small, "--out", str(tmp_path / "default.pt")]) == 0
    assert main([*small, "--lr", "0.1", "--out", str(tmp_path / "told.pt")]) == 0
    assert read_checkpoint(tmp_path / "default.pt")["train_config"]["learning_rate"] == 0.2
    assert read_checkpoint(tmp_path / "told.pt")["train_config"]["learning_rate"] == 0.1
    few = dataclasses.replace(tiny_data, train=tiny_data.train.subset(np.arange(64)))
    config = tiny_config(space="mobilenetv3", supernet_settings={"C": 4}, pretrained=False)
    _, path = obtain_supernet(config, get_space("mobilenetv3"), few, progress=False)
    assert read_checkpoint(path)["train_config"]["learning_rate"] == 0.2
