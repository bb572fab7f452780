"""Search efficiency against the exact front: HV fractions over seeds, evaluations to thresholds, figure, pick."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from evolution.efficiency import CurvePoint
from evolution.hypervolume import reference_point
from regnas.plot.style import SERIES_COLOURS, new_figure, save_figure

THRESHOLDS = (0.90, 0.95, 0.99)
Curves = Mapping[str, Mapping[int, Sequence[CurvePoint]]]


def fraction_at(points: Sequence[CurvePoint], subnets: int, exact_hv: float, *, indicator: str = "hv_front") -> float:
    """``indicator`` (a CurvePoint field: hv_front, hv_archive, hv_box) / the exact front's, at the last point
    that used at most ``subnets`` distinct sub-networks (NaN before the first)."""
    reached = [p for p in points if p.subnets <= subnets]
    if not reached:
        return float("nan")
    return getattr(reached[-1], indicator) / exact_hv


def subnets_to_reach(points: Sequence[CurvePoint], fraction: float, exact_hv: float) -> int | None:
    """Distinct sub-networks at the first point whose front reaches ``fraction`` of the exact HV (None: never)."""
    return next((p.subnets for p in points if p.hv_front / exact_hv >= fraction), None)


def spread(values: Sequence[float]) -> dict[str, float]:
    values = np.asarray(values, dtype=np.float64)
    return {"median": float(np.median(values)), "min": float(values.min()), "max": float(values.max())}


def summarise(curves: Curves, exact_hv: float, budget_subnets: int, previous_budget_subnets: int | None = None,
              exact_box_hv: float | None = None) -> dict[str, dict]:
    """Per variant: HV fraction at ``budget_subnets`` (front, archive and, with ``exact_box_hv``, in the exact
    front's box; median, min, max over seeds), at ``previous_budget_subnets`` and, per threshold, the median
    distinct sub-networks to reach it over the seeds that did, and how many did."""
    out = {}
    for algorithm, runs in curves.items():
        reach = {}
        for t in THRESHOLDS:
            needed = [n for n in (subnets_to_reach(p, t, exact_hv) for p in runs.values()) if n is not None]
            reach[f"{t:.0%}"] = {"median_subnets": float(np.median(needed)) if needed else None,
                                 "seeds_reached": len(needed), "seeds": len(runs)}
        out[algorithm] = {
            "at_budget": spread([fraction_at(p, budget_subnets, exact_hv) for p in runs.values()]),
            "archive_at_budget": spread([fraction_at(p, budget_subnets, exact_hv, indicator="hv_archive")
                                         for p in runs.values()]),
            "box_at_budget": spread([fraction_at(p, budget_subnets, exact_box_hv or float("nan"), indicator="hv_box")
                                     for p in runs.values()]),
            "at_previous_budget": spread([fraction_at(p, previous_budget_subnets or budget_subnets, exact_hv)
                                          for p in runs.values()]),
            "final": spread([p[-1].hv_front / exact_hv for p in runs.values()]),
            "final_subnets": spread([p[-1].subnets for p in runs.values()]),
            "to_reach": reach,
        }
    return out


def position(chosen: np.ndarray, front: np.ndarray, columns: Sequence[str], n: int) -> dict:
    """Where a family (objective row, natural units, minimised) sits against the exact front (rows).

    ``gap[column]``: how much better that objective can be on the exact front without the others getting
    worse; ``epsilon``: the least t such that some front point is within t of the family in every
    normalised objective (<= 0: a front point is at least as good everywhere; the family is on the
    front when it equals a front point).
    """
    chosen, front = np.asarray(chosen, dtype=np.float64), np.asarray(front, dtype=np.float64)
    dominating = (front <= chosen).all(axis=1) & (front < chosen).any(axis=1)
    gaps = {}
    for j, column in enumerate(columns):
        others = [i for i in range(len(columns)) if i != j]
        allowed = (front[:, others] <= chosen[others]).all(axis=1)
        gaps[column] = float(chosen[j] - front[allowed, j].min()) if allowed.any() else 0.0
    scale = reference_point(columns, n)
    return {"on_front": bool((front == chosen).all(axis=1).any()), "dominated_by": int(dominating.sum()),
            "gap": gaps, "epsilon": float(((front - chosen) / scale).max(axis=1).min())}


def curve_figure(curves: Curves, exact_hv: float, exact_box_hv: float, budget_subnets: int, path: str | Path) -> Path:
    """HV of the returned front / exact HV against distinct sub-networks, in the unit cube (left) and in the
    exact front's box (right): median line, min-max band over seeds."""
    figure = new_figure(12.0, 4.2)
    top = max(p[-1].subnets for runs in curves.values() for p in runs.values())
    grid = np.arange(1, top + 1)
    panels = [("hv_front", exact_hv, "unit cube of worst values"), ("hv_box", exact_box_hv, "exact front's box")]
    for k, (indicator, exact, where) in enumerate(panels):
        axes = figure.add_subplot(1, 2, k + 1)
        for colour, (algorithm, runs) in zip(SERIES_COLOURS, curves.items()):
            values = np.array([[fraction_at(p, x, exact, indicator=indicator) for x in grid] for p in runs.values()])
            shown = ~np.isnan(values).any(axis=0)
            axes.fill_between(grid[shown], values[:, shown].min(axis=0), values[:, shown].max(axis=0), color=colour,
                              alpha=0.15, linewidth=0)
            axes.plot(grid[shown], np.median(values[:, shown], axis=0), color=colour,
                      label=f"{algorithm} (median, min-max of {len(runs)} seeds)")
        for t in THRESHOLDS:
            axes.axhline(t, color="#888888", linewidth=0.8, linestyle=":")
        axes.axvline(budget_subnets, color="#444444", linewidth=0.8, linestyle="--", label="default run's budget")
        axes.set_xlim(0, top)
        axes.set_xlabel("distinct sub-networks evaluated")
        axes.set_ylabel("hypervolume / exact hypervolume")
        axes.set_title(f"HV in the {where}")
        if k == 0:
            axes.legend(loc="lower right", fontsize=8)
    figure.suptitle("Search efficiency against the exact front")
    return save_figure(figure, path, Path(path).suffix.lstrip(".") or "png")


def to_markdown(summary: Mapping[str, dict], budget_subnets: int, previous_budget_subnets: int,
                pick: Mapping | None = None) -> str:
    lines = [f"Default budget: {budget_subnets} distinct sub-networks (the default run's count); previous default "
             f"budget: {previous_budget_subnets} (the previous default run: its operators, 12 generations of 20).", "",
             "| variant | HV fraction at the default budget | archive | at the previous default budget | "
             "in the exact front's box | " + " | ".join(f"sub-networks to {t:.0%}" for t in THRESHOLDS) + " |",
             "|---|---|---|---|---|" + "---|" * len(THRESHOLDS)]
    for algorithm, row in summary.items():
        at, archive, previous, box = (row[k] for k in ("at_budget", "archive_at_budget", "at_previous_budget",
                                                       "box_at_budget"))
        cells = []
        for t in THRESHOLDS:
            r = row["to_reach"][f"{t:.0%}"]
            median = "never" if r["median_subnets"] is None else f"{r['median_subnets']:.0f}"
            cells.append(f"{median} ({r['seeds_reached']}/{r['seeds']} seeds)")
        lines.append(f"| {algorithm} | {at['median']:.3f} [{at['min']:.3f}, {at['max']:.3f}] | "
                     f"{archive['median']:.3f} | {previous['median']:.3f} | "
                     f"{box['median']:.3f} [{box['min']:.3f}, {box['max']:.3f}] | " + " | ".join(cells) + " |")
    if pick is not None:
        gaps = ", ".join(f"{c} {v:.4g}" for c, v in pick["gap"].items())
        lines += ["", f"Default pick: on the exact front: {'yes' if pick['on_front'] else 'no'}; dominated by "
                      f"{pick['dominated_by']} exact front points; gap per objective: {gaps}; "
                      f"additive epsilon (normalised) {pick['epsilon']:.4f}."]
    return "\n".join(lines) + "\n"
