"""regnas-bench efficiency: replay searches on a finished exact-front folder's cache and compare with the exact HV."""
from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from evolution.config import SearchConfig
from evolution.efficiency import PREVIOUS, PREVIOUS_GENERATIONS, RANDOM, replay, replay_all
from evolution.hypervolume import box_hypervolume
from evolution.efficiency_report import curve_figure, position, summarise, to_markdown
from evolution.search import search
from evolution.session import build_session
from regnas.errors import ConfigError
from regnas.io import atomic_write_json, atomic_write_text

DEFAULT_VARIANTS = ("nsga2", f"nsga2{PREVIOUS}", "smsemoa", RANDOM)
DEFAULT_SEEDS = (0, 1, 2, 3, 4)
DEFAULT_GENERATIONS = 50


def read_exact(exact_dir: Path) -> tuple[dict, dict]:
    """summary.json and front.json of a finished ``regnas-bench exact-front`` folder (else a one-line error)."""
    summary_path = exact_dir / "summary.json"
    if not summary_path.is_file():
        raise ConfigError(f"{str(exact_dir)!r} holds no summary.json; run regnas-bench exact-front --out {exact_dir} first")
    summary = json.loads(summary_path.read_text())
    if not summary.get("complete"):
        raise ConfigError(f"the exact front in {str(exact_dir)!r} covers {summary.get('keys_evaluated')} of "
                          f"{summary.get('functional_keys')} functional keys; finish it with: "
                          f"regnas-bench exact-front --out {exact_dir}")
    return summary, json.loads((exact_dir / "front.json").read_text())


def run_efficiency(exact_dir: str | Path, out: str | Path, *, variants: Sequence[str] = DEFAULT_VARIANTS,
                   seeds: Sequence[int] = DEFAULT_SEEDS, generations: int = DEFAULT_GENERATIONS,
                   progress: bool = True, config: SearchConfig | None = None, require_complete: bool = True) -> dict:
    """Curves of every variant and seed (``curves.json``), their summary (``efficiency.json``, ``.md``), the
    figure (``efficiency.png``) and the default run (``default-run/``) placed against the exact front.
    The default budget is the distinct sub-networks of the default run; the previous default budget, that
    of the previous default run (the previous operators, 12 generations of 20)."""
    exact_dir, out = Path(exact_dir), Path(out)
    config = config or SearchConfig()
    if require_complete:
        exact, front = read_exact(exact_dir)
    else:
        exact, front = (json.loads((exact_dir / name).read_text()) for name in ("summary.json", "front.json"))
    if generations < config.generations:
        raise ConfigError(f"--generations {generations} is below the default run's {config.generations}")
    say = (lambda text: print(text, file=sys.stderr)) if progress else None
    out.mkdir(parents=True, exist_ok=True)
    # The default run, as regnas-evolve runs it, on the exact front's cache: its pick and its budget.
    default = search(config, out / "default-run", overwrite=True, progress=False, cache_dir=exact_dir)
    session = build_session(config, exact_dir, progress=False)
    previous_budget = replay(session, f"{config.algorithm}{PREVIOUS}", config.seed, PREVIOUS_GENERATIONS)[-1].subnets
    n, columns = exact["validation_samples"], exact["columns"]
    exact_front = np.array([row["objectives"] for row in front["front"]])
    box = (exact_front.min(axis=0), exact_front.max(axis=0))  # the exact front's ideal and nadir points
    exact_box = box_hypervolume(exact_front, *box)
    curves = replay_all(session, variants, seeds, generations, box=box, progress=say)
    # A replay records every generation, so the default run's budget is on its curve when that was replayed.
    own = curves.get(config.algorithm, {}).get(config.seed)
    last = own[config.generations - 1] if own else replay(session, config.algorithm, config.seed, config.generations)[-1]
    budget = last.subnets
    chosen = np.array(default.front[default.chosen]["objectives"])
    chosen[:2] = np.round(chosen[:2] * n) / n  # errors as counts over n, as the exact front holds them
    summary = {
        "exact_hypervolume": exact["hypervolume"], "default_budget_subnets": budget,
        "exact_box_hypervolume": exact_box, "box": {"ideal": box[0].tolist(), "nadir": box[1].tolist()},
        "previous_default_budget_subnets": previous_budget,
        "seeds": list(seeds), "generations": generations,
        "algorithms": summarise(curves, exact["hypervolume"], budget, previous_budget, exact_box),
        "default_pick": {"members": default.front[default.chosen]["members"], "objectives": chosen.tolist(),
                         **position(chosen, exact_front, columns, n)},
        "config": config.to_dict(),
    }
    atomic_write_json(out / "curves.json", {a: {str(s): [dataclasses.asdict(p) for p in c] for s, c in runs.items()}
                                            for a, runs in curves.items()})
    atomic_write_json(out / "efficiency.json", summary)
    atomic_write_text(out / "efficiency.md", to_markdown(summary["algorithms"], budget, previous_budget,
                                                              summary["default_pick"]))
    curve_figure(curves, exact["hypervolume"], exact_box, budget, out / "efficiency.png")
    return summary
