"""The front's progress: hypervolume per generation and the population of selected generations faded by age."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from pymoo.indicators.hv import HV

from regnas.plot.columns import label_axis
from regnas.plot.load import Run, RunFolderError, evaluated, load_run
from regnas.plot.style import FRONT_COLOUR, matrix_cmap, new_figure, plot_style

REFERENCE = 1.1  # in normalised units: just beyond the worst value seen, so every front point counts
SHOWN_GENERATIONS = 5


@dataclass(frozen=True)
class HypervolumeSeries:
    """Hypervolume of each generation's feasible front, on minimised objectives normalised by ``ideal``/``nadir``.

    ``ideal`` and ``nadir`` are per-column minimum and maximum of the minimised objectives (max columns
    negated) over every family of every generation, so all generations share one scale.
    """

    generations: np.ndarray
    values: np.ndarray
    ideal: np.ndarray
    nadir: np.ndarray
    reference_point: np.ndarray
    columns: list[str]


def hypervolume_data(result: Any) -> HypervolumeSeries:
    run = load_run(result)
    if not run.history:
        raise RunFolderError(f"run {run.name!r} has no history.jsonl to follow over generations; pass the run folder")
    signs = run.signs
    everything = np.array([p["objectives"] for r in run.history for p in evaluated(r["population"])], dtype=float) * signs
    ideal, nadir = everything.min(axis=0), everything.max(axis=0)
    # A column that never varied would divide by zero; any positive span leaves its normalised values at 0.
    span = np.where(nadir > ideal, nadir - ideal, 1.0)
    reference = np.full(len(signs), REFERENCE)
    indicator = HV(ref_point=reference)
    values = []
    for record in run.history:
        front = [p["objectives"] for p in evaluated(record["population"]) if p["front"] and p["violation"] <= 0]
        if not front:
            values.append(0.0)
            continue
        normalised = (np.array(front, dtype=float) * signs - ideal) / span
        values.append(float(indicator.do(normalised)))
    generations = np.array([r["generation"] for r in run.history], dtype=int)
    return HypervolumeSeries(generations, np.array(values), ideal, nadir, reference, run.column_names)


def selected_generations(generations: np.ndarray, count: int = SHOWN_GENERATIONS) -> list[int]:
    """Up to ``count`` generations evenly spread from the first to the last, both included."""
    picks = np.unique(np.round(np.linspace(0, len(generations) - 1, min(count, len(generations)))).astype(int))
    return [int(generations[i]) for i in picks]


def hypervolume(result: Any, *, x_column: str | None = None, y_column: str | None = None) -> Figure:
    """Hypervolume per generation (line gid ``hypervolume``) beside the population of a few generations.

    The population panel plots ``x_column`` against ``y_column`` (default: the first accuracy/error column
    against the first flip column, else the first two columns); its scatters have gids ``generation G``.
    """
    run = load_run(result)
    series = hypervolume_data(run)
    figure = new_figure(11.5, 4.6)
    with plot_style():
        left, right = figure.subplots(1, 2, width_ratios=[1, 1.15])
        _hypervolume_panel(left, series)
        _population_panel(right, run, *_population_axes(run, x_column, y_column))
        figure.suptitle(f"Search progress of {run.name} ({run.status})")
    return figure


def _hypervolume_panel(axes: Axes, series: HypervolumeSeries) -> None:
    axes.plot(series.generations, series.values, marker="o", color=FRONT_COLOUR, gid="hypervolume")
    axes.set_xlabel("generation")
    axes.set_ylabel("hypervolume of the feasible front (normalised), higher is better")
    axes.set_xticks(series.generations if len(series.generations) <= 15 else axes.get_xticks())
    axes.set_ylim(0, max(float(series.values.max()) * 1.12, 1e-9))
    reference = ", ".join(f"{v:g}" for v in series.reference_point)
    largest = float(np.prod(series.reference_point))
    axes.text(0.98, 0.04, f"objectives minimised (max columns negated),\nscaled to [0, 1] by ideal and nadir of all "
                          f"generations;\nreference point ({reference}), so at most {largest:.3g}",
              transform=axes.transAxes, ha="right",
              va="bottom", fontsize=8.5, color="#333333",
              bbox=dict(boxstyle="round,pad=0.4", facecolor="white", edgecolor="#CCCCCC"))
    axes.set_title("hypervolume per generation")


def _population_axes(run: Run, x_column: str | None, y_column: str | None) -> tuple[int, int]:
    names = run.column_names
    for chosen in (x_column, y_column):
        if chosen is not None and chosen not in names:
            raise RunFolderError(f"column {chosen!r} is not an objective of run {run.name!r}; "
                                 f"columns: {', '.join(names)}")
    if len(names) == 1:
        return 0, 0
    quality = next((i for i, c in enumerate(run.columns) if c.base in ("error", "accuracy")), 0)
    flips = next((i for i, c in enumerate(run.columns) if c.base in ("nf", "nfr", "rel_nfr", "nfi")), None)
    default_y = flips if flips is not None and flips != quality else (1 if quality == 0 else 0)
    x = names.index(x_column) if x_column else quality
    y = names.index(y_column) if y_column else default_y
    return x, y


def _population_panel(axes: Axes, run: Run, x: int, y: int) -> None:
    """Older generations lighter and more transparent; the last generation's front outlined in black."""
    generations = np.array([r["generation"] for r in run.history])
    shown = selected_generations(generations)
    # Single-hue light-to-dark: the newest generation is the darkest, and so the most visible, on white.
    cmap = matrix_cmap()
    for age_rank, generation in enumerate(shown):
        record = next(r for r in run.history if r["generation"] == generation)
        rows = evaluated(record["population"])
        values = np.array([p["objectives"] for p in rows], dtype=float).reshape(len(rows), len(run.columns))
        recency = (age_rank + 1) / len(shown)
        newest = generation == shown[-1]
        front = np.array([p["front"] for p in rows], dtype=bool)
        axes.scatter(values[:, x], values[:, y], s=36 if newest else 24, color=cmap(0.3 + 0.7 * recency),
                     alpha=0.25 + 0.75 * recency, edgecolors=np.where(front & newest, "black", "none"),
                     linewidths=0.9, zorder=2 + age_rank, label=f"generation {generation}",
                     gid=f"generation {generation}")
    columns = run.columns
    label_axis(axes, "x", columns[x])
    label_axis(axes, "y", columns[y])
    axes.legend(title=f"population (black edge: front\nof generation {shown[-1]})", loc="best", fontsize=8,
                title_fontsize=8)
    axes.set_title("population, older generations faded")
