"""The search loop: one pymoo generation at a time, an atomic checkpoint after each, resumable to the same result."""
from __future__ import annotations

import json
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
from pymoo.core.algorithm import Algorithm
from pymoo.core.repair import NoRepair
from pymoo.termination.max_gen import MaximumGenerationTermination

from evolution.algorithms import make_algorithm
from evolution.checkpoint import CHECKPOINT_FORMAT, read_search_checkpoint, require_checkpoint, write_search_checkpoint
from evolution.config import SearchConfig
from evolution.crossover import make_crossover
from evolution.duplicates import KeyDuplicateElimination
from evolution.mutation import RandomResetMutation
from evolution.repair import NestedChainRepair
from evolution.result import SearchResult, build_result
from evolution.run_folder import CHECKPOINT, RunLock, check_run_options, claim_new_run  # CHECKPOINT: for callers
from evolution.sampling import SAMPLINGS
from evolution.session import Session, build_session, check_config
from regnas.device import resolve_device
from regnas.errors import CheckpointError, ConfigError, ResumeWarning
from regnas.io import atomic_write_json, atomic_write_text


def make_search_algorithm(session: Session) -> Algorithm:
    config, genome = session.config, session.genome
    operators = {
        "sampling": SAMPLINGS[config.sampling](genome, nested=config.nested),
        "crossover": make_crossover(config.crossover, genome, config.crossover_prob),
        "mutation": RandomResetMutation(prob_var=config.mutation_prob_var),
        "repair": NestedChainRepair(genome) if config.nested else NoRepair(),
        "eliminate_duplicates": KeyDuplicateElimination(genome, config.duplicates),
    }
    n_obj = sum(len(o.columns(session.context.member_names)) for o in session.objectives)
    return make_algorithm(config.algorithm, config.population, n_obj, operators)


def search(
    config: SearchConfig,
    run_dir: str | Path,
    *,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = True,
    on_generation: Callable[[dict], None] | None = None,
    workers: int = 1,
    cache_dir: str | Path | None = None,
    device: str = "cpu",
    scheduler: str | None = None,
) -> SearchResult:
    """Run (or resume) a search into ``run_dir`` and return its result.

    After every generation the pymoo algorithm (with its random generator), the history and the
    evaluation cache are written atomically; Ctrl-C keeps the last completed generation, and
    ``resume=True`` continues from it to exactly the result of an uninterrupted run.
    A folder that holds another run's files is refused unless ``resume`` or ``overwrite`` (which
    deletes that run's files first); while the search runs it holds an OS lock on the folder, and a
    second search on the same folder is refused.
    ``on_generation(record)`` is called after each generation's checkpoint (monitoring, early stopping).
    ``workers > 1`` evaluates each generation's new sub-networks in that many processes (the result
    does not depend on it; from a script, guard the call with ``if __name__ == "__main__":``).
    ``cache_dir`` keeps the evaluation cache elsewhere than in ``run_dir`` (searches that share a supernet
    and data can share one; its key covers everything that determines a prediction).
    ``device`` runs the sub-networks (and trains a quick supernet) there: ``auto``, ``cpu`` or ``cuda[:N]``
    (``regnas.evaluate.Evaluator`` says how a GPU's predictions can differ from a CPU's).
    ``scheduler`` (``tcp://HOST:PORT``) evaluates them on the workers of that Dask cluster instead of ``workers``
    local processes (the result does not depend on it either).
    """
    run_dir = Path(run_dir)
    check_run_options(resume=resume, overwrite=overwrite)
    if resume:
        require_checkpoint(run_dir)  # before the lock would create the folder
    check_config(config)
    if scheduler is not None:  # an unreachable cluster fails before a folder is claimed or a supernet trained
        from regnas.eval_dask import connect

        if workers > 1 or resolve_device(device).type != "cpu":
            raise ConfigError(f"scheduler {scheduler!r} spreads the evaluation over a cluster's CPUs: give neither "
                              f"workers ({workers}) nor device {device!r}")
        connect(scheduler).close()
    with RunLock(run_dir):
        saved = None
        if resume:
            saved = read_search_checkpoint(run_dir)
            if saved["config"] != {**config.to_dict(), "generations": saved["config"]["generations"]}:
                raise ConfigError(f"run {str(run_dir)!r} was started with another config; only --generations may change on resume")
            if config.generations < saved["generation"]:
                raise ConfigError(f"--generations {config.generations} is below the {saved['generation']} generations "
                                  f"run {str(run_dir)!r} has done already")
        else:
            claim_new_run(run_dir, overwrite=overwrite)
        return _run(config, run_dir, saved, progress=progress, on_generation=on_generation, workers=workers,
                    cache_dir=Path(cache_dir) if cache_dir is not None else run_dir, device=device, scheduler=scheduler)


def _run(config: SearchConfig, run_dir: Path, saved: dict | None, *, progress: bool,
         on_generation: Callable[[dict], None] | None, workers: int, cache_dir: Path, device: str,
         scheduler: str | None) -> SearchResult:
    session = build_session(config, cache_dir, progress=progress, workers=workers, device=device, scheduler=scheduler,
                            trained_on=None if saved is None else saved.get("device"))
    if saved is not None:
        if saved["supernet_checksum"] != session.evaluator.checksum:
            started_on = saved.get("device", session.evaluator.device.type)
            hint = ("" if started_on == session.evaluator.device.type else
                    f" (a quick supernet trained on {session.evaluator.device.type} has other weights than the one "
                    f"trained on {started_on}: resume with --device {started_on})")
            raise CheckpointError(f"run {str(run_dir)!r} was searched on supernet {saved['supernet_checksum']}, "
                                  f"but the supernet now loaded is {session.evaluator.checksum}{hint}")
        check_same_evaluation(saved, session, run_dir)
        algorithm, history = saved["algorithm"], saved["history"]
        algorithm.problem.attach(session.context, session.objectives)
        problem = algorithm.problem
    else:
        algorithm, history, problem = make_search_algorithm(session), [], session.problem()
        algorithm.setup(problem, seed=config.seed, verbose=False)
    # The loop below counts generations; pymoo's termination is set only so that it never stops first.
    algorithm.termination = MaximumGenerationTermination(config.generations)
    if progress:
        print(f"searching {config.generations} generations of {config.population} {config.members}-member families "
              f"({config.algorithm}; objectives {', '.join(problem.columns)})", file=sys.stderr)
    try:
        while len(history) < config.generations:
            start = time.perf_counter()
            computed_before, evaluating_before = session.evaluator.n_computed, problem.evaluation_seconds
            algorithm.next()
            record = generation_record(algorithm, session, len(history) + 1, time.perf_counter() - start,
                                       session.evaluator.n_computed - computed_before,
                                       problem.evaluation_seconds - evaluating_before)
            history.append(record)
            write_checkpoint(run_dir, config, algorithm, history, session)
            if progress:
                print(format_record(record, config.generations), file=sys.stderr)
            if on_generation is not None:
                on_generation(record)
    except KeyboardInterrupt:
        if history or cache_dir != run_dir:  # a run stopped before its first generation leaves no run files
            session.evaluator.save_cache()
        session.evaluator.close()
        if history:
            print(f"\ninterrupted after generation {len(history)}; continue with: regnas-evolve --resume {run_dir}",
                  file=sys.stderr)
        else:
            print("\ninterrupted before the first generation was saved; nothing to resume (start the search again)",
                  file=sys.stderr)
        raise
    session.evaluator.close()
    result = build_result(session, algorithm, history, run_dir)
    result.write(run_dir)
    return result


def check_same_evaluation(saved: dict, session: Session, run_dir: Path) -> None:
    """A resumed run judges its sub-networks on the images it started with (refused otherwise: one front would
    mix two data sets), and says so when it goes on on another kind of device (whose kernels round otherwise:
    a prediction within rounding of a tie may change; each generation's record names its device)."""
    evaluator = session.evaluator
    if saved.get("images_digest", evaluator.images_digest) != evaluator.images_digest:
        raise CheckpointError(f"run {str(run_dir)!r} was evaluated on other images than those now loaded (digest "
                              f"{saved['images_digest'][:12]}, now {evaluator.images_digest[:12]}): its data file or "
                              "the embedded data changed; resume it on the same data or start a new run")
    before = saved.get("device", evaluator.device.type)
    if before != evaluator.device.type:
        warnings.warn(f"run {str(run_dir)!r} was evaluated on {before}; it goes on on {evaluator.device.type}, whose "
                      "kernels round otherwise, so a sub-network's prediction within rounding of a tie may differ "
                      "(each generation's record names its device)", ResumeWarning, stacklevel=3)


def generation_record(algorithm: Algorithm, session: Session, generation: int, seconds: float, computed: int,
                      evaluation_seconds: float) -> dict:
    problem = algorithm.problem
    pop = algorithm.pop
    opt_keys = {session.genome.key(x) for x in problem.front(algorithm).get("X")}
    population = []
    for ind in pop:
        view = problem.family(ind.X)
        evaluated = bool(np.isfinite(ind.F).all())  # not: over a budget with skip_over_budget
        population.append({
            "members": [m.arch_str for m in view],
            "nfr": view.consecutive("nfr") if evaluated else None,
            "objectives": (ind.F * problem.signs).tolist() if evaluated else None,
            "violation": float(ind.CV[0]) if ind.CV is not None else 0.0,
            "front": session.genome.key(ind.X) in opt_keys,
        })
    return {
        "generation": generation,
        "evaluations": int(algorithm.evaluator.n_eval),
        "subnets_computed": computed,
        "seconds": round(seconds, 3),
        "evaluation_seconds": round(evaluation_seconds, 3),
        "columns": problem.columns,
        "directions": problem.directions,
        "units": problem.units,
        "labels": problem.labels,
        "front_size": len(opt_keys),
        "device": session.evaluator.device.type,
        "population": population,
    }


def format_record(record: dict, generations: int) -> str:
    """One progress line; "best" of each column follows the objective's recorded direction."""
    front = [p for p in record["population"] if p["front"] and p["objectives"] is not None]
    best = []
    for j, (column, direction) in enumerate(list(zip(record["columns"], record["directions"]))[:4]):
        values = [p["objectives"][j] for p in front]
        if values:
            best.append(f"{column} {max(values) if direction == 'max' else min(values):.4g}")
    return (f"gen {record['generation']:>3}/{generations}  evals {record['evaluations']:>5}  "
            f"new subnets {record['subnets_computed']:>3}  front {record['front_size']:>3}  "
            f"best {'  '.join(best)}  {record['seconds']:.1f}s")


def write_checkpoint(run_dir: Path, config: SearchConfig, algorithm: Algorithm, history: list[dict], session: Session) -> None:
    payload = {"format": CHECKPOINT_FORMAT, "config": config.to_dict(), "generation": len(history),
               "algorithm": algorithm, "history": history, "supernet_checksum": session.evaluator.checksum,
               "images_digest": session.evaluator.images_digest, "device": session.evaluator.device.type}
    session.evaluator.save_cache()
    # config.json comes with the first checkpoint: a run stopped before it leaves no run file to refuse a restart.
    atomic_write_json(run_dir / "config.json", config.to_dict())
    write_search_checkpoint(run_dir, payload)
    atomic_write_text(run_dir / "history.jsonl", "".join(json.dumps(r) + "\n" for r in history))


def load_config(run_dir: str | Path) -> SearchConfig:
    return SearchConfig.from_dict(read_search_checkpoint(run_dir)["config"])
