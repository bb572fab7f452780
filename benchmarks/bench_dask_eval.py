"""Subnet evaluations per second: one process, the process pool (WorkerPool) and a Dask LocalCluster, same run.

    python benchmarks/bench_dask_eval.py --workers 2 --rounds 4 --per-round 6 --out bench-dask.json

Both pools stay up for the whole run; in every round each method evaluates its own fresh random cells
(distinct functional keys, so nothing is cached), and the method that goes first rotates from round to
round, so load from other jobs falls on all of them alike. Start-up of each pool is timed apart.
Every prediction is checked against the one-process engine's.
"""
from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path

import numpy as np
import torch

from benchmarks.bench_evaluator import distinct_archs, machine
from regnas.cli.common import ArgumentParser, entry_point
from regnas.data import load_data
from regnas.eval_dask import DaskPool
from regnas.eval_workers import WorkerPool
from regnas.evaluate import Evaluator
from regnas.io import atomic_write_json
from regnas.supernet import load_supernet
from search_spaces import get_space
from search_spaces.base import Arch

Method = Callable[[Sequence[Arch]], list[np.ndarray]]


def timed(start: Callable[[], object]) -> tuple[object, float]:
    began = time.perf_counter()
    return start(), time.perf_counter() - began


@entry_point("bench_dask_eval.py")
def main(argv: Sequence[str] | None = None) -> int:
    parser = ArgumentParser(prog="bench_dask_eval.py", description=__doc__)
    parser.add_argument("--dataset", default="default")
    parser.add_argument("--data-path", default=None)
    parser.add_argument("--checkpoint", type=Path, default=None, help="trained supernet; else a random C=8, N=1")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--per-round", type=int, default=6, help="cells each method evaluates per round")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)  # the parent's own share (the one-process row) runs at one thread like the workers
    space = get_space("nasbench201")
    data = load_data(args.dataset, args.data_path, seed=args.seed)
    supernet = (load_supernet(args.checkpoint, space.name) if args.checkpoint else
                space.supernet(C=8, N=1, num_classes=data.num_classes, in_channels=data.in_channels, init_seed=args.seed))
    evaluator = Evaluator(supernet, data, split="validation")
    engine = evaluator.engine
    pools, startup = {}, {}
    pools["process pool (WorkerPool)"], startup["process pool (WorkerPool)"] = timed(lambda: WorkerPool(engine, args.workers))
    pools["Dask LocalCluster"], startup["Dask LocalCluster"] = timed(
        lambda: DaskPool(engine, evaluator.cache_key, workers=args.workers))
    methods: dict[str, Method] = {"one process": lambda archs: [engine.predictions(a) for a in archs]}
    for name, pool in pools.items():
        methods[f"{name}, {args.workers} workers"] = lambda archs, pool=pool: [p for p, _ in pool.map(archs)]
    rng = np.random.default_rng(args.seed)
    cells = distinct_archs(space, args.rounds * len(methods) * args.per_round, rng)
    seconds = dict.fromkeys(methods, 0.0)
    names = list(methods)
    load_before = os.getloadavg()[0]
    try:
        for round_ in range(args.rounds):
            order = names[round_ % len(names):] + names[: round_ % len(names)]
            for slot, name in enumerate(order):
                first = (round_ * len(names) + slot) * args.per_round
                archs = cells[first:first + args.per_round]
                began = time.perf_counter()
                predictions = methods[name](archs)
                seconds[name] += time.perf_counter() - began
                reference = predictions if name == "one process" else [engine.predictions(a) for a in archs]
                assert all(np.array_equal(p, r) for p, r in zip(predictions, reference)), f"{name} differs"
            print(f"round {round_ + 1}/{args.rounds}: " + ", ".join(f"{n} {s:.1f}s" for n, s in seconds.items()),
                  file=sys.stderr)
    finally:
        for pool in pools.values():
            pool.close()
    evaluated = args.rounds * args.per_round
    rates = {name: evaluated / s for name, s in seconds.items()}
    result = {
        "date": date.today().isoformat(), "command": " ".join(sys.argv), "machine": machine(),
        "load_average_1min_before_after": [load_before, os.getloadavg()[0]], "torch": torch.__version__,
        "supernet": supernet.settings, "data": data.describe(), "cells_per_method": evaluated,
        "subnets_per_second": rates, "ratio_to_one_process": {n: r / rates["one process"] for n, r in rates.items()},
        "startup_seconds": startup,
    }
    atomic_write_json(args.out, result)
    print(f"\n{'method':40s} {'subnets/s':>9s} {'x one process':>13s}")
    for name, rate in rates.items():
        print(f"{name:40s} {rate:9.3f} {rate / rates['one process']:13.2f}")
    print("start-up seconds:", {n: round(s, 2) for n, s in startup.items()}, f"-> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
