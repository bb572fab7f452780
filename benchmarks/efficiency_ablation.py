"""Search settings against the exact front: median HV fractions per budget over seeds, replayed on its cache.

    python benchmarks/efficiency_ablation.py --exact /work/runs/exact-front --seeds 20 [--table operators|long]

Each row is a variant of the default search (settings over SearchConfig's defaults) or ``random`` /
``nsga2-previous`` (see ``evolution.efficiency.variant_settings``); the cache of a finished
``regnas-bench exact-front`` folder serves every prediction, so nothing is computed. ``--table operators``
(default): what each change of issue 11 did; ``--table long``: the longer runs, where NSGA-II's population
converges, against a larger mutation and SMS-EMOA.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import numpy as np

from evolution.config import SearchConfig
from evolution.efficiency import PREVIOUS_SETTINGS, replay, variant_settings
from evolution.efficiency_report import fraction_at
from evolution.hypervolume import box_hypervolume
from evolution.session import build_session

GENES = 12  # two nasbench201 members of 6 edges: the default mutation changes 1/12 of them
# Each table: budgets (distinct sub-networks), families per run (generations = families // population), variants.
TABLES: dict[str, tuple[tuple[int, ...], int, dict[str, str | dict]]] = {
    "operators": ((40, 60, 100, 150, 200, 250, 300, 400), 800, {
        "random": "random",
        "nsga2-previous (20 x 12 defaults)": "nsga2-previous",
        "previous + archive": {**PREVIOUS_SETTINGS, "archive": True},
        "previous + no evaluation over budget": {**PREVIOUS_SETTINGS, "skip_over_budget": True},
        "previous + feasible initial families": {**PREVIOUS_SETTINGS, "sampling": "feasible"},
        "previous + functional duplicates": {**PREVIOUS_SETTINGS, "duplicates": "functional"},
        "column crossover, population 20": {"crossover": "column", "population": 20},
        "member crossover, population 20": {"crossover": "member", "population": 20},
        "column crossover, population 12": {"crossover": "column", "population": 12},
        "member crossover, population 16": {"population": 16},
        "member crossover, population 12 (default)": {},
        "member crossover, population 8": {"population": 8},
    }),
    "long": ((200, 400, 600, 800, 1000, 1200), 2400, {
        "random": "random",
        "nsga2 (default)": {},
        "nsga2, mutation 2/12": {"mutation_prob_var": 2 / GENES},
        "nsga2, mutation 3/12": {"mutation_prob_var": 3 / GENES},
        "nsga2, population 8": {"population": 8},
        "nsga2, population 8, mutation 2/12": {"population": 8, "mutation_prob_var": 2 / GENES},
        "smsemoa": {"algorithm": "smsemoa"},
        "smsemoa, mutation 2/12": {"algorithm": "smsemoa", "mutation_prob_var": 2 / GENES},
    }),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exact", required=True, help="a finished regnas-bench exact-front folder")
    parser.add_argument("--seeds", type=int, default=20, help="seeds 0..N-1 per variant (default 20)")
    parser.add_argument("--table", choices=sorted(TABLES), default="operators")
    args = parser.parse_args()
    budgets, families, variants = TABLES[args.table]
    exact_dir = Path(args.exact)
    exact = json.loads((exact_dir / "summary.json").read_text())
    front = np.array([row["objectives"] for row in json.loads((exact_dir / "front.json").read_text())["front"]])
    box = (front.min(axis=0), front.max(axis=0))
    exact_box = box_hypervolume(front, *box)
    base = build_session(SearchConfig(), exact_dir, progress=False)
    print(f"median over {args.seeds} seeds of HV / exact HV, unit cube / exact front's box, at distinct sub-networks")
    print("| variant | " + " | ".join(str(b) for b in budgets) + " |")
    print("|---|" + "---|" * len(budgets))
    for name, variant in variants.items():
        if isinstance(variant, str):
            session, algorithm = base, variant
        else:
            session = dataclasses.replace(base, config=dataclasses.replace(base.config, **variant))
            algorithm = session.config.algorithm
        population = variant_settings(algorithm).get("population", session.config.population)
        generations = families // population
        runs = [replay(session, algorithm, seed, generations, box) for seed in range(args.seeds)]
        cells = []
        for budget in budgets:
            cube = np.median([fraction_at(r, budget, exact["hypervolume"]) for r in runs])
            inside = np.median([fraction_at(r, budget, exact_box, indicator="hv_box") for r in runs])
            cells.append(f"{cube:.3f} / {inside:.3f}")
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
