"""Fronts of several runs overlaid on their shared objective columns, each labelled by what its config changed."""
from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from regnas.errors import ConfigError
from regnas.plot.columns import label_axis
from regnas.plot.load import Run, RunFolderError, load_run
from regnas.plot.style import SERIES_COLOURS, SERIES_MARKERS, new_figure, plot_style

MAX_LABEL_FIELDS = 3


def _describe(value: Any) -> str:
    if value is None:
        return "default"
    if isinstance(value, (list, tuple)):
        return ",".join(_describe(v) for v in value) or "none"
    if isinstance(value, dict):
        return ",".join(f"{k}={_describe(v)}" for k, v in value.items()) or "none"
    return str(value)


def run_labels(runs: Sequence[Run]) -> list[str]:
    """``objectives=error,nf,params; members=3``: the config fields that differ between the runs.

    Where the configs agree (or a run has none) the folder name labels the run; a label that would repeat
    gets the folder name appended.
    """
    keys = list(dict.fromkeys(k for run in runs for k in run.config))
    differing = [k for k in keys if len({_describe(run.config.get(k, "?")) for run in runs}) > 1]
    labels = []
    for run in runs:
        fields = [f"{k}={_describe(run.config.get(k, '?'))}" for k in differing[:MAX_LABEL_FIELDS]]
        if len(differing) > MAX_LABEL_FIELDS:
            fields.append("…")
        labels.append("; ".join(fields) if fields and run.config else run.name)
    repeated = {label for label in labels if labels.count(label) > 1}
    return [f"{label} ({run.name})" if label in repeated else label for label, run in zip(labels, runs)]


def shared_columns(runs: Sequence[Run]) -> list[str]:
    """Objective columns every run has, in the first run's order, with one direction across runs."""
    shared = [c for c in runs[0].column_names if all(c in run.column_names for run in runs[1:])]
    if not shared:
        listing = "; ".join(f"{run.name}: {', '.join(run.column_names)}" for run in runs)
        raise RunFolderError(f"the runs share no objective column ({listing})")
    for name in shared:
        directions = {run.columns[run.column_names.index(name)].direction for run in runs}
        if len(directions) > 1:
            raise RunFolderError(f"column {name!r} is minimised in one run and maximised in another")
    return shared


def compare(results: Sequence[Any], labels: Sequence[str] | None = None) -> Figure:
    """Every pair of shared columns in 2D; run r's front has gid ``front R`` and its chosen family ``chosen R``
    (R the run's position, from 0); panels have gid ``pair X vs Y``."""
    if len(results) < 2:
        raise ConfigError(f"comparing needs at least two runs, got {len(results)}")
    if labels is not None and len(labels) != len(results):
        raise ConfigError(f"{len(labels)} labels for {len(results)} runs; give one label per run")
    runs = [load_run(r) for r in results]
    labels = list(labels) if labels is not None else run_labels(runs)
    names = shared_columns(runs)
    columns = [runs[0].columns[runs[0].column_names.index(n)] for n in names]
    pairs = list(itertools.combinations(range(len(names)), 2)) or [(0, 0)]
    ncols = min(3, len(pairs))
    nrows = math.ceil(len(pairs) / ncols)
    figure = new_figure(max(7.0, 4.7 * ncols + 0.4), 4.0 * nrows + 1.0 + 0.25 * len(runs))
    with plot_style():
        for panel, (i, j) in enumerate(pairs):
            axes = figure.add_subplot(nrows, ncols, panel + 1)
            for r, (run, label) in enumerate(zip(runs, labels)):
                x = run.front_objectives()[:, run.column_names.index(names[i])]
                # One shared column leaves nothing to pair it with: each run gets its own row instead.
                y = run.front_objectives()[:, run.column_names.index(names[j])] if i != j else np.full(len(x), -r)
                colour, marker = SERIES_COLOURS[r % len(SERIES_COLOURS)], SERIES_MARKERS[r % len(SERIES_MARKERS)]
                # Hollow markers of different shapes stay visible where the fronts of two runs coincide.
                axes.scatter(x, y, s=48, marker=marker, facecolors="none", edgecolors=colour, linewidths=1.6,
                             label=label if panel == 0 else None, gid=f"front {r}", zorder=3 + r)
                if run.chosen is not None:
                    axes.scatter([x[run.chosen]], [y[run.chosen]], marker="*", s=300, color=colour,
                                 edgecolors="black", linewidths=0.9, zorder=5, gid=f"chosen {r}")
            label_axis(axes, "x", columns[i])
            if i != j:
                label_axis(axes, "y", columns[j])
            else:
                axes.set_yticks(-np.arange(len(runs)), [f"run {r + 1}" for r in range(len(runs))])
                axes.set_ylim(-len(runs) + 0.5, 0.5)
            axes.set_gid(f"pair {names[i]} vs {names[j]}")
        figure.legend(loc="outside lower center", ncols=1 if max(map(len, labels)) > 40 else min(3, len(runs)),
                      title="Pareto fronts (★ chosen family)", fontsize=9)
        shared = f"{len(names)} shared objective columns" if len(names) > 1 else f"shared objective {names[0]}"
        figure.suptitle(f"Pareto fronts of {len(runs)} runs on their {shared}")
    return figure

