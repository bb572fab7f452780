"""Crossover of families of categorical genes: by gene column (keeps per-gene chains), by member, or uniform."""
from __future__ import annotations

import numpy as np
from pymoo.core.crossover import Crossover
from pymoo.operators.crossover.ux import UniformCrossover
from pymoo.util.misc import crossover_mask

from evolution.genome import FamilyGenome
from regnas.errors import UnknownNameError


class GeneColumnCrossover(Crossover):
    """Uniform crossover whose unit is one gene across all K members.

    A child takes gene g of every member from the same parent, and the genes of one of the space's
    ``nesting_groups`` (genes nesting judges together) from one parent, so the children of nested
    parents are nested already.
    """

    def __init__(self, genome: FamilyGenome, prob: float = 0.9):
        super().__init__(2, 2, prob=prob)
        self.genome = genome

    def _do(self, problem, X, *args, random_state: np.random.Generator = None, **kwargs):
        _, n_matings, _ = X.shape
        groups = self.genome.space.nesting_groups
        draws = random_state.random((n_matings, len(groups))) < 0.5
        columns = np.empty((n_matings, self.genome.space.n_genes), dtype=bool)
        for j, genes in enumerate(groups):
            columns[:, list(genes)] = draws[:, j:j + 1]
        return crossover_mask(X, np.tile(columns, (1, self.genome.k)))


class MemberCrossover(Crossover):
    """Uniform crossover whose unit is a whole member: the child's member k comes from one parent."""

    def __init__(self, genome: FamilyGenome, prob: float = 0.9):
        super().__init__(2, 2, prob=prob)
        self.genome = genome

    def _do(self, problem, X, *args, random_state: np.random.Generator = None, **kwargs):
        _, n_matings, _ = X.shape
        members = random_state.random((n_matings, self.genome.k)) < 0.5
        return crossover_mask(X, np.repeat(members, self.genome.space.n_genes, axis=1))


CROSSOVERS = {
    "column": lambda genome, prob: GeneColumnCrossover(genome, prob),
    "member": lambda genome, prob: MemberCrossover(genome, prob),
    "uniform": lambda genome, prob: UniformCrossover(prob=prob),
}


def make_crossover(name: str, genome: FamilyGenome, prob: float) -> Crossover:
    if name not in CROSSOVERS:
        raise UnknownNameError("crossover", name, CROSSOVERS)
    return CROSSOVERS[name](genome, prob)
