"""The Pareto front in objective space: every pair of columns in 2D, all three in 3D, the chosen family's members."""
from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from regnas.plot.columns import KNOWN_QUANTITIES, Column, label_axis, member_quantity_label, tick_formatter
from regnas.plot.draw import Colouring, add_colourbar, draw_chain, draw_chosen, front_colouring, front_point_colours
from regnas.plot.load import Run, load_run
from regnas.plot.style import CHOSEN_COLOUR, CONTEXT_COLOUR, FRONT_COLOUR, new_figure, plot_style

PANEL_WIDTH, PANEL_HEIGHT = 4.6, 3.9


def pareto(result: Any) -> Figure:
    """The front of ``result`` (run folder, Run or SearchResult) projected on every pair of objective columns.

    Artists carry gids for whoever reads the figure back: ``front`` (the front families), ``chosen`` (the
    chosen family, finished runs only), ``population`` (the last generation's dominated families),
    ``members`` / ``members-link`` (the chosen family's members, accuracy against parameters, small to
    large). Each 2D panel's gid is ``pair X vs Y`` with the column names.
    """
    run = load_run(result)
    columns = run.columns
    pairs = list(itertools.combinations(range(len(columns)), 2)) or [(0, 0)]
    panels = len(pairs) + (len(columns) == 3) + bool(run.family)
    ncols = min(3, panels)
    nrows = math.ceil(panels / ncols)
    figure = new_figure(PANEL_WIDTH * ncols + 1.2, PANEL_HEIGHT * nrows + 1.0)
    colouring = front_colouring(run)
    with plot_style():
        coloured_axes: list[Axes] = []
        for index, (i, j) in enumerate(pairs):
            axes = figure.add_subplot(nrows, ncols, index + 1)
            if _pair_panel(axes, run, columns[i], columns[j], colouring):
                coloured_axes.append(axes)
        next_panel = len(pairs) + 1
        if len(columns) == 3:
            axes3d = figure.add_subplot(nrows, ncols, next_panel, projection="3d")
            _panel_3d(axes3d, run, columns, colouring)
            next_panel += 1
        if run.family:
            _members_panel(figure.add_subplot(nrows, ncols, next_panel), run)
        if colouring is not None and coloured_axes:
            add_colourbar(figure, colouring, figure.axes)
        handles = _legend_handles(run, colouring if coloured_axes else None)
        figure.legend(handles=handles, loc="outside lower center", ncols=len(handles), frameon=False)
        figure.suptitle(f"Pareto front of {run.name}: {len(run.front)} families, {run.status}")
    return figure


def _legend_handles(run: Run, colouring: Colouring | None) -> list[Line2D]:
    handles = []
    if run.history and any(not p["front"] for p in run.history[-1]["population"]):
        handles.append(Line2D([], [], linestyle="", marker="o", markersize=5, color=CONTEXT_COLOUR,
                              label="dominated (last generation)"))
    note = f" (colour: {colouring.name}, in panels without an NF/NFR axis)" if colouring else ""
    handles.append(Line2D([], [], linestyle="", marker="o", markersize=7, color=FRONT_COLOUR, markeredgecolor="black",
                          label=f"Pareto front{note}"))
    if not all(f.feasible for f in run.front):
        handles.append(Line2D([], [], linestyle="", marker="x", markersize=8, color="black", label="over a latency budget"))
    if run.chosen is not None:
        handles.append(Line2D([], [], linestyle="", marker="*", markersize=15, color=CHOSEN_COLOUR,
                              markeredgecolor="black", label="chosen family"))
    if run.family:
        handles.append(Line2D([], [], marker="o", markersize=7, color=CHOSEN_COLOUR, markeredgecolor="black",
                              label="its members, small → large"))
    return handles


def _pair_panel(axes: Axes, run: Run, x_column: Column, y_column: Column, colouring: Colouring | None) -> bool:
    """Draw one projection; True when its front points are coloured by the colouring."""
    names = run.column_names
    i, j = names.index(x_column.name), names.index(y_column.name)
    values = run.front_objectives()
    if run.history:
        population = [p["objectives"] for p in run.history[-1]["population"] if not p["front"]]
        if population:
            dominated = np.array(population, dtype=float)
            axes.scatter(dominated[:, i], dominated[:, j], s=14, color=CONTEXT_COLOUR, zorder=2,
                         label="dominated (last generation)", gid="population")
    feasible = np.array([f.feasible for f in run.front])
    colours = front_point_colours(run, colouring, (x_column.name, y_column.name))
    axes.scatter(values[:, i], values[:, j], s=46, c=colours, edgecolors="black", linewidths=0.5, zorder=3,
                 label="Pareto front", gid="front")
    if not feasible.all():
        axes.scatter(values[~feasible, i], values[~feasible, j], s=90, marker="x", color="black", zorder=4,
                     label="over a latency budget", gid="infeasible")
    if run.chosen is not None:
        draw_chosen(axes, values[run.chosen, i], values[run.chosen, j])
    axes.set_gid(f"pair {x_column.name} vs {y_column.name}")
    label_axis(axes, "x", x_column)
    if i != j:
        label_axis(axes, "y", y_column)
    else:
        axes.set_yticks([])
    return not isinstance(colours, str)


def _panel_3d(axes: Axes, run: Run, columns: list[Column], colouring: Colouring | None) -> None:
    values = run.front_objectives()
    colours = front_point_colours(run, colouring, [c.name for c in columns])
    axes.scatter(values[:, 0], values[:, 1], values[:, 2], s=40, c=colours, edgecolors="black", linewidths=0.4,
                 depthshade=False, gid="front")
    if run.chosen is not None:
        chosen = values[run.chosen]
        axes.scatter([chosen[0]], [chosen[1]], [chosen[2]], marker="*", s=320, color=CHOSEN_COLOUR, edgecolors="black",
                     linewidths=0.8, depthshade=False, gid="chosen")
    for axis, column in zip("xyz", columns):
        label_axis(axes, axis, column, short=True)
    axes.set_title("all three objectives", fontsize=10)
    # Shrinking the box inside its panel leaves room for the tick and axis labels that 3D axes draw outside it.
    axes.set_box_aspect(None, zoom=0.78)
    axes.set_gid("front 3d")


def _members_panel(axes: Axes, run: Run) -> None:
    """Each member of the chosen family as a point; the arrows go from the smallest member to the largest."""
    family = run.family
    params = [m["params"] for m in family]
    accuracy = [m["validation_accuracy"] for m in family]
    draw_chain(axes, params, accuracy, [m["name"] for m in family])
    accuracy_quantity, params_quantity = KNOWN_QUANTITIES["accuracy"], KNOWN_QUANTITIES["params"]
    axes.set_xlabel(member_quantity_label(params_quantity, "per member", "fewer is smaller"))
    axes.set_ylabel(member_quantity_label(accuracy_quantity, "validation", "higher is better"))
    axes.xaxis.set_major_formatter(tick_formatter(params_quantity))
    axes.yaxis.set_major_formatter(tick_formatter(accuracy_quantity))
    axes.set_title("chosen family: members small → large", fontsize=10)
    axes.margins(0.2)
    axes.set_gid("members")
