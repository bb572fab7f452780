"""Search settings against the exact front: median HV fractions per budget over seeds, replayed on its cache.

    python benchmarks/efficiency_ablation.py --exact /work/runs/exact-front --seeds 20

Each row is a variant of the default search (settings over SearchConfig's defaults) or ``random`` /
``nsga2-previous`` (see ``evolution.efficiency.variant_settings``); the cache of a finished
``regnas-bench exact-front`` folder serves every prediction, so nothing is computed.
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

BUDGETS = (40, 60, 100, 150, 200, 250, 300, 400)
FAMILIES = 800  # each variant runs about this many families (generations = FAMILIES // population)
VARIANTS: dict[str, str | dict] = {
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
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exact", required=True, help="a finished regnas-bench exact-front folder")
    parser.add_argument("--seeds", type=int, default=20, help="seeds 0..N-1 per variant (default 20)")
    args = parser.parse_args()
    exact_dir = Path(args.exact)
    exact = json.loads((exact_dir / "summary.json").read_text())
    front = np.array([row["objectives"] for row in json.loads((exact_dir / "front.json").read_text())["front"]])
    box = (front.min(axis=0), front.max(axis=0))
    exact_box = box_hypervolume(front, *box)
    base = build_session(SearchConfig(), exact_dir, progress=False)
    print(f"median over {args.seeds} seeds of HV / exact HV, unit cube / exact front's box, at distinct sub-networks")
    print("| variant | " + " | ".join(str(b) for b in BUDGETS) + " |")
    print("|---|" + "---|" * len(BUDGETS))
    for name, variant in VARIANTS.items():
        if isinstance(variant, str):
            session, algorithm = base, variant
        else:
            session = dataclasses.replace(base, config=dataclasses.replace(base.config, **variant))
            algorithm = session.config.algorithm
        population = variant_settings(algorithm).get("population", session.config.population)
        generations = FAMILIES // population
        runs = [replay(session, algorithm, seed, generations, box) for seed in range(args.seeds)]
        cells = []
        for budget in BUDGETS:
            cube = np.median([fraction_at(r, budget, exact["hypervolume"]) for r in runs])
            inside = np.median([fraction_at(r, budget, exact_box, indicator="hv_box") for r in runs])
            cells.append(f"{cube:.3f} / {inside:.3f}")
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
