"""What the search spends evaluations on: its archive, feasible initial families, no family over budget."""
from __future__ import annotations

import numpy as np
import pytest

from evolution.archive import ParetoArchive
from evolution.genome import FamilyGenome
from evolution.sampling import CANDIDATES_PER_SAMPLE, FeasibleFamilySampling, NestedFamilySampling
from evolution.session import build_session
from search_spaces import get_space, list_spaces
from tests.conftest import tiny_config


def dominates(a, b) -> bool:
    return all(x <= y for x, y in zip(a, b)) and any(x < y for x, y in zip(a, b))


@pytest.mark.parametrize("name", list_spaces())
def test_archive_keeps_the_non_dominated_feasible_families_of_all_batches(name, rng):
    genome = FamilyGenome(get_space(name), 2)
    sampling = NestedFamilySampling(genome)
    archive = ParetoArchive(genome)
    everything = []
    for _ in range(6):
        X = sampling.draw(30, rng)
        F = rng.integers(0, 6, size=(30, 3)).astype(float)  # few values: ties and dominance both occur
        G = rng.normal(size=(30, 2)) - 0.5
        archive.add(X, F, G)
        everything += list(zip(X, F, G))
    first: dict[str, tuple] = {}
    for x, f, g in everything:
        if (g <= 0).all():
            first.setdefault(genome.functional_key(x), (x, f))
    expected = [k for k, (_, f) in first.items() if not any(dominates(o, f) for _, o in first.values())]
    got = [genome.functional_key(x) for x in archive.X]
    assert got == sorted(expected, key=list(first).index)  # the same families, in the order first seen
    assert np.array_equal(archive.F, np.array([first[k][1] for k in expected]))
    population = archive.population()
    assert population.get("FEAS").all() and np.array_equal(population.get("X"), archive.X)


def test_archive_without_feasible_families_stays_empty(rng):
    genome = FamilyGenome(get_space("nasbench201"), 2)
    archive = ParetoArchive(genome)
    archive.add(NestedFamilySampling(genome).draw(5, rng), np.zeros((5, 3)), np.ones((5, 2)))
    assert len(archive) == 0


def test_feasible_sampling_puts_families_within_budget_first(tiny_run):
    """On the default problem's budgets (Pixel 3 about half the cells), priced by the search's own budgets."""
    session = build_session(tiny_config(), tiny_run, progress=False)
    problem, genome = session.problem(), session.genome
    sampling = FeasibleFamilySampling(genome)
    X = sampling.do(problem, 40, random_state=np.random.default_rng(5)).get("X")
    again = sampling.do(problem, 40, random_state=np.random.default_rng(5)).get("X")
    assert np.array_equal(X, again)
    violation = np.array([[b.violation(problem.family(x)) for b in session.budgets] for x in X])
    assert (violation <= 0).all()
    assert len({genome.functional_key(x) for x in X}) == 40
    assert all(genome.space.is_chain(genome.decode(x)) for x in X)
    # The same draws as random sampling, in draw order: the first 40 feasible distinct of 8 x 40 chains.
    drawn = NestedFamilySampling(genome).draw(40 * CANDIDATES_PER_SAMPLE, np.random.default_rng(5))
    expected, seen = [], set()
    for x in drawn:
        key = genome.functional_key(x)
        if key not in seen:
            seen.add(key)
            if all(b.violation(problem.family(x)) <= 0 for b in session.budgets):
                expected.append(x)
    assert np.array_equal(X, np.array(expected[:40]))
    plain = NestedFamilySampling(genome).do(problem, 40, random_state=np.random.default_rng(5)).get("X")
    over = np.array([[b.violation(problem.family(x)) for b in session.budgets] for x in plain])
    assert (over > 0).any()  # random chains do break the budgets: the test can tell the two apart


def uncovered(variant: str, tiny_run) -> int:
    """Feasible families a search evaluated (as CountingProblem recorded them, apart from any archive) that
    no family of the front it returns weakly dominates."""
    from evolution.efficiency import CountingProblem, returned_front
    from evolution.search import make_search_algorithm

    session = build_session(tiny_config(population=2, archive=variant == "archive"), tiny_run, progress=False)
    problem = CountingProblem(session)
    algorithm = make_search_algorithm(session)
    algorithm.setup(problem, seed=0, verbose=False)
    for _ in range(20):
        algorithm.next()
    front = returned_front(algorithm) * problem.signs
    evaluated = np.array(problem.feasible) * problem.signs
    return int(sum(not (front <= f + 1e-12).all(axis=1).any() for f in evaluated))


def test_the_search_returns_every_feasible_non_dominated_family_it_evaluated(tiny_run):
    assert uncovered("archive", tiny_run) == 0
    assert uncovered("population", tiny_run) > 0  # a population of 2 drops families: the test can tell


def test_families_over_budget_are_not_evaluated_and_the_search_is_the_same(tiny_supernet, tmp_path):
    """Survival and tournaments rank an over-budget family by its violation alone: skipping its evaluation
    changes no population, and the sub-networks computed are exactly those of families within budget."""
    import json

    from evolution.search import search

    runs, histories = {}, {}
    for skip in (True, False):
        runs[skip] = search(tiny_config(skip_over_budget=skip, sampling="random"), tmp_path / str(skip), progress=False)
        histories[skip] = [json.loads(line) for line in (tmp_path / str(skip) / "history.jsonl").read_text().splitlines()]
    members = {skip: [[p["members"] for p in r["population"]] for r in h] for skip, h in histories.items()}
    assert members[True] == members[False]
    assert runs[True].front == runs[False].front and runs[True].family == runs[False].family
    over = [p for r in histories[True] for p in r["population"] if p["violation"] > 0]
    assert over and all(p["objectives"] is None for p in over)
    computed = {skip: sum(r["subnets_computed"] for r in h) for skip, h in histories.items()}
    assert computed[True] < computed[False]
    # What the skipping run computed: the functional keys of the members of the families within budget
    # among all it evaluated (counted apart from the problem, by a replay on its cache).
    from evolution.efficiency import CountingProblem

    session = build_session(tiny_config(skip_over_budget=False, sampling="random"), tmp_path / "False", progress=False)
    problem = CountingProblem(session)
    from evolution.search import make_search_algorithm

    algorithm = make_search_algorithm(session)
    algorithm.setup(problem, seed=0, verbose=False)
    within: set[str] = set()
    original = problem._evaluate

    def record(X, out, *args, **kwargs):
        original(X, out, *args, **kwargs)
        for x in np.asarray(X)[(out["G"] <= 0).all(axis=1)]:
            within.update(session.evaluator.key(a) for a in session.genome.decode(x))

    problem._evaluate = record
    for _ in range(tiny_config().generations):
        algorithm.next()
    assert computed[True] == len(within)
