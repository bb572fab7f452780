"""SearchResult: the front, the chosen family reported on the test split, and the run folder files."""
from __future__ import annotations

import csv
import io
import platform as platform_module
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pymoo.core.algorithm import Algorithm

from evolution.pick import make_picker
from regnas import __version__, metrics
from regnas.evaluate import Evaluator
from regnas.io import atomic_write_json, atomic_write_text


@dataclass
class SearchResult:
    """What ``regnas-evolve`` prints and writes: ``result.json``, ``pareto.csv``, ``pareto.png``."""

    columns: list[str]
    front: list[dict[str, Any]]
    chosen: int
    family: list[dict[str, Any]]
    flips: list[dict[str, Any]]
    info: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"family": self.family, "flips": self.flips, "columns": self.columns, "chosen": self.chosen,
                "front": self.front, **self.info}

    def write(self, run_dir: str | Path) -> None:
        run_dir = Path(run_dir)
        atomic_write_json(run_dir / "result.json", self.to_dict())
        atomic_write_text(run_dir / "pareto.csv", self.front_csv())
        from regnas.plot import save_run_figure, write_report

        save_run_figure(run_dir)
        write_report(run_dir)

    def front_csv(self) -> str:
        out = io.StringIO()
        k = len(self.front[0]["members"]) if self.front else 0
        writer = csv.writer(out)
        writer.writerow(["index", "chosen", "feasible", *[f"arch[{i + 1}]" for i in range(k)], *self.columns])
        for i, row in enumerate(self.front):
            writer.writerow([i, int(i == self.chosen), int(row["feasible"]), *row["members"],
                             *[f"{v:.6g}" for v in row["objectives"]]])
        return out.getvalue()

    def summary(self) -> str:
        lines = [f"chosen family ({self.info['pick']}; {len(self.front)} families on the front), test split:"]
        width = max(len(m["name"]) for m in self.family)
        for m in self.family:
            extra = "".join(f"  {k} {v:.3g}ms" for k, v in m.items() if k.startswith("latency@"))
            lines.append(f"  {m['name']:>{width}}  acc {m['accuracy']:.4f}  params {m['params'] / 1e6:.3f}M{extra}  {m['arch']}")
        for f in self.flips:
            if f["old_index"] < f["new_index"]:
                lines.append(f"  {f['old']} -> {f['new']}: NF {f['nf']}  NFR {f['nfr']:.4f} "
                             f"[{f['nfr_ci95'][0]:.4f}, {f['nfr_ci95'][1]:.4f}]  rel_NFR {f['rel_nfr']:.3f}  NFI {f['nfi']:.3f}")
        return "\n".join(lines)


def build_result(session, algorithm: Algorithm, history: list[dict], run_dir: Path) -> SearchResult:
    problem, context, config = algorithm.problem, session.context, session.config
    opt = problem.front(algorithm)
    front = []
    for ind in opt:
        view = problem.family(ind.X)
        front.append({
            "members": [m.arch_str for m in view],
            # Computed here, not read from F: a front with no feasible family may hold unevaluated ones.
            "objectives": problem.objective_values(view),
            "feasible": bool(ind.FEAS[0]),
            "mean_accuracy": view.mean_accuracy(),
            "accuracies": [m.accuracy for m in view],  # per member, on the validation split
            "nfr": view.consecutive("nfr"),
        })
    picker = make_picker(config.pick, problem.columns, reward_lambda=config.reward_lambda)
    F = np.array([f["objectives"] for f in front]) * problem.signs
    chosen = picker(F, np.array([f["mean_accuracy"] for f in front]), np.array([f["nfr"] for f in front]))
    chosen_view = problem.family(opt[chosen].X)
    test = Evaluator(session.supernet, session.data, split="test", batch_size=config.eval_batch_size)
    correct = [test.correct(m.arch) for m in chosen_view]
    family = []
    for m, right in zip(chosen_view, correct):
        member = {"name": m.name, "platform": m.platform, "arch": m.arch_str, "accuracy": metrics.accuracy(right),
                  "validation_accuracy": m.accuracy, "params": m.params, "flops": m.flops}
        for p in config.platforms:
            member[f"latency@{p}"] = m.latency_ms(p)
        family.append(member)
    rng = np.random.default_rng(config.seed)
    flips = []
    for i, old in enumerate(chosen_view):
        for j, new in enumerate(chosen_view):
            if i != j:
                ci = metrics.bootstrap_interval(metrics.negative_flip_rate, correct[i], correct[j], rng=rng)
                flips.append({"old": old.name, "new": new.name, "old_index": i, "new_index": j,
                              **{name: fn(correct[i], correct[j]) for name, fn in metrics.PAIR_METRICS.items()},
                              "nfr_ci95": [ci.low, ci.high]})
    info = {
        "directions": problem.directions, "units": problem.units, "labels": problem.labels,
        "space": session.space.name, "member_names": config.member_names, "nested": config.nested,
        "family_is_nested": session.space.is_chain(chosen_view.archs), "platforms": config.platforms,
        "objectives": config.objective_specs, "budgets": config.budgets, "pick": config.pick,
        "flips_split": "test", "test_size": len(session.data.test), "validation_size": len(session.data.validation),
        "generations": len(history), "evaluations": int(algorithm.evaluator.n_eval),
        "seeds": {"search": config.seed, "data": session.data.seed},
        "supernet": {"path": str(session.supernet_path) if session.supernet_path else None,
                     "checksum": session.evaluator.checksum, **session.supernet.identity()},
        "data": session.data.describe(), "versions": versions(),
    }
    return SearchResult(problem.columns, front, chosen, family, flips, info)


def versions() -> dict[str, str]:
    import pymoo
    import torch

    return {"regnas": __version__, "torch": torch.__version__, "pymoo": pymoo.__version__, "numpy": np.__version__,
            "python": platform_module.python_version()}
