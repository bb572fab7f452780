"""Search efficiency: replay searches and random search on a shared prediction cache, HV per distinct sub-network."""
from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
from pymoo.termination.max_gen import MaximumGenerationTermination

from evolution.hypervolume import hypervolume
from evolution.problem import FamilyProblem
from evolution.sampling import NestedFamilySampling
from evolution.search import make_search_algorithm
from evolution.session import Session

RANDOM = "random"  # random search: the search's own initial sampling (random nested chains), all budget long


class CountingProblem(FamilyProblem):
    """A FamilyProblem that remembers the functional key of every member it evaluated, and every feasible
    family's objectives: with a full prediction cache nothing is computed, and these say what a search
    starting from an empty cache would have computed (the Evaluator caches by functional key)."""

    def __init__(self, session: Session):
        super().__init__(session.genome, session.objectives, session.budgets, session.context)
        self.keys: set[str] = set()
        self.feasible: list[np.ndarray] = []

    def _evaluate(self, X, out, *args, **kwargs):
        super()._evaluate(X, out, *args, **kwargs)
        evaluator = self.context.evaluator
        for x in np.asarray(X, dtype=np.int64):
            self.keys.update(evaluator.key(a) for a in self.genome.decode(x))
        ok = (out["G"] <= 0).all(axis=1) if "G" in out and out["G"] is not None else np.ones(len(X), bool)
        self.feasible.extend(out["F"][ok] * self.signs)


@dataclasses.dataclass(frozen=True)
class CurvePoint:
    """After one generation (or one batch of random families): distinct sub-networks evaluated so far,
    families evaluated, HV of the front the search returns (its feasible non-dominated population) and HV
    of every feasible family evaluated so far (an archive the search does not keep)."""

    generation: int
    subnets: int
    families: int
    hv_front: float
    hv_archive: float


def replay(session: Session, algorithm: str, seed: int, generations: int) -> list[CurvePoint]:
    """Run ``algorithm`` (a registered name, or ``RANDOM``) for ``generations`` generations of the session's
    population size, exactly as ``search`` would (same operators, same seeding), recording a CurvePoint each."""
    config = dataclasses.replace(session.config, algorithm=algorithm if algorithm != RANDOM else session.config.algorithm,
                                 seed=seed)
    session = dataclasses.replace(session, config=config)
    problem = CountingProblem(session)
    n = len(session.evaluator.labels)
    points = []
    if algorithm == RANDOM:
        rng = np.random.default_rng(seed)
        sampling = NestedFamilySampling(session.genome, nested=config.nested)
        families = 0
        for generation in range(1, generations + 1):
            X = sampling.do(problem, config.population, random_state=rng).get("X")
            problem.evaluate(X, return_values_of=["F", "G"])
            families += len(X)
            archive = _archive(problem)
            points.append(CurvePoint(generation, len(problem.keys), families, hypervolume(archive, problem.columns, n),
                                     hypervolume(archive, problem.columns, n)))
        return points
    search = make_search_algorithm(session)
    search.setup(problem, seed=seed, verbose=False)
    search.termination = MaximumGenerationTermination(generations)
    for generation in range(1, generations + 1):
        search.next()
        points.append(CurvePoint(generation, len(problem.keys), int(search.evaluator.n_eval),
                                 hypervolume(returned_front(search), problem.columns, n),
                                 hypervolume(_archive(problem), problem.columns, n)))
    return points


def returned_front(search) -> np.ndarray:
    """Objectives (natural units) of the feasible families of the search's front (``algorithm.opt``)."""
    opt = search.opt
    feasible = opt.get("FEAS")[:, 0]
    return opt.get("F")[feasible] * search.problem.signs


def _archive(problem: CountingProblem) -> np.ndarray:
    return np.array(problem.feasible).reshape(-1, len(problem.columns))


def replay_all(session: Session, algorithms: Sequence[str], seeds: Sequence[int], generations: int,
               *, progress=None) -> dict[str, dict[int, list[CurvePoint]]]:
    """Curves of every algorithm and seed; random search runs until its distinct sub-networks reach the
    most any other algorithm used (so that it is compared at every budget they reach)."""
    curves: dict[str, dict[int, list[CurvePoint]]] = {}
    for algorithm in [a for a in algorithms if a != RANDOM]:
        curves[algorithm] = {}
        for seed in seeds:
            curves[algorithm][seed] = replay(session, algorithm, seed, generations)
            if progress:
                progress(f"{algorithm} seed {seed}: {curves[algorithm][seed][-1]}")
    if RANDOM in algorithms:
        target = max((c[-1].subnets for runs in curves.values() for c in runs.values()), default=0)
        curves[RANDOM] = {}
        for seed in seeds:
            points = replay(session, RANDOM, seed, generations)
            while points[-1].subnets < target:  # random families share fewer keys: it may need more batches
                points = replay(session, RANDOM, seed, 2 * len(points))
            curves[RANDOM][seed] = points
            if progress:
                progress(f"random seed {seed}: {points[-1]}")
    return curves

