"""Nested family operators on real pymoo machinery: sampling, crossover, mutation, repair, duplicates."""
from __future__ import annotations

import numpy as np
import pytest
from pymoo.core.population import Population
from pymoo.core.problem import Problem

from evolution.crossover import GeneColumnCrossover, MemberCrossover, make_crossover
from evolution.duplicates import KeyDuplicateElimination
from evolution.genome import FamilyGenome
from evolution.mutation import RandomResetMutation
from evolution.repair import NestedChainRepair
from evolution.sampling import NestedFamilySampling
from regnas.errors import UnknownNameError
from search_spaces import get_space, list_spaces


@pytest.fixture(params=[(name, k) for name in list_spaces() for k in (2, 3)], ids=lambda p: f"{p[0]}-K{p[1]}")
def genome(request):
    name, k = request.param
    return FamilyGenome(get_space(name), k)


def bounds_problem(genome: FamilyGenome) -> Problem:
    return Problem(n_var=genome.n_var, n_obj=1, xl=np.zeros(genome.n_var, dtype=int), xu=genome.upper, vtype=int)


def all_chains(genome, X) -> bool:
    return all(genome.space.is_chain(genome.decode(x)) for x in X)


def test_sampling_gives_nested_families_deterministically(genome):
    problem = bounds_problem(genome)
    a = NestedFamilySampling(genome).do(problem, 50, random_state=np.random.default_rng(0)).get("X")
    b = NestedFamilySampling(genome).do(problem, 50, random_state=np.random.default_rng(0)).get("X")
    assert np.array_equal(a, b) and a.shape == (50, genome.n_var) and all_chains(genome, a)


def test_column_crossover_keeps_gene_wise_nesting(genome, rng):
    """Children of nested parents are nested: each of the space's nesting groups comes whole from one parent."""
    problem = bounds_problem(genome)
    parents = NestedFamilySampling(genome).do(problem, 40, random_state=rng)
    pairs = np.arange(40).reshape(20, 2)
    children = GeneColumnCrossover(genome, prob=1.0).do(problem, parents, pairs, random_state=rng).get("X")
    assert all_chains(genome, children)
    # every gene column of a child comes whole from one parent
    for c, (i, j) in zip(genome.members(children[: len(pairs)]), pairs):  # pymoo: first children first
        p, q = genome.members(parents.get("X")[[i, j]])
        assert all(np.array_equal(c[:, g], p[:, g]) or np.array_equal(c[:, g], q[:, g]) for g in range(c.shape[1]))


def test_member_crossover_moves_whole_members(genome, rng):
    problem = bounds_problem(genome)
    parents = NestedFamilySampling(genome).do(problem, 20, random_state=rng)
    pairs = np.arange(20).reshape(10, 2)
    children = MemberCrossover(genome, prob=1.0).do(problem, parents, pairs, random_state=rng).get("X")
    for c, (i, j) in zip(genome.members(children[: len(pairs)]), pairs):  # pymoo: first children first
        p, q = genome.members(parents.get("X")[[i, j]])
        assert all(np.array_equal(c[m], p[m]) or np.array_equal(c[m], q[m]) for m in range(genome.k))


def test_random_reset_mutation_changes_genes_within_bounds(genome):
    problem = bounds_problem(genome)
    X = NestedFamilySampling(genome).do(problem, 30, random_state=np.random.default_rng(1)).get("X")
    mutated = RandomResetMutation(prob_var=1.0).do(problem, Population.new(X=X.copy()),
                                                   random_state=np.random.default_rng(2)).get("X")
    assert np.all(mutated != X)  # prob_var 1: every gene takes another value
    assert np.all(mutated >= 0) and np.all(mutated <= genome.upper)
    low = RandomResetMutation().do(problem, Population.new(X=X.copy()), random_state=np.random.default_rng(2)).get("X")
    changed = (low != X).mean()
    assert 0 < changed < 0.5  # default: about one gene per family


def test_mutation_reaches_every_choice(genome):
    problem = bounds_problem(genome)
    X = np.zeros((2000, genome.n_var), dtype=int)
    mutated = RandomResetMutation(prob_var=0.5).do(problem, Population.new(X=X), random_state=np.random.default_rng(3)).get("X")
    for g, upper in enumerate(genome.upper):
        assert set(mutated[:, g]) == set(range(upper + 1))


def test_repair_makes_every_family_a_chain(genome, rng):
    problem = bounds_problem(genome)
    X = np.array([genome.encode([genome.space.sample(rng) for _ in range(genome.k)]) for _ in range(60)])
    assert not all_chains(genome, X)
    repaired = NestedChainRepair(genome).do(problem, Population.new(X=X.copy()), random_state=rng).get("X")
    assert all_chains(genome, repaired)
    untouched = [i for i, x in enumerate(X) if genome.space.is_chain(genome.decode(x))]
    assert np.array_equal(repaired[untouched], X[untouched])


@pytest.mark.parametrize("key", ["functional", "canonical"])
def test_duplicates_are_found_by_keys(genome, rng, key):
    problem = bounds_problem(genome)
    X = NestedFamilySampling(genome).do(problem, 10, random_state=rng).get("X")
    X = X[np.unique([genome.functional_key(x) for x in X], return_index=True)[1]]
    pop = Population.new(X=np.concatenate([X, X[:3]]))
    kept = KeyDuplicateElimination(genome, key).do(pop)
    assert len(kept) == len(X)
    against = KeyDuplicateElimination(genome, key).do(Population.new(X=X[:5]), Population.new(X=X[3:]))
    assert len(against) == 3


def test_functional_duplicates_are_families_that_compute_the_same_functions():
    """nasbench201: cells that differ only in an edge that cannot reach the output (node 1 feeds nothing)
    are one function, so two such families are duplicates by functional key and not by canonical string."""
    space = get_space("nasbench201")
    genome = FamilyGenome(space, 2)
    cells = [space.parse(f"|{op}~0|+|nor_conv_3x3~0|none~1|+|nor_conv_3x3~0|none~1|nor_conv_3x3~2|")
             for op in ("nor_conv_3x3", "nor_conv_1x1")]
    pair = np.stack([genome.encode([cell, cell]) for cell in cells])
    assert genome.key(pair[0]) != genome.key(pair[1])
    pop = Population.new(X=pair)
    assert len(KeyDuplicateElimination(genome, "functional").do(pop)) == 1
    assert len(KeyDuplicateElimination(genome, "canonical").do(pop)) == 2


def test_unknown_duplicate_key_names_what_is_allowed(genome):
    with pytest.raises(UnknownNameError, match="unknown duplicate key 'arch'; allowed: canonical, functional"):
        KeyDuplicateElimination(genome, "arch")


def test_unknown_crossover_names_what_is_allowed(genome):
    with pytest.raises(UnknownNameError, match="unknown crossover 'onepoint'; allowed: column, member, uniform"):
        make_crossover("onepoint", genome, 0.9)
