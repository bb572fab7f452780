"""FamilyProblem: pymoo's view of family search (X: K members' genes, F: objectives, G: budgets)."""
from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
from pymoo.core.population import Population
from pymoo.core.problem import Problem

from evolution.archive import ParetoArchive
from evolution.genome import FamilyGenome
from regnas.budgets import Budget
from regnas.family import EvaluationContext, FamilyView
from regnas.objectives import Objective


def within_budgets(G: np.ndarray | None, count: int) -> np.ndarray:
    """Which of ``count`` families (constraint rows ``G``; None: a problem without budgets) meet every budget."""
    return np.ones(count, dtype=bool) if G is None else (np.asarray(G) <= 0).all(axis=1)


class FamilyProblem(Problem):
    """Minimise every objective column of a nested family; budgets become inequality constraints
    (``Budget.violation``: relative, so limits of any unit weigh alike).

    The evaluation context (supernet, evaluator, tables) and the objectives (which may be lambdas or
    user functions) are not pickled with the problem: a search checkpoint holds the algorithm, and
    ``attach`` hands a resumed problem both again. With an ``archive``, every evaluated family is
    offered to it (it is pickled with the problem, so a resumed search keeps it).

    With ``skip_over_budget``, a family over a budget is not evaluated: budgets are priced from tables,
    and pymoo's constrained survival and tournaments rank an infeasible family by its violation alone,
    so its objectives would be computed for nothing. Its objective row is +inf (the worst, minimised).
    """

    def __init__(self, genome: FamilyGenome, objectives: Sequence[Objective], budgets: Sequence[Budget],
                 context: EvaluationContext, archive: ParetoArchive | None = None, skip_over_budget: bool = False):
        self.genome, self.archive, self.skip_over_budget = genome, archive, skip_over_budget
        self.objectives = list(objectives)
        self.budgets = list(budgets)
        self.columns = [c for o in self.objectives for c in o.columns(context.member_names)]
        self.directions = [o.direction for o in self.objectives for _ in o.columns(context.member_names)]
        self.units = [o.unit for o in self.objectives for _ in o.columns(context.member_names)]
        self.labels = [o.axis_label for o in self.objectives for _ in o.columns(context.member_names)]
        self.signs = np.array([-1.0 if d == "max" else 1.0 for d in self.directions])
        self.context: EvaluationContext | None = context
        self.evaluation_seconds = 0.0  # time inside _evaluate: the rest of a generation is pymoo's
        super().__init__(n_var=genome.n_var, n_obj=len(self.columns), n_ieq_constr=len(self.budgets),
                         xl=np.zeros(genome.n_var, dtype=np.int64), xu=genome.upper, vtype=int)

    def attach(self, context: EvaluationContext, objectives: Sequence[Objective]) -> None:
        columns = [c for o in objectives for c in o.columns(context.member_names)]
        if columns != self.columns:
            raise ValueError(f"objective columns {columns} differ from the checkpoint's {self.columns}")
        self.context, self.objectives = context, list(objectives)
        self.labels = [o.axis_label for o in self.objectives for _ in o.columns(context.member_names)]

    def __getstate__(self) -> dict:
        return {**self.__dict__, "context": None, "objectives": None}

    def front(self, algorithm) -> Population:
        """What a search on this problem returns: the archive's families, or (without an archive, or when no
        family evaluated met the budgets) ``algorithm.opt``, pymoo's best of the last population."""
        if self.archive is not None and len(self.archive):
            return self.archive.population()
        return algorithm.opt

    def evaluated(self, G: np.ndarray | None, count: int) -> np.ndarray:
        """Which of ``count`` families (constraint rows ``G``) have their objectives computed."""
        return within_budgets(G, count) if self.skip_over_budget else np.ones(count, dtype=bool)

    def family(self, x: np.ndarray) -> FamilyView:
        if self.context is None:
            raise RuntimeError("FamilyProblem has no evaluation context; call attach() after loading a checkpoint")
        return self.context.family(self.genome.decode(x))

    def objective_values(self, family: FamilyView) -> list[float]:
        """Objective columns in natural units (accuracy as accuracy, not negated)."""
        return [v for o in self.objectives for v in o.values(family)]

    def _evaluate(self, X, out, *args, **kwargs):
        start = time.perf_counter()
        families = [self.family(x) for x in np.asarray(X, dtype=np.int64)]
        if self.budgets:
            out["G"] = np.array([[b.violation(f) for b in self.budgets] for f in families], dtype=np.float64)
        evaluated = self.evaluated(out.get("G"), len(families))
        # One call for the whole generation, so an evaluator with worker processes can share it out.
        self.context.evaluator.evaluate_many([a for f, e in zip(families, evaluated) if e for a in f.archs])
        out["F"] = np.full((len(families), self.n_obj), np.inf)
        for i in np.flatnonzero(evaluated):
            out["F"][i] = np.array(self.objective_values(families[i]), dtype=np.float64) * self.signs
        if self.archive is not None:
            self.archive.add(X, out["F"], out.get("G"))
        self.evaluation_seconds += time.perf_counter() - start
