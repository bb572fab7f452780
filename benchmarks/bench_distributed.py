"""Supernet training throughput: 1 process against N data-parallel gloo processes (DDP), same run, same recipe.

    python benchmarks/bench_distributed.py --nproc 2 --epochs 2 [--device cpu] [--dataset cifar10 --data-path ...]

Each configuration is one `regnas-train` command (`--nproc N` goes through torchrun's launcher); the time of
an epoch is read from the checkpoint's log, and the first epoch (start-up, first-touch allocation) is dropped.
Run it on a quiet machine: it measures wall time.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from regnas.supernet import read_checkpoint


def epoch_seconds(nproc: int, threads: int, args: argparse.Namespace, folder: Path) -> tuple[float, int]:
    out = folder / f"nproc{nproc}-threads{threads}.pt"
    command = [sys.executable, "-m", "regnas.cli.train", "--nproc", str(nproc), "--epochs", str(args.epochs),
               "--setting", f"C={args.C}", "--setting", "N=1", "--dataset", args.dataset, "--device", args.device,
               "--batch-size", str(args.batch_size), "--quiet", "--out", str(out)]
    if args.data_path:
        command += ["--data-path", args.data_path]
    subprocess.run(command, check=True, env={**os.environ, "OMP_NUM_THREADS": str(threads)})
    saved = read_checkpoint(out)
    timed = [line["seconds"] for line in saved["log"][1:]] or [saved["log"][0]["seconds"]]
    return sum(timed) / len(timed), saved["data"]["sizes"]["train"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nproc", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--C", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--dataset", default="default")
    parser.add_argument("--data-path")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        one, images = epoch_seconds(1, 1, args, Path(folder))
        threads, _ = epoch_seconds(1, args.nproc, args, Path(folder))
        many, _ = epoch_seconds(args.nproc, 1, args, Path(folder))
    print(f"{images} training images, C={args.C}, sandwich sampling, batch {args.batch_size}, {args.device}")
    print(f"1 process, 1 thread: {one:.1f} s/epoch ({images / one:.0f} images/s)")
    print(f"1 process, {args.nproc} threads: {threads:.1f} s/epoch ({images / threads:.0f} images/s), {one / threads:.2f}x")
    print(f"{args.nproc} processes (DDP, gloo), 1 thread each: {many:.1f} s/epoch ({images / many:.0f} images/s), "
          f"{one / many:.2f}x")


if __name__ == "__main__":
    main()
