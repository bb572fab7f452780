"""Ranking quality of a NAS-Bench-201 supernet: Kendall tau of subnet validation accuracy against NAS-Bench-201."""
from __future__ import annotations

import argparse
import csv
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict
from datetime import date
from pathlib import Path

import numpy as np
import torch
from scipy import stats

from regnas.cli.common import ArgumentParser, entry_point
from regnas.data import load_data
from regnas.evaluate import Evaluator
from regnas.io import atomic_write_json
from regnas.supernet import TrainConfig, read_checkpoint, train_supernet
from search_spaces import get_space

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
DEFAULT_DATA = SHARED / "cifar10" / "cifar10-jpeg.npz"
DEFAULT_TABLE = SHARED / "nb201" / "nb201_archs.csv"


def read_ground_truth(path: Path) -> dict[str, float]:
    """``arch_str -> test_acc_cifar10`` (%) of every NAS-Bench-201 cell trained alone for 200 epochs."""
    with open(path, newline="") as handle:
        return {row["arch_str"]: float(row["test_acc_cifar10"]) for row in csv.DictReader(handle)}


def rank_correlations(estimate: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """Kendall tau and Spearman rho over all architectures, and Kendall tau over the better half by truth."""
    top = truth >= np.median(truth)
    return {
        "kendall_tau": float(stats.kendalltau(estimate, truth).statistic),
        "spearman_rho": float(stats.spearmanr(estimate, truth).statistic),
        "kendall_tau_top_half": float(stats.kendalltau(estimate[top], truth[top]).statistic),
        "n_top_half": int(top.sum()),
    }


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = ArgumentParser(prog="kendall_tau.py", description=__doc__)
    parser.add_argument("--checkpoint", type=Path, required=True,
                        help="supernet checkpoint; training resumes from it and is skipped once complete")
    parser.add_argument("--channels", type=int, default=8, help="supernet C")
    parser.add_argument("--cells", type=int, default=1, help="supernet N (cells per stage)")
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--sampling", choices=("sandwich", "uniform"), default="sandwich")
    parser.add_argument("--train-seed", type=int, default=0, help="seeds the initial weights and the training run")
    parser.add_argument("--n-archs", type=int, default=200, help="random NAS-Bench-201 cells to rank")
    parser.add_argument("--arch-seed", type=int, default=0, help="seed of the numpy Generator drawing the cells")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--table", type=Path, default=DEFAULT_TABLE)
    parser.add_argument("--out", type=Path, required=True, help="JSON with settings, per-arch accuracies and correlations")
    return parser.parse_args(argv)


@entry_point("kendall_tau.py")
def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    space = get_space("nasbench201")
    data = load_data("cifar10", args.data, seed=0)
    config = TrainConfig(epochs=args.epochs, sampling=args.sampling, seed=args.train_seed)
    supernet = space.supernet(C=args.channels, N=args.cells, num_classes=data.num_classes, in_channels=data.in_channels,
                              init_seed=args.train_seed)
    print(f"supernet C={args.channels} N={args.cells}, {config}; data {data.describe()['sizes']}", file=sys.stderr)
    train_supernet(supernet, data, config, checkpoint=args.checkpoint)
    training_log = read_checkpoint(args.checkpoint, space.name, supernet.settings)["log"]

    truth_of = read_ground_truth(args.table)
    names = sorted(truth_of)
    chosen = np.random.default_rng(args.arch_seed).choice(len(names), size=args.n_archs, replace=False)
    archs = [names[i] for i in chosen]
    evaluator = Evaluator(supernet, data, split="validation")
    start = time.perf_counter()
    accuracies = []
    for done, arch in enumerate(archs, start=1):
        accuracies.append(evaluator.accuracy(arch))
        if done % 20 == 0 or done == len(archs):
            print(f"evaluated {done}/{len(archs)} cells ({time.perf_counter() - start:.0f}s)", file=sys.stderr)
    estimate = np.array(accuracies)
    truth = np.array([truth_of[a] for a in archs])
    result = {
        "date": date.today().isoformat(),
        "command": " ".join(sys.argv),
        "supernet": {"C": args.channels, "N": args.cells, "train": asdict(config),
                     "train_seconds": float(sum(e["seconds"] for e in training_log)), "final_loss": training_log[-1]["loss"]},
        "data": data.describe(),
        "n_archs": len(archs), "arch_seed": args.arch_seed, "distinct_functional_keys": len({evaluator.key(a) for a in archs}),
        "evaluation_seconds": time.perf_counter() - start, "torch_threads": args.threads,
        "correlations": rank_correlations(estimate, truth),
        "archs": [{"arch": a, "supernet_val_acc": float(e), "nb201_test_acc": float(t)} for a, e, t in zip(archs, estimate, truth)],
    }
    atomic_write_json(args.out, result)
    print({k: round(v, 4) for k, v in result["correlations"].items()}, f"-> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
