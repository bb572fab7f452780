"""Image data split four ways (training, BN calibration, validation, test), stratified and seeded; the data sets
themselves are plug-ins in ``regnas.datasets``."""
from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from regnas.datasets import get_dataset
from regnas.errors import DataError


def tensor_digest(digest: "hashlib._Hash", tensor: torch.Tensor) -> None:
    """Feed a tensor's dtype, shape and bytes to ``digest`` (the bytes alone would let shapes collide)."""
    tensor = tensor.detach().cpu().contiguous()
    digest.update(f"{tensor.dtype}{tuple(tensor.shape)}".encode())
    digest.update(tensor.numpy().tobytes())


@dataclass(frozen=True)
class Split:
    """Images as uint8 ``(N, C, H, W)`` and integer labels ``(N,)``, kept in memory."""

    images: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def subset(self, index: np.ndarray) -> Split:
        index_t = torch.as_tensor(index, dtype=torch.long)
        return Split(self.images[index_t], self.labels[index_t])

    def digest(self) -> str:
        """SHA-256 of the images and labels, in order (what a description by name and sizes cannot tell apart)."""
        digest = hashlib.sha256()
        tensor_digest(digest, self.images)
        tensor_digest(digest, self.labels)
        return digest.hexdigest()


@dataclass(frozen=True)
class ImageData:
    """The four disjoint splits of a data set: supernet training, BN calibration, search
    validation (fitness) and test (the final report only)."""

    name: str
    train: Split
    calibration: Split
    validation: Split
    test: Split
    class_names: tuple[str, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    seed: int
    source: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def in_channels(self) -> int:
        return int(self.train.images.shape[1])

    @property
    def image_size(self) -> int:
        return int(self.train.images.shape[2])

    def normalize(self, images: torch.Tensor) -> torch.Tensor:
        mean = torch.tensor(self.mean, dtype=torch.float32).view(1, -1, 1, 1)
        std = torch.tensor(self.std, dtype=torch.float32).view(1, -1, 1, 1)
        return (images.float() / 255.0 - mean) / std

    def batches(
        self,
        split: Split,
        batch_size: int,
        *,
        generator: torch.Generator | None = None,
        augment: bool = False,
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Normalised float batches; shuffled and augmented (pad-4 crop, flip) only with a generator."""
        if augment and generator is None:
            raise ValueError("augmentation draws random crops: pass a seeded torch.Generator")
        order = torch.randperm(len(split), generator=generator) if generator is not None else torch.arange(len(split))
        for start in range(0, len(split), batch_size):
            index = order[start : start + batch_size]
            images = split.images[index]
            if augment:
                images = random_crop_flip(images, generator)
            yield self.normalize(images), split.labels[index]

    def describe(self) -> dict:
        return {
            "name": self.name,
            "source": self.source,
            "seed": self.seed,
            "sizes": {s: len(getattr(self, s)) for s in ("train", "calibration", "validation", "test")},
            "image_shape": [self.in_channels, self.image_size, self.image_size],
            "num_classes": self.num_classes,
        }


def same_images(described: Mapping[str, Any], other: Mapping[str, Any]) -> bool:
    """Whether two ``ImageData.describe()`` name the same images in the same splits, wherever their files lie
    (a run moved to another machine resumes; one given other images, another seed or split sizes does not)."""
    return _held(described) == _held(other)


def training_data_change(saved: Mapping[str, Any], saved_digest: str | None, now: Mapping[str, Any],
                         digest: str) -> str | None:
    """Why a checkpoint trained on ``saved`` (an ``ImageData.describe()``) whose training split had
    ``saved_digest`` (``Split.digest()``; None in checkpoints older than it) cannot go on on ``now`` with a
    training split of ``digest``, as ``was trained on ...``; None when it is the same data."""
    if not same_images(saved, now):
        return f"was trained on {data_line(saved)}, not {data_line(now)}"
    if saved_digest not in (None, digest):
        return (f"was trained on other training images than those now loaded (digest {saved_digest[:12]}, now "
                f"{digest[:12]}): the data file was replaced")
    return None


def _held(described: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in described.items() if key != "source"}


def data_line(described: Mapping[str, Any]) -> str:
    """``cifar10 (seed 0; 44500 train, 500 calibration, ... images of 3x32x32, 10 classes)`` for messages."""
    sizes = ", ".join(f"{n} {split}" for split, n in described.get("sizes", {}).items())
    shape = "x".join(str(n) for n in described.get("image_shape", []))
    return (f"{described.get('name')} (seed {described.get('seed')}; {sizes} images of {shape}, "
            f"{described.get('num_classes')} classes)")


def random_crop_flip(images: torch.Tensor, generator: torch.Generator, padding: int = 4) -> torch.Tensor:
    """The standard CIFAR augmentation on a uint8 batch, every draw from ``generator``."""
    n, _, h, w = images.shape
    padded = F.pad(images, (padding,) * 4)
    dy = torch.randint(0, 2 * padding + 1, (n,), generator=generator)
    dx = torch.randint(0, 2 * padding + 1, (n,), generator=generator)
    flip = torch.rand(n, generator=generator) < 0.5
    rows = (dy.view(n, 1) + torch.arange(h).view(1, h)).view(n, 1, h, 1).expand(n, images.shape[1], h, w + 2 * padding)
    cropped = padded.gather(2, rows)
    cols = dx.view(n, 1) + torch.arange(w).view(1, w)
    cols = torch.where(flip.view(n, 1), cols.flip(1), cols)
    cols = cols.view(n, 1, 1, w).expand(n, images.shape[1], h, w)
    return cropped.gather(3, cols)


def load_data(
    name: str = "default",
    path: str | Path | None = None,
    *,
    seed: int = 0,
    calibration_size: int = 500,
    validation_size: int | None = None,
    test_size: int | None = None,
) -> ImageData:
    """Load a data set and split it, stratified and seeded.

    The calibration split is cut from the training images; validation and test from the held-out
    images (by default half each). ``name``: a registered data set (``regnas.datasets.list_datasets()``:
    the embedded ``default``, ``cifar10``, ``fashion-mnist``, ``npz``); ``path``: its ``--data-path``.
    """
    raw = get_dataset(name).read(None if path is None else Path(path))
    return split_data(
        name, raw.x_train, raw.y_train, raw.x_held, raw.y_held, raw.class_names, source=raw.source, seed=seed,
        calibration_size=calibration_size, validation_size=validation_size, test_size=test_size,
    )


def split_data(
    name: str,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_held: np.ndarray,
    y_held: np.ndarray,
    class_names: tuple[str, ...] | None,
    *,
    source: str,
    seed: int,
    calibration_size: int,
    validation_size: int | None,
    test_size: int | None,
) -> ImageData:
    """Stratified, seeded, disjoint splits of NCHW uint8 arrays (checked first by ``check_arrays``).
    ``class_names=None`` names the classes 0..K-1 after the largest label."""
    if class_names is None:
        check_arrays(name, x_train, y_train, x_held, y_held, None)
        class_names = tuple(str(c) for c in range(max(int(y_train.max()), int(y_held.max())) + 1))
    check_arrays(name, x_train, y_train, x_held, y_held, len(class_names))
    rng = np.random.default_rng(seed)
    if not 0 < calibration_size < len(y_train):
        raise DataError(f"calibration size {calibration_size} must be between 1 and {len(y_train) - 1} (training images)")
    calib_index, train_index = stratified_split(y_train, calibration_size, rng)
    validation_size = len(y_held) // 2 if validation_size is None else validation_size
    if not 0 < validation_size < len(y_held):
        raise DataError(f"validation size {validation_size} must be between 1 and {len(y_held) - 1} (held-out images)")
    val_index, test_index = stratified_split(y_held, validation_size, rng)
    if test_size is not None:
        if not 0 < test_size <= len(test_index):
            raise DataError(f"test size {test_size} must be between 1 and {len(test_index)} (held-out images left)")
        test_index = test_index[stratified_split(y_held[test_index], test_size, rng)[0]] if test_size < len(test_index) else test_index
    train = Split(torch.from_numpy(np.ascontiguousarray(x_train)), torch.from_numpy(y_train.astype(np.int64)))
    held = Split(torch.from_numpy(np.ascontiguousarray(x_held)), torch.from_numpy(y_held.astype(np.int64)))
    train_split = train.subset(train_index)
    scaled = train_split.images.float() / 255.0
    mean = tuple(float(m) for m in scaled.mean(dim=(0, 2, 3)))
    std = tuple(float(s) for s in scaled.std(dim=(0, 2, 3)))
    return ImageData(
        name=name, train=train_split, calibration=train.subset(calib_index), validation=held.subset(val_index),
        test=held.subset(test_index), class_names=class_names, mean=mean, std=std, seed=seed, source=source,
    )


def check_arrays(name: str, x_train: np.ndarray, y_train: np.ndarray, x_held: np.ndarray, y_held: np.ndarray,
                 num_classes: int | None) -> None:
    """Raise DataError unless the arrays form an image classification set every reader can hand on: uint8
    square images (N, C, H, W) of one shape in both parts, as many integer labels as images, each label in
    0..num_classes-1 (with None: 0..the largest label, every number in between used)."""
    parts = {"training": (x_train, y_train), "test": (x_held, y_held)}
    for part, (x, y) in parts.items():
        if not isinstance(x, np.ndarray) or x.dtype != np.uint8 or x.ndim != 4:
            raise DataError(f"{name}: {part} images must be a uint8 array (N, C, H, W), got "
                            f"{getattr(x, 'dtype', type(x).__name__)} of shape {getattr(x, 'shape', '?')}")
        if not isinstance(y, np.ndarray) or y.ndim != 1 or not (np.issubdtype(y.dtype, np.integer)):
            raise DataError(f"{name}: {part} labels must be a 1-D integer array, got "
                            f"{getattr(y, 'dtype', type(y).__name__)} of shape {getattr(y, 'shape', '?')}")
        if len(x) != len(y):
            raise DataError(f"{name}: {part} part has {len(x)} images but {len(y)} labels; each image needs one label")
        if len(y) < 2:
            raise DataError(f"{name}: {part} part has {len(y)} images; at least 2 are needed")
        if x.shape[2] != x.shape[3] or min(x.shape[1:]) < 1:
            raise DataError(f"{name}: {part} images must be square with at least one channel, got (C, H, W) = {x.shape[1:]}")
    if x_train.shape[1:] != x_held.shape[1:]:
        raise DataError(f"{name}: training images are {x_train.shape[1:]} (C, H, W) but test images {x_held.shape[1:]}; "
                        "both parts need one shape")
    top = max(int(y_train.max()), int(y_held.max())) if num_classes is None else num_classes - 1
    for part, (_, y) in parts.items():
        if y.min() < 0 or y.max() > top:
            bad = int(y.min()) if y.min() < 0 else int(y.max())
            raise DataError(f"{name}: {part} label {bad} is out of range; allowed: 0..{top} ({top + 1} classes)")
    if num_classes is None:  # classes numbered by the labels: a gap means a label that is not a class number
        missing = np.setdiff1d(np.arange(top + 1), np.concatenate([y_train, y_held]))
        if len(missing):
            raise DataError(f"{name}: labels run up to {top} but no image has label {int(missing[0])} "
                            f"({len(missing)} of 0..{top} unused); number the classes 0..K-1 without gaps")


def stratified_split(labels: np.ndarray, first_size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Indices of two disjoint parts, the first of ``first_size`` with class shares as in ``labels``."""
    labels = np.asarray(labels)
    classes, counts = np.unique(labels, return_counts=True)
    quota = np.floor(counts * first_size / len(labels)).astype(np.int64)
    # Hand the rounding remainder to the classes with the largest fractional parts.
    remainder = first_size - int(quota.sum())
    fractions = counts * first_size / len(labels) - quota
    quota[np.argsort(-fractions, kind="stable")[:remainder]] += 1
    first, second = [], []
    for cls, take in zip(classes, quota):
        members = rng.permutation(np.flatnonzero(labels == cls))
        first.append(members[:take])
        second.append(members[take:])
    return np.sort(np.concatenate(first)), np.sort(np.concatenate(second))
