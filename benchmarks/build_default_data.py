"""Build the embedded default data set: a stratified CIFAR-10 subset stored as its JPEG files."""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from regnas.data import stratified_split

SEED = 20221023  # fixed: the shipped file must be reproducible byte for byte


def subset(data: np.ndarray, offsets: np.ndarray, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pieces = [data[offsets[i] : offsets[i + 1]] for i in index]
    new_offsets = np.concatenate([[0], np.cumsum([len(p) for p in pieces])]).astype(np.int64)
    return np.concatenate(pieces), new_offsets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--source", default="../shared/data/cifar10/cifar10-jpeg.npz")
    parser.add_argument("--out", default="regnas/resources/cifar10_subset.npz")
    parser.add_argument("--train", type=int, default=5000)
    parser.add_argument("--held-out", type=int, default=2000)
    args = parser.parse_args()
    rng = np.random.default_rng(SEED)
    with np.load(args.source) as npz:
        src = {k: npz[k] for k in npz.files}
    train_index, _ = stratified_split(src["y_train"], args.train, rng)
    held_index, _ = stratified_split(src["y_test"], args.held_out, rng)
    train_bytes, train_offsets = subset(src["train_bytes"], src["train_offsets"], train_index)
    test_bytes, test_offsets = subset(src["test_bytes"], src["test_offsets"], held_index)
    np.savez(
        args.out,
        train_bytes=train_bytes, train_offsets=train_offsets, y_train=src["y_train"][train_index],
        test_bytes=test_bytes, test_offsets=test_offsets, y_test=src["y_test"][held_index],
        source_index_train=train_index.astype(np.int32), source_index_test=held_index.astype(np.int32),
    )
    print(f"wrote {args.out}: {Path(args.out).stat().st_size / 1e6:.2f} MB, {args.train} train + {args.held_out} held-out")


if __name__ == "__main__":
    main()
