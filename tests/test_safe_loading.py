"""Files a user may get from someone else never run code when regnas reads them; broken ones are one line."""
from __future__ import annotations

import json
import pickle
import shutil

import pytest
import torch

from evolution.checkpoint import read_search_checkpoint, write_search_checkpoint
from regnas.cli import evolve, train
from regnas.data import load_data
from regnas.errors import CheckpointError, DataError
from regnas.supernet import load_supernet, read_checkpoint, save_checkpoint


class Planted:
    """Unpickling this calls ``open(marker, "w")``: the file appearing means code from the file ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return open, (self.marker, "w")


def test_a_supernet_checkpoint_with_planted_code_is_refused_and_the_code_never_runs(tmp_path, tiny_supernet, capsys):
    marker = tmp_path / "ran"
    path = save_checkpoint(tmp_path / "evil.pt", tiny_supernet, note=Planted(marker))
    with pytest.raises(CheckpointError, match="holds objects other than tensors and plain data"):
        read_checkpoint(path)
    assert evolve.main(["--supernet", str(path), "--out", str(tmp_path / "run"), "--quiet"]) == 2
    assert train.main(["--out", str(path), "--setting", "C=4", "--setting", "N=1", "--epochs", "1", "--quiet"]) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if ": error: " in line]
    assert len(errors) == 2 and all("holds objects other than tensors" in line for line in errors), errors
    assert not marker.exists()


def test_what_regnas_writes_into_a_supernet_checkpoint_loads_without_pickled_code(tmp_path, tiny_data):
    """A training checkpoint (optimizer, scheduler, numpy and torch RNG states, log) reads with weights_only=True."""
    import dataclasses

    import numpy as np

    from regnas.supernet import TrainConfig, train_supernet
    from search_spaces import get_space

    small = dataclasses.replace(tiny_data, train=tiny_data.train.subset(np.arange(64)))
    train_supernet(get_space("nasbench201").supernet(C=4, N=1), small, TrainConfig(epochs=1, batch_size=64),
                   checkpoint=tmp_path / "t.pt", progress=False)
    saved = torch.load(tmp_path / "t.pt", weights_only=True)
    assert {"optimizer", "scheduler", "numpy_rng", "torch_rng", "log", "torch_version"} <= set(saved)


def broken(tmp_path, tiny_supernet, change) -> str:
    path = save_checkpoint(tmp_path / "s.pt", tiny_supernet)
    saved = torch.load(path, weights_only=True)
    change(saved)
    torch.save(saved, path)
    return str(path)


@pytest.mark.parametrize("change, message", [
    (lambda s: s.pop("state_dict"), "lacks state_dict"),
    (lambda s: s["state_dict"].pop("head.classifier.weight"), "do not fit the nasbench201 supernet .*1 missing \\(e.g. head.classifier.weight\\)"),
    (lambda s: s["state_dict"].update({"stem.extra": torch.zeros(1)}), "1 unexpected \\(e.g. stem.extra\\)"),
    (lambda s: s["state_dict"].update({"head.classifier.weight": torch.zeros(3, 3)}), "1 of another shape"),
    (lambda s: s["state_dict"]["head.classifier.weight"].add_(1.0), "do not match the checksum recorded"),
    (lambda s: s["settings"].update({"C": "wide"}), "do not build a nasbench201 supernet"),
])
def test_a_supernet_checkpoint_that_does_not_fit_is_one_line(tmp_path, tiny_supernet, change, message):
    if "head.classifier.weight" not in tiny_supernet.state_dict():
        pytest.fail(f"test needs another key name: {list(tiny_supernet.state_dict())[-2:]}")
    path = broken(tmp_path, tiny_supernet, change)
    with pytest.raises(CheckpointError, match=message) as info:
        load_supernet(path)
    assert "\n" not in str(info.value)


def cifar_folder(tmp_path, first_batch: bytes):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    import numpy as np

    for i, name in enumerate([f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]):
        batch = {"data": np.zeros((20, 3072), np.uint8), "labels": [k % 10 for k in range(20)]}
        (folder / name).write_bytes(first_batch if i == 0 else pickle.dumps(batch, protocol=2))
    return folder


def test_a_cifar_batch_file_with_planted_code_is_refused_and_the_code_never_runs(tmp_path):
    marker = tmp_path / "ran"
    cifar_folder(tmp_path, pickle.dumps({"data": Planted(marker), "labels": []}))
    with pytest.raises(DataError, match="is not a CIFAR-10 batch file .*io.open is not an array or plain data"):
        load_data("cifar10", tmp_path, calibration_size=10)
    assert not marker.exists()


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_cifar_batch_files_of_arrays_still_load(tmp_path, protocol):
    import numpy as np

    images = np.arange(20 * 3072, dtype=np.int64).astype(np.uint8).reshape(20, 3072)
    batch = {"batch_label": b"training batch 1 of 5", "data": images, "labels": [k % 10 for k in range(20)]}
    cifar_folder(tmp_path, pickle.dumps(batch, protocol=protocol))
    from regnas.datasets.cifar10 import read_cifar10

    x_train, y_train, _, _ = read_cifar10(tmp_path)
    assert np.array_equal(x_train[:20].reshape(20, -1), images) and y_train[:20].tolist() == batch["labels"]


def test_a_search_checkpoint_changed_after_it_was_written_is_not_unpickled(tmp_path, tiny_run, capsys):
    marker = tmp_path / "ran"
    run_dir = tmp_path / "run"
    shutil.copytree(tiny_run, run_dir)
    assert read_search_checkpoint(run_dir)["generation"] == 4  # the untouched copy reads
    (run_dir / "checkpoint.pkl").write_bytes(pickle.dumps({"format": "regnas-search/1", "x": Planted(marker)}))
    with pytest.raises(CheckpointError, match="does not match the SHA-256 recorded in checkpoint.json"):
        read_search_checkpoint(run_dir)
    assert evolve.main(["--resume", str(run_dir), "--quiet"]) == 2
    assert "is not unpickled (a checkpoint can run code)" in capsys.readouterr().err
    (run_dir / "checkpoint.json").unlink()
    with pytest.raises(CheckpointError, match="has no checkpoint.json recording"):
        read_search_checkpoint(run_dir)
    assert not marker.exists()


def test_a_search_checkpoint_without_its_keys_is_one_line(tmp_path):
    write_search_checkpoint(tmp_path, {"format": "regnas-search/1", "config": {}, "generation": 1})
    with pytest.raises(CheckpointError, match="lacks algorithm, history, supernet_checksum"):
        read_search_checkpoint(tmp_path)
    (tmp_path / "checkpoint.json").write_text(json.dumps({"format": "something"}))
    with pytest.raises(CheckpointError, match="is not a regnas checkpoint digest record"):
        read_search_checkpoint(tmp_path)
