"""Search efficiency: replay searches and random search on a shared prediction cache, HV per distinct sub-network."""
from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
from pymoo.termination.max_gen import MaximumGenerationTermination

from evolution.hypervolume import box_hypervolume, hypervolume
from evolution.problem import FamilyProblem, within_budgets
from evolution.sampling import NestedFamilySampling
from evolution.search import make_search_algorithm
from evolution.session import Session
from regnas.errors import UnknownNameError

RANDOM = "random"  # random search: random nested chains (the "random" initial sampling), all budget long


class CountingProblem(FamilyProblem):
    """A FamilyProblem that remembers the functional key of every member it evaluated, and every feasible
    family's objectives: with a full prediction cache nothing is computed, and these say what a search
    starting from an empty cache would have computed (the Evaluator caches by functional key)."""

    def __init__(self, session: Session):
        base = session.problem()
        super().__init__(base.genome, base.objectives, base.budgets, base.context, archive=base.archive,
                         skip_over_budget=base.skip_over_budget)
        self.keys: set[str] = set()
        self.feasible: list[np.ndarray] = []

    def _evaluate(self, X, out, *args, **kwargs):
        super()._evaluate(X, out, *args, **kwargs)
        evaluator = self.context.evaluator
        for x in np.asarray(X, dtype=np.int64)[self.evaluated(out.get("G"), len(X))]:
            self.keys.update(evaluator.key(a) for a in self.genome.decode(x))
        self.feasible.extend(out["F"][within_budgets(out.get("G"), len(X))] * self.signs)


@dataclasses.dataclass(frozen=True)
class CurvePoint:
    """After one generation (or one batch of random families): distinct sub-networks evaluated so far,
    families evaluated, HV of the front the search returns, HV of every feasible family evaluated so far
    (the same with an archive), and the returned front's HV in the exact front's box (NaN without one)."""

    generation: int
    subnets: int
    families: int
    hv_front: float
    hv_archive: float
    hv_box: float = float("nan")


PREVIOUS = "-previous"  # a variant name's suffix: the operators the search had before issue 11
PREVIOUS_SETTINGS = {"sampling": "random", "duplicates": "canonical", "archive": False, "skip_over_budget": False,
                     "crossover": "column", "population": 20}
# Random search is lengthened by doubling until it computes as many sub-networks as the others: at most this
# many times (1,024x the generations), and no further once a doubling draws no new sub-network.
MAX_DOUBLINGS = 10
PREVIOUS_GENERATIONS = 12  # the previous default run: 12 generations of 20


def variant_settings(name: str) -> dict:
    """The config settings a variant name stands for: a registered algorithm (``nsga2``), the same with the
    previous defaults (``nsga2-previous``: random initial families, canonical duplicates, the last
    population's front, families over budget evaluated, column crossover, population 20), or ``random``
    (random search)."""
    from evolution.algorithms import list_algorithms

    if name == RANDOM:
        return {"algorithm": RANDOM}
    algorithm, previous = (name[:-len(PREVIOUS)], True) if name.endswith(PREVIOUS) else (name, False)
    if algorithm not in list_algorithms():
        raise UnknownNameError("search variant", name,
                               [RANDOM, *list_algorithms(), *(f"{a}{PREVIOUS}" for a in list_algorithms())])
    return {"algorithm": algorithm, **(PREVIOUS_SETTINGS if previous else {})}


def replay(session: Session, variant: str, seed: int, generations: int,
           box: tuple[np.ndarray, np.ndarray] | None = None, *, population: int | None = None) -> list[CurvePoint]:
    """Run ``variant`` (see ``variant_settings``) for ``generations`` generations, exactly as ``search`` would
    (same operators, same seeding), recording a CurvePoint each. ``population``: families per generation
    (None: the variant's own, e.g. 20 for ``-previous``, else the session's); ``box`` (ideal, nadir of the
    exact front) adds the HV in that box."""
    settings = variant_settings(variant)
    random_search = settings["algorithm"] == RANDOM
    if random_search:  # random chains; like the search, it evaluates no family over budget
        settings = {"algorithm": session.config.algorithm, "skip_over_budget": True}
    if population is not None:
        settings["population"] = population
    config = dataclasses.replace(session.config, **settings, seed=seed)
    session = dataclasses.replace(session, config=config)
    problem = CountingProblem(session)
    n = len(session.evaluator.labels)
    points = []
    if random_search:
        rng = np.random.default_rng(seed)
        sampling = NestedFamilySampling(session.genome, nested=config.nested)
        families = 0
        for generation in range(1, generations + 1):
            X = sampling.do(problem, config.population, random_state=rng).get("X")
            problem.evaluate(X, return_values_of=["F", "G"])
            families += len(X)
            archive = _archive(problem)  # random search returns every feasible family it evaluated
            hv = hypervolume(archive, problem.columns, n)
            points.append(CurvePoint(generation, len(problem.keys), families, hv, hv, _box(archive, box)))
        return points
    search = make_search_algorithm(session)
    search.setup(problem, seed=seed, verbose=False)
    search.termination = MaximumGenerationTermination(generations)
    for generation in range(1, generations + 1):
        search.next()
        front = returned_front(search)
        points.append(CurvePoint(generation, len(problem.keys), int(search.evaluator.n_eval),
                                 hypervolume(front, problem.columns, n), hypervolume(_archive(problem), problem.columns, n),
                                 _box(front, box)))
    return points


def returned_front(search) -> np.ndarray:
    """Objectives (natural units) of the feasible families of the front the search returns."""
    opt = search.problem.front(search)
    feasible = opt.get("FEAS")[:, 0]
    return opt.get("F")[feasible] * search.problem.signs


def _box(front: np.ndarray, box: tuple[np.ndarray, np.ndarray] | None) -> float:
    return float("nan") if box is None else box_hypervolume(front, *box)


def _archive(problem: CountingProblem) -> np.ndarray:
    return np.array(problem.feasible).reshape(-1, len(problem.columns))


def replay_all(session: Session, variants: Sequence[str], seeds: Sequence[int], generations: int,
               *, box: tuple[np.ndarray, np.ndarray] | None = None, progress=None) -> dict[str, dict[int, list[CurvePoint]]]:
    """Curves of every variant and seed; random search runs until its distinct sub-networks reach the
    most any other variant used (so that it is compared at every budget they reach)."""
    curves: dict[str, dict[int, list[CurvePoint]]] = {}
    for variant in [a for a in variants if a != RANDOM]:
        curves[variant] = {}
        for seed in seeds:
            curves[variant][seed] = replay(session, variant, seed, generations, box)
            if progress:
                progress(f"{variant} seed {seed}: {curves[variant][seed][-1]}")
    if RANDOM in variants:
        target = max((c[-1].subnets for runs in curves.values() for c in runs.values()), default=0)
        curves[RANDOM] = {}
        for seed in seeds:
            points = replay(session, RANDOM, seed, generations, box)
            for _ in range(MAX_DOUBLINGS):  # random families share fewer keys: it may need more batches
                if points[-1].subnets >= target:
                    break
                longer = replay(session, RANDOM, seed, 2 * len(points), box)  # the same draws, then more
                exhausted = longer[-1].subnets == points[-1].subnets  # every feasible key drawn already
                points = longer
                if exhausted:
                    break
            curves[RANDOM][seed] = points
            if progress:
                progress(f"random seed {seed}: {points[-1]}")
    return curves

