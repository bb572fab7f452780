"""Subnet evaluations per second: our Evaluator against a naive extract + recalibrate + evaluate loop, same run."""
from __future__ import annotations

import argparse
import copy
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path

import numpy as np
import torch
from pymoo.termination.max_gen import MaximumGenerationTermination
from torch import nn
from tqdm import tqdm

from evolution.config import SearchConfig
from evolution.search import make_search_algorithm
from evolution.session import build_session
from regnas.cli.common import ArgumentParser, entry_point
from regnas.data import ImageData, load_data
from regnas.evaluate import Evaluator, recalibrate_module
from regnas.fast_eval import EngineOptions, SubnetEngine, chunk_bounds, intra_op_threads
from regnas.io import atomic_write_json
from regnas.supernet import load_supernet, save_checkpoint
from search_spaces import get_space
from search_spaces.base import Arch, SearchSpace
from search_spaces.supernet import Supernet

Method = Callable[[Arch], np.ndarray]
MAX_DRAWS_PER_ARCH = 100


def distinct_archs(space: SearchSpace, n: int, rng: np.random.Generator) -> list[Arch]:
    """``n`` random architectures with pairwise different functional keys, so no cache can serve one."""
    seen: dict[str, Arch] = {}
    for _ in range(MAX_DRAWS_PER_ARCH * n):  # bounded: a space with fewer than n functions ends with an error
        arch = space.sample(rng)
        seen.setdefault(space.functional_key(arch), arch)
        if len(seen) == n:
            return list(seen.values())
    raise SystemExit(f"{space.name}: only {len(seen)} functionally distinct architectures in {MAX_DRAWS_PER_ARCH * n} "
                     f"draws, {n} asked for")


def naive_predictions(supernet: Supernet, data: ImageData, arch: Arch, batch_size: int) -> np.ndarray:
    """What a user would write: extract the subnet, recalibrate its BatchNorms, evaluate it batch by batch."""
    module = recalibrate_module(supernet.extract(arch), [x for x, _ in data.batches(data.calibration, len(data.calibration))])
    with torch.inference_mode():
        return torch.cat([module(x).argmax(dim=1) for x, _ in data.batches(data.validation, batch_size)]).numpy().astype(np.int16)


def fold_batch_norms(module: nn.Module) -> nn.Module:
    """Fold every BatchNorm that directly follows a convolution in a Sequential into that convolution."""
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    for seq in [m for m in module.modules() if isinstance(m, nn.Sequential)]:
        for i in range(len(seq) - 1):
            if isinstance(seq[i], nn.Conv2d) and isinstance(seq[i + 1], nn.BatchNorm2d):
                seq[i], seq[i + 1] = fuse_conv_bn_eval(seq[i], seq[i + 1]), nn.Identity()
    return module


def methods_under_test(supernet: Supernet, data: ImageData, batch_size: int,
                       default_threads: int) -> tuple[Evaluator, dict[str, Method]]:
    calibration = [x for x, _ in data.batches(data.calibration, len(data.calibration))]
    inputs = data.normalize(data.validation.images)

    def engine(threads: int, chunk: int, channels_last: bool) -> Method:
        options = EngineOptions(threads=threads, chunk_size=chunk, channels_last=channels_last)
        return SubnetEngine(copy.deepcopy(supernet), calibration, inputs, batch_size=batch_size, options=options).predictions

    def naive(threads: int) -> Method:
        def run(arch: Arch) -> np.ndarray:
            with intra_op_threads(threads):
                return naive_predictions(supernet, data, arch, batch_size)
        return run

    evaluator = Evaluator(supernet, data, split="validation", batch_size=batch_size)
    return evaluator, {
        f"naive, {default_threads} threads (torch default)": naive(default_threads),
        "naive, 1 thread": naive(1),
        f"engine: {default_threads} threads, batch {batch_size}, NCHW (the old Evaluator)": engine(default_threads, batch_size, False),
        f"engine: 1 thread, batch {batch_size}, NCHW": engine(1, batch_size, False),
        "engine: 1 thread, chunk 128, NCHW": engine(1, 128, False),
        "engine: 1 thread, chunk 64, channels_last": engine(1, 64, True),
        "engine: 1 thread, chunk 256, channels_last": engine(1, 256, True),
        f"engine: {default_threads} threads, chunk 128, channels_last": engine(default_threads, 128, True),
        "Evaluator (1 thread, chunk 128, channels_last)": evaluator.predictions,
    }


def time_interleaved(methods: dict[str, Method], archs: Sequence[Arch]) -> tuple[dict[str, float], list[np.ndarray]]:
    """Seconds per method over ``archs``; the methods take turns on each arch (rotating who goes first)
    so that load from other users of the machine falls on all of them alike. Asserts equal predictions."""
    seconds = dict.fromkeys(methods, 0.0)
    reference: list[np.ndarray] = []
    names = list(methods)
    for index, arch in enumerate(tqdm(archs, desc="interleaved methods", file=sys.stderr)):
        order = names[index % len(names):] + names[: index % len(names)]
        results = {}
        for name in order:
            start = time.perf_counter()
            results[name] = methods[name](arch)
            seconds[name] += time.perf_counter() - start
        reference.append(results[names[0]])
        for name, predictions in results.items():
            assert np.array_equal(predictions, reference[-1]), f"{name} disagrees with the naive path on {arch}"
    return seconds, reference


def time_workers(supernet: Supernet, data: ImageData, archs: Sequence[Arch], warmup: Sequence[Arch],
                 reference: Sequence[np.ndarray], batch_size: int, workers: int) -> dict[str, float]:
    with Evaluator(supernet, data, batch_size=batch_size, workers=workers) as evaluator:
        start = time.perf_counter()
        evaluator.evaluate_many(warmup)  # spawns the workers
        startup = time.perf_counter() - start
        start = time.perf_counter()
        predictions = evaluator.evaluate_many(archs)
        seconds = time.perf_counter() - start
    assert all(np.array_equal(p, r) for p, r in zip(predictions, reference)), "worker predictions differ from the naive path"
    return {"startup_seconds_incl_2_warmup_archs": startup, "seconds": seconds}


def time_folding_and_loop_order(supernet: Supernet, data: ImageData, archs: Sequence[Arch],
                                reference: Sequence[np.ndarray]) -> dict[str, float]:
    """Evaluation pass only, 1 thread, chunk 128: BN folded or not; archs-outer or chunks-outer loop."""
    calibration = [x for x, _ in data.batches(data.calibration, len(data.calibration))]
    inputs = data.normalize(data.validation.images)
    bounds = chunk_bounds(len(inputs), 128)
    modules = [recalibrate_module(supernet.extract(a), calibration) for a in archs]
    folded = [fold_batch_norms(copy.deepcopy(m)) for m in modules]
    out: dict[str, float] = {}
    with intra_op_threads(1), torch.inference_mode():
        for name, nets in (("unfolded", modules), ("bn_folded", folded)):
            start = time.perf_counter()
            preds = [torch.cat([net(inputs[a:b]).argmax(1) for a, b in bounds]).numpy() for net in nets]
            out[f"{name}_archs_outer_seconds"] = time.perf_counter() - start
            out[f"{name}_mismatched_predictions"] = int(sum((p != r).sum() for p, r in zip(preds, reference)))
        start = time.perf_counter()
        for a, b in bounds:  # every subnet on one chunk while it is in cache, then the next chunk
            for net in modules:
                net(inputs[a:b]).argmax(1)
        out["unfolded_chunks_outer_seconds"] = time.perf_counter() - start
    return out


def channels_last_deviation(engine: SubnetEngine, archs: Sequence[Arch]) -> dict[str, float]:
    """How far the supernet's channels-last logits stray from its contiguous ones, beside the top-2 margins,
    both relative to ``1 + |top-1 logit|`` as the tie check measures them."""
    deviation, margin = 0.0, float("inf")
    with intra_op_threads(1), torch.inference_mode():
        for arch in archs:
            engine.recalibrate(arch)
            exact = torch.cat([engine.supernet(engine.inputs[a:b], arch) for a, b in engine.bounds])
            fast = torch.cat([engine.supernet(engine.inputs[a:b].contiguous(memory_format=torch.channels_last), arch)
                              for a, b in engine.bounds])
            top2 = exact.topk(2, dim=1).values
            scale = 1 + top2[:, 0].abs()
            deviation = max(deviation, float(((fast - exact).abs().amax(dim=1) / scale).max()))
            margin = min(margin, float(((top2[:, 0] - top2[:, 1]) / scale).min()))
    return {"channels_last_max_relative_logit_deviation": deviation, "min_relative_top2_margin": margin}


def search_stream(checkpoint: Path, args: argparse.Namespace) -> dict[str, float]:
    """The cache on the stream a real NSGA-II family search asks for (repeats included)."""
    config = SearchConfig(dataset=args.dataset, data_path=args.data_path, supernet=str(checkpoint), seed=args.seed,
                          population=args.population, generations=args.generations, validation_size=args.validation_size)
    session = build_session(config, None, progress=False)
    problem = session.problem()
    algorithm = make_search_algorithm(session)
    algorithm.setup(problem, seed=config.seed, termination=MaximumGenerationTermination(config.generations), verbose=False)
    start = time.perf_counter()
    with intra_op_threads(1):  # keep the search's own numpy/pymoo work off the second core too
        for _ in tqdm(range(config.generations), desc="search stream", file=sys.stderr):
            algorithm.next()
    requested = int(algorithm.evaluator.n_eval) * config.members
    return {"generations": config.generations, "population": config.population, "members": config.members,
            "subnets_requested": requested, "subnets_computed": session.evaluator.n_computed,
            "cache_hit_share": 1 - session.evaluator.n_computed / requested, "search_seconds": time.perf_counter() - start}


def machine() -> str:
    try:
        model = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        model = platform.machine()
    return f"{model}, {os.cpu_count()} cores"


def print_rates(rates: dict[str, float], naive: str, naive_one_thread: str) -> None:
    print(f"\n{'method':75s} {'subnets/s':>9s} {'x naive':>8s} {'x naive@1':>9s}")
    for name, rate in rates.items():
        print(f"{name:75s} {rate:9.3f} {rate / rates[naive]:8.2f} {rate / rates[naive_one_thread]:9.2f}")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = ArgumentParser(prog="bench_evaluator.py", description=__doc__)
    parser.add_argument("--dataset", default="default", help="regnas data set name (default: the embedded subset)")
    parser.add_argument("--data-path", default=None)
    parser.add_argument("--validation-size", type=int, default=None)
    parser.add_argument("--checkpoint", type=Path, default=None, help="trained supernet; else a random one (--channels, --cells)")
    parser.add_argument("--channels", type=int, default=8)
    parser.add_argument("--cells", type=int, default=1)
    parser.add_argument("--n-archs", type=int, default=12, help="random archs with distinct functional keys")
    parser.add_argument("--batch-size", type=int, default=500, help="the Evaluator's (and the naive loop's) batch size")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--population", type=int, default=20, help="search stream: NSGA-II population")
    parser.add_argument("--generations", type=int, default=12, help="search stream: generations (0 skips it)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True, help="JSON of every timing")
    return parser.parse_args(argv)


@entry_point("bench_evaluator.py")
def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    default_threads = torch.get_num_threads()
    space = get_space("nasbench201")
    data = load_data(args.dataset, args.data_path, seed=args.seed, validation_size=args.validation_size)
    if args.checkpoint is not None:
        supernet = load_supernet(args.checkpoint, space.name)
    else:
        supernet = space.supernet(C=args.channels, N=args.cells, num_classes=data.num_classes,
                                  in_channels=data.in_channels, init_seed=args.seed)
    rng = np.random.default_rng(args.seed)
    drawn = distinct_archs(space, args.n_archs + 2, rng)
    archs, warmup = drawn[:-2], drawn[-2:]
    evaluator, methods = methods_under_test(supernet, data, args.batch_size, default_threads)
    load_before = os.getloadavg()[0]
    seconds, reference = time_interleaved(methods, archs)
    result = {
        "load_average_1min_before_after": [load_before, os.getloadavg()[0]],
        "date": date.today().isoformat(), "command": " ".join(sys.argv), "machine": machine(),
        "torch": torch.__version__, "default_threads": default_threads, "supernet": supernet.settings,
        "data": data.describe(), "n_archs": len(archs), "batch_size": args.batch_size,
        "subnets_per_second": {name: len(archs) / s for name, s in seconds.items()},
        "evaluator_rechecked_samples": evaluator.n_rechecked, "evaluated_samples": len(archs) * len(data.validation),
    }
    atomic_write_json(args.out, result)  # each section is kept as soon as it is measured
    if args.workers > 1:
        workers = time_workers(supernet, data, archs, warmup, reference, args.batch_size, args.workers)
        result["subnets_per_second"][f"Evaluator.evaluate_many, {args.workers} worker processes"] = len(archs) / workers["seconds"]
        result["workers"] = workers
    print_rates(result["subnets_per_second"], f"naive, {default_threads} threads (torch default)", "naive, 1 thread")
    result["eval_pass_ablation"] = time_folding_and_loop_order(supernet, data, archs, reference)
    result["tie_check"] = channels_last_deviation(evaluator.engine, archs)
    atomic_write_json(args.out, result)
    print({k: (round(v, 3) if isinstance(v, float) else v) for k, v in result["eval_pass_ablation"].items()})
    print(result["tie_check"], f"rechecked {result['evaluator_rechecked_samples']} of {result['evaluated_samples']} samples")
    if args.generations:
        with tempfile.TemporaryDirectory() as tmp:
            checkpoint = args.checkpoint or save_checkpoint(Path(tmp) / "supernet.pt", supernet)
            result["search_stream"] = search_stream(checkpoint, args)
        print(result["search_stream"])
        atomic_write_json(args.out, result)
    print(f"-> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
