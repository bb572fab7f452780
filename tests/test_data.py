"""Data sets: the embedded default, the readers of each format, disjoint seeded splits, augmentation."""
from __future__ import annotations

import gzip
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from regnas.data import load_data, random_crop_flip, stratified_split
from regnas.errors import DataError


@pytest.fixture(scope="module")
def default():
    return load_data("default", seed=0)


def test_embedded_default_is_a_stratified_cifar10_subset(default):
    assert default.describe()["sizes"] == {"train": 4500, "calibration": 500, "validation": 1000, "test": 1000}
    assert default.num_classes == 10 and default.class_names[0] == "airplane"
    assert tuple(default.train.images.shape[1:]) == (3, 32, 32) and default.train.images.dtype == torch.uint8
    for split in (default.train, default.calibration, default.validation, default.test):
        counts = np.bincount(split.labels.numpy(), minlength=10)
        assert counts.max() - counts.min() <= 1  # stratified
    # Channel means of CIFAR-10 are about 0.49, 0.48, 0.45 (data/README.md).
    assert np.allclose(default.mean, (0.4913, 0.4821, 0.4465), atol=0.02)


def test_the_embedded_file_is_compact():
    from importlib import resources

    size = (resources.files("regnas") / "resources" / "cifar10_subset.npz").stat().st_size
    assert size < 10e6


def test_splits_are_disjoint(default):
    def rows(split):
        return {bytes(img.numpy().tobytes()) for img in split.images}

    train, calib = rows(default.train), rows(default.calibration)
    val, test = rows(default.validation), rows(default.test)
    assert not (train & calib) and not (val & test) and not (train & val) and not (calib & test)


def test_splits_depend_on_the_seed_only(default):
    same = load_data("default", seed=0)
    other = load_data("default", seed=1)
    assert torch.equal(same.validation.labels, default.validation.labels)
    assert torch.equal(same.validation.images, default.validation.images)
    assert not torch.equal(other.validation.images, default.validation.images)


def test_stratified_split_partitions_and_keeps_shares(rng):
    labels = rng.integers(0, 7, 1000)
    first, second = stratified_split(labels, 300, rng)
    assert len(first) == 300 and len(np.intersect1d(first, second)) == 0
    assert np.array_equal(np.sort(np.concatenate([first, second])), np.arange(1000))
    shares = np.bincount(labels[first], minlength=7) / 300
    assert np.allclose(shares, np.bincount(labels, minlength=7) / 1000, atol=0.01)


def test_random_crop_flip_returns_shifted_or_mirrored_windows(default):
    images = default.train.images[:16]
    out = random_crop_flip(images, torch.Generator().manual_seed(0))
    padded = torch.nn.functional.pad(images, (4,) * 4)
    for original, crop in zip(padded, out):
        windows = [original[:, y:y + 32, x:x + 32] for y in range(9) for x in range(9)]
        assert any(torch.equal(crop, w) or torch.equal(crop, w.flip(-1)) for w in windows)
    again = random_crop_flip(images, torch.Generator().manual_seed(0))
    assert torch.equal(out, again)


def test_batches_normalise_and_shuffle_only_with_a_generator(default):
    plain = [y for _, y in default.batches(default.validation, 300)]
    assert torch.equal(torch.cat(plain), default.validation.labels)
    x, _ = next(default.batches(default.train, 4500))
    assert abs(float(x.mean())) < 0.05 and abs(float(x.std()) - 1) < 0.05
    shuffled = torch.cat([y for _, y in default.batches(default.validation, 300, generator=torch.Generator().manual_seed(1))])
    assert not torch.equal(shuffled, default.validation.labels)
    with pytest.raises(ValueError, match="torch.Generator"):
        next(default.batches(default.train, 8, augment=True))


def test_full_cifar10_jpeg_npz(shared_data):
    data = load_data("cifar10", shared_data / "cifar10" / "cifar10-jpeg.npz", calibration_size=2000)
    assert data.describe()["sizes"] == {"train": 48000, "calibration": 2000, "validation": 5000, "test": 5000}


def test_a_jpeg_npz_read_again_is_its_current_content_and_no_caller_shares_arrays(tmp_path):
    """Reads of one file are kept (decoding is slow): a changed file must be read anew, and a caller that
    writes into its arrays must not change what the next caller gets."""
    import io
    import os
    from importlib import resources

    from PIL import Image

    from regnas.datasets.files import read_jpeg_npz

    source = resources.files("regnas") / "resources" / "cifar10_subset.npz"
    path = tmp_path / "subset.npz"
    path.write_bytes(source.read_bytes())
    with np.load(path) as npz:
        contents = {key: npz[key] for key in npz.files}
    first_image = np.asarray(Image.open(io.BytesIO(contents["train_bytes"][: contents["train_offsets"][1]].tobytes())).convert("RGB"))
    x_train, y_train, _, _ = read_jpeg_npz(path)
    np.testing.assert_array_equal(x_train[0], first_image.transpose(2, 0, 1))
    x_train[0] = 0
    y_train[:] = 99
    x_again, y_again, _, _ = read_jpeg_npz(path)
    np.testing.assert_array_equal(x_again[0], first_image.transpose(2, 0, 1))
    np.testing.assert_array_equal(y_again, contents["y_train"])
    np.savez(path, **{**contents, "y_train": contents["y_train"][::-1].copy()})  # same size: only the time tells
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    np.testing.assert_array_equal(read_jpeg_npz(path)[1], contents["y_train"][::-1])


def test_torchvision_folder_and_plain_npz_hold_the_same_images(default, tmp_path):
    """Write real images in torchvision's cifar-10-batches-py layout and as x/y npz, read both back."""
    x = default.train.images.numpy()
    y = default.train.labels.numpy()
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    chunks = np.array_split(np.arange(3000), 6)
    for name, idx in zip([f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"], chunks):
        with open(folder / name, "wb") as handle:
            pickle.dump({"data": x[idx].reshape(len(idx), -1), "labels": y[idx].tolist()}, handle)
    from_folder = load_data("cifar10", tmp_path, calibration_size=100)
    np.savez(tmp_path / "mine.npz", x_train=x[:2500].transpose(0, 2, 3, 1), y_train=y[:2500],
             x_test=x[2500:3000].transpose(0, 2, 3, 1), y_test=y[2500:3000])
    from_npz = load_data("npz", tmp_path / "mine.npz", calibration_size=100)
    assert torch.equal(from_folder.validation.images, from_npz.validation.images)
    assert torch.equal(from_folder.train.labels, from_npz.train.labels)


def test_fashion_mnist_idx_files(tmp_path, default):
    """Greyscale IDX files (the format Debian's dataset-fashion-mnist installs) load as 1-channel images."""
    grey = default.train.images[:700, 0, 2:30, 2:30].numpy()
    labels = default.train.labels[:700].numpy().astype(np.uint8)

    def write_idx(path, array):
        header = bytes([0, 0, 8, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
        with gzip.open(path, "wb") as handle:
            handle.write(header + array.tobytes())

    write_idx(tmp_path / "train-images-idx3-ubyte.gz", grey[:600])
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", labels[:600])
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", grey[600:])
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", labels[600:])
    data = load_data("fashion-mnist", tmp_path, calibration_size=50)
    assert data.in_channels == 1 and data.image_size == 28
    assert len(data.train) + len(data.calibration) == 600 and len(data.validation) + len(data.test) == 100


@pytest.mark.parametrize("name,path,message", [
    ("imagenet", None, "unknown dataset 'imagenet'; allowed: cifar10, default, fashion-mnist, npz"),
    ("cifar10", None, "needs --data-path"),
    ("cifar10", "/no/such/place", "data path '/no/such/place' does not exist"),
    ("npz", "/no/such.npz", "does not exist"),
])
def test_bad_data_input_is_one_clear_line(name, path, message):
    with pytest.raises(DataError, match=message) as info:
        load_data(name, path)
    assert "\n" not in str(info.value)


def test_foreign_files_are_refused(tmp_path):
    (tmp_path / "x.npz").write_bytes(b"hello")
    with pytest.raises(DataError, match="cannot read"):
        load_data("npz", tmp_path / "x.npz")
    np.savez(tmp_path / "y.npz", a=np.zeros(3))
    with pytest.raises(DataError, match="lacks keys"):
        load_data("npz", tmp_path / "y.npz")
    with pytest.raises(DataError, match="cifar-10-batches-py"):
        load_data("cifar10", tmp_path)
    with pytest.raises(DataError, match="calibration size"):
        load_data("default", calibration_size=0)


def test_data_sets_are_a_registry_a_new_one_plugs_in_and_duplicates_raise():
    from regnas.datasets import DataSet, RawData, get_dataset, list_datasets, register_dataset
    from regnas.datasets.registry import DATASETS
    from regnas.errors import DuplicateNameError

    assert list_datasets() == ["cifar10", "default", "fashion-mnist", "npz"]
    with pytest.raises(DuplicateNameError, match="dataset 'cifar10' is already registered"):
        register_dataset(get_dataset("cifar10"))
    embedded = get_dataset("default").read(None)
    seen = []

    def read(path):
        seen.append(path)
        keep_train, keep_held = np.arange(0, 5000, 10), np.arange(0, 2000, 10)  # 50 and 20 per class
        return RawData(embedded.x_train[keep_train], embedded.y_train[keep_train], embedded.x_held[keep_held],
                       embedded.y_held[keep_held], ("a", "b", "c", "d", "e", "f", "g", "h", "i", "j"), "every tenth image")

    register_dataset(DataSet("tenth", "every tenth embedded image", read))
    try:
        data = load_data("tenth", "somewhere", seed=0, calibration_size=50)
        assert seen == [Path("somewhere")] and data.name == "tenth" and data.class_names[0] == "a"
        assert (len(data.train), len(data.calibration), len(data.validation) + len(data.test)) == (450, 50, 200)
        kept = {image.tobytes() for image in embedded.x_train[::10]}
        assert all(image.numpy().tobytes() in kept for image in torch.cat([data.train.images, data.calibration.images]))
    finally:
        DATASETS.unregister("tenth")
    assert "tenth" not in list_datasets()
