"""The Pareto front in objective space: every pair of columns in 2D, all three in 3D, the chosen family's members."""
from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from regnas.plot.columns import (ARROWS_EXPLAINED, Column, builtin_quantity, label_axis, member_quantity_label,
                                 tick_formatter)
from regnas.plot.draw import Colouring, add_colourbar, draw_chain, draw_chosen, front_colouring, front_point_colours
from regnas.plot.load import Run, evaluated, load_run
from regnas.plot.style import CHOSEN_COLOUR, CONTEXT_COLOUR, FRONT_COLOUR, new_figure, plot_style

PANEL_WIDTH, PANEL_HEIGHT = 4.6, 3.9
MATRIX_PANEL = 2.3
GRID_MAX_COLUMNS = 4  # up to 6 pairs fit full-size panels; beyond that a scatter matrix stays readable


def pareto(result: Any) -> Figure:
    """The front of ``result`` (run folder, Run or SearchResult) projected on every pair of objective columns.

    Up to four columns each pair gets a full panel (and three columns a 3D panel too); more columns are drawn
    as the lower triangle of a scatter matrix. Artists carry gids for whoever reads the figure back: ``front``
    (the front families), ``chosen`` (the chosen family, finished runs only), ``population`` (the last
    generation's dominated families), ``members`` / ``members-link`` (the chosen family's members, accuracy
    against parameters, small to large). Each 2D panel's gid is ``pair X vs Y`` with the column names.
    """
    run = load_run(result)
    colouring = front_colouring(run)
    if len(run.columns) <= GRID_MAX_COLUMNS:
        figure, coloured = _grid_layout(run, colouring)
    else:
        figure, coloured = _matrix_layout(run, colouring)
    with plot_style():
        if colouring is not None and coloured:
            add_colourbar(figure, colouring, figure.axes)
        short_labels = len(run.columns) == 3 or len(run.columns) > GRID_MAX_COLUMNS
        handles = _legend_handles(run, colouring if coloured else None, short_labels)
        # About 13 characters of 9-point text per inch, plus room for each marker: wrap what would not fit.
        one_row = sum(len(h.get_label()) + 6 for h in handles) / 13 < figure.get_figwidth()
        figure.legend(handles=handles, loc="outside lower center", frameon=False,
                      ncols=len(handles) if one_row else math.ceil(len(handles) / 2))
        figure.suptitle(f"Pareto front of {run.name}: {len(run.front)} families, {run.status}")
    return figure


def _grid_layout(run: Run, colouring: Colouring | None) -> tuple[Figure, bool]:
    columns = run.columns
    pairs = list(itertools.combinations(range(len(columns)), 2)) or [(0, 0)]
    panels = len(pairs) + (len(columns) == 3) + bool(run.family)
    ncols = min(3, panels)
    nrows = math.ceil(panels / ncols)
    figure = new_figure(PANEL_WIDTH * ncols + 1.2, PANEL_HEIGHT * nrows + 1.0)
    coloured = False
    with plot_style():
        for index, (i, j) in enumerate(pairs):
            axes = figure.add_subplot(nrows, ncols, index + 1)
            coloured |= _pair_panel(axes, run, columns[i], columns[j], colouring)
            label_axis(axes, "x", columns[i])
            if i != j:
                label_axis(axes, "y", columns[j])
        next_panel = len(pairs) + 1
        if len(columns) == 3:
            _panel_3d(figure.add_subplot(nrows, ncols, next_panel, projection="3d"), run, columns, colouring)
            next_panel += 1
        if run.family:
            _members_panel(figure.add_subplot(nrows, ncols, next_panel), run)
    return figure, coloured


def _matrix_layout(run: Run, colouring: Colouring | None) -> tuple[Figure, bool]:
    """Row r, column c (c <= r) plots column c against column r + 1; the empty upper triangle holds the members."""
    columns = run.columns
    size = len(columns) - 1
    figure = new_figure(MATRIX_PANEL * size + 1.6, MATRIX_PANEL * size + 1.2)
    grid = figure.add_gridspec(size, size)
    coloured = False
    with plot_style():
        first_in_row: dict[int, Axes] = {}
        first_in_column: dict[int, Axes] = {}
        for r in range(size):
            for c in range(r + 1):
                axes = figure.add_subplot(grid[r, c], sharex=first_in_column.get(c), sharey=first_in_row.get(r))
                first_in_row.setdefault(r, axes)
                first_in_column.setdefault(c, axes)
                coloured |= _pair_panel(axes, run, columns[c], columns[r + 1], colouring, marker_scale=0.6)
                label_axis(axes, "x", columns[c], short=True)
                label_axis(axes, "y", columns[r + 1], short=True)
                axes.xaxis.label.set_visible(r == size - 1)
                axes.tick_params(labelbottom=r == size - 1, labelleft=c == 0, labelsize=7.5)
                # Small panels: few ticks, or the labels of neighbouring panels run into each other.
                axes.xaxis.set_major_locator(MaxNLocator(4))
                axes.yaxis.set_major_locator(MaxNLocator(4))
                axes.yaxis.label.set_visible(c == 0)
        if run.family:
            block = size // 2
            _members_panel(figure.add_subplot(grid[:block, size - block:]), run)
    return figure, coloured


def _legend_handles(run: Run, colouring: Colouring | None, short_labels: bool) -> list[Line2D]:
    handles = []
    if run.history and any(not p["front"] for p in evaluated(run.history[-1]["population"])):
        handles.append(Line2D([], [], linestyle="", marker="o", markersize=5, color=CONTEXT_COLOUR,
                              label="dominated (last generation)"))
    note = f" (colour: {colouring.name}, in panels without an NF/NFR axis)" if colouring else ""
    handles.append(Line2D([], [], linestyle="", marker="o", markersize=7, color=FRONT_COLOUR, markeredgecolor="black",
                          label=f"Pareto front{note}"))
    if not all(f.feasible for f in run.front):
        handles.append(Line2D([], [], linestyle="", marker="x", markersize=8, color="black",
                              label="over a latency budget"))
    if run.chosen is not None:
        handles.append(Line2D([], [], linestyle="", marker="*", markersize=15, color=CHOSEN_COLOUR,
                              markeredgecolor="black", label="chosen family"))
    if run.family:
        handles.append(Line2D([], [], marker="o", markersize=7, color=CHOSEN_COLOUR, markeredgecolor="black",
                              label="its members, small → large"))
    if short_labels:
        handles.append(Line2D([], [], linestyle="", label=ARROWS_EXPLAINED))
    return handles


def _pair_panel(axes: Axes, run: Run, x_column: Column, y_column: Column, colouring: Colouring | None,
                marker_scale: float = 1.0) -> bool:
    """Draw one projection (axis labels are the caller's); True when its front points are coloured."""
    names = run.column_names
    i, j = names.index(x_column.name), names.index(y_column.name)
    values = run.front_objectives()
    if run.history:
        population = [p["objectives"] for p in evaluated(run.history[-1]["population"]) if not p["front"]]
        if population:
            dominated = np.array(population, dtype=float)
            axes.scatter(dominated[:, i], dominated[:, j], s=14 * marker_scale, color=CONTEXT_COLOUR, zorder=2,
                         label="dominated (last generation)", gid="population")
    feasible = np.array([f.feasible for f in run.front])
    colours = front_point_colours(run, colouring, (x_column.name, y_column.name))
    axes.scatter(values[:, i], values[:, j], s=46 * marker_scale, c=colours, edgecolors="black", linewidths=0.5,
                 zorder=3, label="Pareto front", gid="front")
    if not feasible.all():
        axes.scatter(values[~feasible, i], values[~feasible, j], s=90 * marker_scale, marker="x", color="black",
                     zorder=4, label="over a latency budget", gid="infeasible")
    if run.chosen is not None:
        draw_chosen(axes, values[run.chosen, i], values[run.chosen, j], size=320 * marker_scale)
    axes.set_gid(f"pair {x_column.name} vs {y_column.name}")
    if i == j:
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
    accuracy_quantity, params_quantity = builtin_quantity("accuracy"), builtin_quantity("params")
    axes.set_xlabel(member_quantity_label(params_quantity, "per member", "fewer is smaller"))
    axes.set_ylabel(member_quantity_label(accuracy_quantity, "validation", "higher is better"))
    axes.xaxis.set_major_formatter(tick_formatter(params_quantity))
    axes.yaxis.set_major_formatter(tick_formatter(accuracy_quantity))
    axes.set_title("chosen family: members small → large", fontsize=10)
    axes.margins(0.2)
    axes.set_gid("members")
