"""The search loop: one pymoo generation at a time, an atomic checkpoint after each, resumable to the same result."""
from __future__ import annotations

import json
import dill  # pymoo keeps decorated local functions (e.g. NSGA-III selection) that pickle cannot name
import sys
import time
from collections.abc import Callable
from pathlib import Path

from pymoo.core.algorithm import Algorithm
from pymoo.core.repair import NoRepair
from pymoo.termination.max_gen import MaximumGenerationTermination

from evolution.algorithms import make_algorithm
from evolution.config import SearchConfig
from evolution.crossover import make_crossover
from evolution.duplicates import CanonicalDuplicateElimination
from evolution.mutation import RandomResetMutation
from evolution.repair import NestedChainRepair
from evolution.result import SearchResult, build_result
from evolution.sampling import NestedFamilySampling
from evolution.session import Session, build_session, check_config
from regnas.errors import CheckpointError, ConfigError
from regnas.io import atomic_write, atomic_write_json, atomic_write_text

CHECKPOINT = "checkpoint.pkl"
CHECKPOINT_FORMAT = "regnas-search/1"


def make_search_algorithm(session: Session) -> Algorithm:
    config, genome = session.config, session.genome
    operators = {
        "sampling": NestedFamilySampling(genome, nested=config.nested),
        "crossover": make_crossover(config.crossover, genome, config.crossover_prob),
        "mutation": RandomResetMutation(prob_var=config.mutation_prob_var),
        "repair": NestedChainRepair(genome) if config.nested else NoRepair(),
        "eliminate_duplicates": CanonicalDuplicateElimination(genome),
    }
    n_obj = sum(len(o.columns(session.context.member_names)) for o in session.objectives)
    return make_algorithm(config.algorithm, config.population, n_obj, operators)


def search(
    config: SearchConfig,
    run_dir: str | Path,
    *,
    resume: bool = False,
    progress: bool = True,
    on_generation: Callable[[dict], None] | None = None,
    workers: int = 1,
    cache_dir: str | Path | None = None,
) -> SearchResult:
    """Run (or resume) a search into ``run_dir`` and return its result.

    After every generation the pymoo algorithm (with its random generator), the history and the
    evaluation cache are written atomically; Ctrl-C keeps the last completed generation, and
    ``resume=True`` continues from it to exactly the result of an uninterrupted run.
    ``on_generation(record)`` is called after each generation's checkpoint (monitoring, early stopping).
    ``workers > 1`` evaluates each generation's new sub-networks in that many processes (the result
    does not depend on it; from a script, guard the call with ``if __name__ == "__main__":``).
    ``cache_dir`` keeps the evaluation cache elsewhere than in ``run_dir`` (searches that share a supernet
    and data can share one; its key covers everything that determines a prediction).
    """
    run_dir = Path(run_dir)
    checkpoint_path = run_dir / CHECKPOINT
    if resume:
        saved = read_search_checkpoint(run_dir)
        if saved["config"] != {**config.to_dict(), "generations": saved["config"]["generations"]}:
            raise ConfigError(f"run {str(run_dir)!r} was started with another config; only --generations may change on resume")
        if config.generations < saved["generation"]:
            raise ConfigError(f"--generations {config.generations} is below the {saved['generation']} generations "
                              f"run {str(run_dir)!r} has done already")
    elif checkpoint_path.exists():
        raise ConfigError(f"run folder {str(run_dir)!r} already holds a search; resume it with --resume {run_dir} or choose another --out")
    check_config(config)
    session = build_session(config, Path(cache_dir) if cache_dir is not None else run_dir, progress=progress,
                            workers=workers)
    atomic_write_json(run_dir / "config.json", config.to_dict())
    if resume:
        if saved["supernet_checksum"] != session.evaluator.checksum:
            raise CheckpointError(f"run {str(run_dir)!r} was searched on supernet {saved['supernet_checksum']}, "
                                  f"but the supernet now loaded is {session.evaluator.checksum}")
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
                print(format_record(record, problem.columns, config.generations), file=sys.stderr)
            if on_generation is not None:
                on_generation(record)
    except KeyboardInterrupt:
        session.evaluator.save_cache()
        session.evaluator.close()
        print(f"\ninterrupted after generation {len(history)}; continue with: regnas-evolve --resume {run_dir}",
              file=sys.stderr)
        raise
    session.evaluator.close()
    result = build_result(session, algorithm, history, run_dir)
    result.write(run_dir)
    return result


def generation_record(algorithm: Algorithm, session: Session, generation: int, seconds: float, computed: int,
                      evaluation_seconds: float) -> dict:
    problem = algorithm.problem
    pop = algorithm.pop
    opt_keys = {session.genome.key(x) for x in algorithm.opt.get("X")}
    population = []
    for ind in pop:
        view = problem.family(ind.X)
        population.append({
            "members": [m.arch_str for m in view],
            "nfr": view.consecutive("nfr"),
            "objectives": (ind.F * problem.signs).tolist(),
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
        "front_size": len(opt_keys),
        "population": population,
    }


def format_record(record: dict, columns: list[str], generations: int) -> str:
    front = [p for p in record["population"] if p["front"]]
    best = []
    for j, column in enumerate(columns[:4]):
        values = [p["objectives"][j] for p in front]
        pick = max(values) if column.startswith(("accuracy", "reward")) else min(values)
        best.append(f"{column} {pick:.4g}")
    return (f"gen {record['generation']:>3}/{generations}  evals {record['evaluations']:>5}  "
            f"new subnets {record['subnets_computed']:>3}  front {record['front_size']:>3}  "
            f"best {'  '.join(best)}  {record['seconds']:.1f}s")


def write_checkpoint(run_dir: Path, config: SearchConfig, algorithm: Algorithm, history: list[dict], session: Session) -> None:
    payload = {"format": CHECKPOINT_FORMAT, "config": config.to_dict(), "generation": len(history),
               "algorithm": algorithm, "history": history, "supernet_checksum": session.evaluator.checksum}
    session.evaluator.save_cache()
    atomic_write(run_dir / CHECKPOINT, lambda handle: dill.dump(payload, handle))
    atomic_write_text(run_dir / "history.jsonl", "".join(json.dumps(r) + "\n" for r in history))


def read_search_checkpoint(run_dir: str | Path) -> dict:
    path = Path(run_dir) / CHECKPOINT
    if not path.is_file():
        raise CheckpointError(f"{str(run_dir)!r} holds no search checkpoint ({CHECKPOINT}); is it a regnas run folder?")
    try:
        with open(path, "rb") as handle:
            saved = dill.load(handle)
    except Exception as error:  # unpickling raises many types for a foreign or broken file
        raise CheckpointError(f"cannot read search checkpoint {str(path)!r} ({type(error).__name__})") from None
    if not isinstance(saved, dict) or saved.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{str(path)!r} is not a regnas search checkpoint ({CHECKPOINT_FORMAT})")
    return saved


def load_config(run_dir: str | Path) -> SearchConfig:
    return SearchConfig.from_dict(read_search_checkpoint(run_dir)["config"])
