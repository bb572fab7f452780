"""Measure latency on this machine with PyTorch: every op key of a space (a table), or whole networks."""
from __future__ import annotations

import datetime
import platform
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from regnas.errors import ConfigError
from regnas.latency.schemes import codes_of
from regnas.latency.table import LatencyTable, LatencyTableError
from regnas.latency.threads import torch_threads
from search_spaces.base import Arch, SearchSpace
from search_spaces.latency import ProfilingHooks
from search_spaces.registry import SPACES

# A timed sample loops an op until it lasts this long: long enough that timer overhead is small for
# the tiniest ops, short enough that few samples are cut by the scheduler on a shared machine.
MIN_SAMPLE_S = 5e-5


def profiling_hooks(space: SearchSpace) -> ProfilingHooks:
    """The space's hooks (``SearchSpace.profiling_hooks``), or ConfigError naming the spaces that have them."""
    hooks = space.profiling_hooks()
    if hooks is None:
        able = [name for name in SPACES if SPACES.get(name).profiling_hooks() is not None]
        raise ConfigError(f"space {space.name!r} cannot be profiled yet: it gives no profiling hooks; "
                          f"spaces with profiling hooks: {', '.join(able) or '(none)'}")
    return hooks


def clock_for(threads: int) -> Callable[[], int]:
    """With one thread, the CPU time of this thread: compute-bound work takes that long on an idle
    machine, and time the scheduler gives to other jobs on a shared one is left out. With more
    threads, wall-clock time (CPU time would add up the threads' work)."""
    return time.thread_time_ns if threads == 1 else time.perf_counter_ns


def time_calls(
    calls: Sequence[Callable[[], Any]], *, warmup: int, repeats: int, clock: Callable[[], int] = time.perf_counter_ns, progress: str | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(median, interquartile range) in ms of one call of each of ``calls``.

    Samples are taken in rounds, each round timing every call once, so a passing change of load
    (other jobs, clock speed) touches all calls alike instead of skewing whichever ran then.
    """
    with torch.inference_mode():
        numbers = []
        for run in calls:
            for _ in range(warmup):
                run()
            start = time.perf_counter_ns()
            run()
            numbers.append(max(1, int(MIN_SAMPLE_S / (max(time.perf_counter_ns() - start, 100) / 1e9))))
        samples = np.empty((repeats, len(calls)))
        for r in tqdm(range(repeats), desc=progress, unit="round", disable=progress is None):
            for j, (run, number) in enumerate(zip(calls, numbers)):
                start = clock()
                for _ in range(number):
                    run()
                samples[r, j] = (clock() - start) / number / 1e6
    low, median, high = np.percentile(samples, [25, 50, 75], axis=0)
    return median, high - low


def _round_robin(calls: Sequence[Callable[[], Any]]) -> Callable[[], Any]:
    """Each call runs the next copy of an op. In a network every op has its own weights, used once
    per forward pass, so timing one copy in a loop (weights always in cache) underestimates it."""
    state = {"next": 0}

    def run() -> Any:
        index = state["next"]
        state["next"] = (index + 1) % len(calls)
        return calls[index]()

    return run


def _check_counts(warmup: int, repeats: int, threads: int, batch: int) -> None:
    for name, value, least in (("warmup", warmup, 0), ("repeats", repeats, 1), ("threads", threads, 1), ("batch", batch, 1)):
        if value < least:
            raise ConfigError(f"{name} must be an integer >= {least}, got {value}")


def profile_table(
    space: SearchSpace,
    *,
    settings: Mapping[str, Any],
    input_shape: tuple[int, int, int],
    batch: int,
    threads: int,
    repeats: int,
    warmup: int,
    rng: np.random.Generator,
    device: str,
    progress: bool = True,
) -> LatencyTable:
    """Time every op key of ``space``'s ``ops`` scheme at ``settings`` and return the table."""
    _check_counts(warmup, repeats, threads, batch)
    hooks = profiling_hooks(space)
    full = {**space.supernet_defaults, **settings}
    keys = hooks.op_keys(full, input_shape)
    generator = torch.Generator().manual_seed(int(rng.integers(2**63 - 1)))
    replicas = hooks.max_repeats(full)
    calls = [_round_robin([hooks.build_op(key, batch, generator) for _ in range(replicas)]) for key in keys]
    with torch_threads(threads):
        medians, spreads = time_calls(calls, warmup=warmup + replicas, repeats=repeats, clock=clock_for(threads),
                                      progress=f"profiling {len(keys)} {space.name} ops" if progress else None)
    entries = dict(zip(keys, medians.tolist()))
    spread = dict(zip(keys, spreads.tolist()))
    meta = {
        "space": space.name,
        "device": device,
        "unit": "ms",
        "batch": batch,
        "input_shape": list(input_shape),
        "settings": dict(settings),
        "key_scheme": "ops",
        "resolution_ms": 1e-4,
        "threads": threads,
        "framework": f"torch {torch.__version__} (eager, inference mode, float32, CPU)",
        "host": f"{platform.machine()} {platform.processor() or platform.platform()}",
        "date": datetime.date.today().isoformat(),
        "method": (
            f"profiled op by op: median of {repeats} samples timed in rounds over all ops "
            f"({'thread CPU time' if threads == 1 else 'wall clock'}), after {warmup} warm-up calls, {threads} thread(s), "
            f"cycling through {replicas} copies of each op"
        ),
        "spread_ms": {k: round(v, 6) for k, v in spread.items()},
    }
    return LatencyTable(meta, {k: round(v, 6) for k, v in entries.items()})


def measure_networks(
    space: SearchSpace,
    archs: Sequence[Arch | str] | np.ndarray,
    *,
    settings: Mapping[str, Any],
    input_shape: tuple[int, int, int],
    batch: int,
    threads: int,
    repeats: int,
    warmup: int,
    rng: np.random.Generator,
    progress: bool = True,
) -> np.ndarray:
    """End-to-end latency (ms, median of repeats) of each architecture's standalone network."""
    _check_counts(warmup, repeats, threads, batch)
    hooks = profiling_hooks(space)
    full = {**space.supernet_defaults, **settings}
    generator = torch.Generator().manual_seed(int(rng.integers(2**63 - 1)))
    calls = [hooks.build_network(space.decode(row), full, input_shape, batch, generator) for row in codes_of(space, archs)]
    with torch_threads(threads):
        medians, _ = time_calls(calls, warmup=warmup, repeats=repeats, clock=clock_for(threads),
                                progress=f"timing {len(calls)} {space.name} networks" if progress else None)
    return medians


def check_table_settings(table: LatencyTable, settings: Mapping[str, Any], input_shape: tuple[int, int, int], batch: int) -> None:
    """Refuse to compare a table with networks of other settings than it prices."""
    mismatched = [f"{k}={v} (table {table.meta['settings'][k]})" for k, v in settings.items() if k in table.meta["settings"] and table.meta["settings"][k] != v]
    if list(table.input_shape) != list(input_shape):
        mismatched.append(f"input {list(input_shape)} (table {table.meta['input_shape']})")
    if table.meta["batch"] != batch:
        mismatched.append(f"batch {batch} (table {table.meta['batch']})")
    if mismatched:
        raise LatencyTableError(f"latency table {table.source or table.meta['device']!r} prices other settings: {', '.join(mismatched)}")
