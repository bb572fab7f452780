"""regnas-bench exact-front: evaluate every functional key of the default problem, then its exact front and HV."""
from __future__ import annotations

import csv
import io
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from evolution.config import SearchConfig
from evolution.exact_front import ExactFront, FamilySpace, exact_front
from evolution.hypervolume import hypervolume, reference_point
from evolution.run_folder import RunLock
from evolution.session import Session, build_session, check_config
from regnas.budgets import ENUMERATION_LIMIT
from regnas.errors import ConfigError
from regnas.evaluate import Evaluator
from regnas.io import atomic_write_json, atomic_write_text
from search_spaces.base import Arch

ORDER_SEED = 0  # the fixed order of functional keys (--limit K takes the first K): a seeded permutation
SAVE_SECONDS = 120.0  # the prediction cache is written at least this often while evaluating
PROGRESS_SECONDS = 30.0
CHUNK = 16  # sub-networks handed to the evaluator at once (per worker)
CLUSTER_CHUNKS = 16  # with a Dask scheduler: CHUNK times this at once (the cluster's size is its own)


@dataclass(frozen=True)
class Enumeration:
    """Every architecture of the space (gene rows) and its functional key; the keys in evaluation order."""

    archs: list[Arch]
    arch_key: np.ndarray  # per architecture: the index of its key in ``keys``
    keys: list[str]  # in evaluation order
    representative: list[Arch]  # per key: the first architecture (enumeration order) that has it


def check_exact_problem(config: SearchConfig) -> None:
    """The exact front is computed for two nested members under latency budgets and objectives error, nf (sum)."""
    check_config(config)
    if config.members != 2 or not config.nested or config.objective_specs != ["error", "nf"] or config.flip_reduce != "sum":
        raise ConfigError("the exact front is computed for two nested members, objectives error,nf and flip "
                          f"reduction sum; got {config.members} members, nested={config.nested}, "
                          f"objectives {','.join(config.objective_specs)}, flip reduction {config.flip_reduce}")
    from search_spaces.registry import get_space

    if get_space(config.space).size > ENUMERATION_LIMIT:
        raise ConfigError(f"space {config.space!r} is too large to enumerate (more than {ENUMERATION_LIMIT:,} architectures)")


def enumerate_space(session: Session) -> Enumeration:
    from regnas.latency.bounds import gene_indices

    space = session.space
    archs = [space.decode(code) for code in gene_indices(space)]
    first: dict[str, int] = {}
    names = [session.evaluator.key(a) for a in archs]
    for i, key in enumerate(names):
        first.setdefault(key, i)
    keys = sorted(first, key=first.__getitem__)
    keys = [keys[i] for i in np.random.default_rng(ORDER_SEED).permutation(len(keys))]
    position = {key: i for i, key in enumerate(keys)}
    return Enumeration(archs, np.array([position[k] for k in names], dtype=np.int64), keys,
                       [archs[first[k]] for k in keys])


def evaluate_keys(evaluator: Evaluator, archs: list[Arch], *, workers: int, progress: bool, chunk: int) -> int:
    """Evaluate those of ``archs`` (one per key) not cached yet; save the cache every ``SAVE_SECONDS`` and on
    Ctrl-C, so a rerun continues. Returns how many were computed now."""
    todo = [a for a in archs if not evaluator.is_cached(a)]
    if progress:
        print(f"{len(archs) - len(todo):,} of {len(archs):,} functional keys cached, {len(todo):,} to evaluate"
              + (f" with {workers} workers" if workers > 1 else ""), file=sys.stderr)
    start = last_save = last_print = time.perf_counter()
    done = 0
    try:
        for begin in range(0, len(todo), chunk):
            part = todo[begin:begin + chunk]
            evaluator.evaluate_many(part)
            done += len(part)
            now = time.perf_counter()
            if now - last_save >= SAVE_SECONDS:
                evaluator.save_cache()
                last_save = now
            if progress and (now - last_print >= PROGRESS_SECONDS or done == len(todo)):
                last_print = now
                rate = done / (now - start)
                print(f"  evaluated {done:,}/{len(todo):,}  {rate:.2f} subnets/s  "
                      f"about {(len(todo) - done) / rate / 60:.0f} min left", file=sys.stderr)
    except KeyboardInterrupt:
        evaluator.save_cache()
        evaluator.close()
        print(f"\ninterrupted: {done:,} new keys saved; run the same command again to continue", file=sys.stderr)
        raise
    evaluator.save_cache()
    evaluator.close()
    return done


def family_space(session: Session, enum: Enumeration, evaluated: int) -> FamilySpace:
    """The enumeration's arrays, with only the first ``evaluated`` keys counted as evaluated."""
    space, latency_ms = session.space, session.context.latency_ms
    ok = []
    for budget in session.budgets:
        if budget.kind != "latency":
            raise ConfigError(f"the exact front needs latency budgets (priced for every architecture by its table); "
                              f"got {budget.name}")
        # The search's own prices and constraint (a pymoo constraint is met at <= 0), so that a family is
        # feasible here exactly when it is feasible in a search.
        cost = np.array([latency_ms(a, budget.platform) for a in enum.archs])
        ok.append(budget.excess(cost) <= 0)
    key_index = np.where(enum.arch_key < evaluated, enum.arch_key, -1)
    correct = [session.evaluator.correct(a) for a in enum.representative[:evaluated]]
    return FamilySpace.from_correct(np.array([space.footprint(a) for a in enum.archs]), key_index, ok[0], ok[1], correct)


def run_exact_front(out: str | Path, *, workers: int = 1, limit: int | None = None, progress: bool = True,
                    config: SearchConfig | None = None, scheduler: str | None = None) -> dict:
    """Evaluate the first ``limit`` functional keys (all by default) into ``out``'s prediction cache, then write
    the exact front (``front.csv``, ``front.json``) and ``summary.json``; returns the summary. ``scheduler``
    (``tcp://HOST:PORT``) evaluates on that Dask cluster's workers instead of ``workers`` local processes."""
    config = config or SearchConfig()
    check_exact_problem(config)
    if limit is not None and limit < 1:
        raise ConfigError(f"--limit must be at least 1, got {limit}")
    out = Path(out)
    started = time.perf_counter()
    with RunLock(out):
        session = build_session(config, out, progress=progress, workers=workers, scheduler=scheduler)
        enum = enumerate_space(session)
        evaluated = len(enum.keys) if limit is None else min(limit, len(enum.keys))
        t0 = time.perf_counter()
        chunk = CHUNK * (workers if scheduler is None else CLUSTER_CHUNKS)
        computed = evaluate_keys(session.evaluator, enum.representative[:evaluated], workers=workers, progress=progress,
                                 chunk=chunk)
        evaluation_seconds = time.perf_counter() - t0
        t0 = time.perf_counter()
        front = exact_front(family_space(session, enum, evaluated))
        enumeration_seconds = time.perf_counter() - t0
        columns = [c for o in session.objectives for c in o.columns(config.member_names)]
        summary = {
            "complete": evaluated == len(enum.keys),
            "architectures": len(enum.archs),
            "functional_keys": len(enum.keys),
            "keys_evaluated": evaluated,
            "keys_computed_now": computed,
            "feasible_small": front.feasible_small,
            "feasible_large": front.feasible_large,
            "nested_pairs": front.nested_pairs,
            "front_points": front.size,
            "front_families": int(front.families.sum()),
            "hypervolume": hypervolume(front.objectives(), columns, front.n),
            "reference_point": dict(zip(columns, reference_point(columns, front.n).tolist())),
            "columns": columns,
            "validation_samples": front.n,
            "budgets": {b.platform: b.limit for b in session.budgets},
            "seconds": {"evaluation": round(evaluation_seconds, 1), "enumeration": round(enumeration_seconds, 1),
                        "total": round(time.perf_counter() - started, 1)},
            "workers": workers, "scheduler": scheduler,
            "supernet_checksum": session.evaluator.checksum,
            "prediction_cache": session.evaluator.cache_file.name,
            "config": config.to_dict(),
        }
        write_front(out, front, enum, session, columns)
        atomic_write_json(out / "summary.json", summary)
    return summary


def front_rows(front: ExactFront, enum: Enumeration, session: Session) -> list[dict]:
    to_str = session.space.to_str
    return [{"members": [to_str(enum.archs[front.small[i]]), to_str(enum.archs[front.large[i]])],
             "objectives": front.objectives()[i].tolist(), "families": int(front.families[i])}
            for i in range(front.size)]


def write_front(out: Path, front: ExactFront, enum: Enumeration, session: Session, columns: list[str]) -> None:
    rows = front_rows(front, enum, session)
    atomic_write_json(out / "front.json", {"columns": columns, "validation_samples": front.n, "front": rows})
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(["arch[1]", "arch[2]", *columns, "families"])
    for row in rows:
        writer.writerow([*row["members"], *[f"{v:.6g}" for v in row["objectives"]], row["families"]])
    atomic_write_text(out / "front.csv", text.getvalue())
