"""Parallel coordinates of the final front: one vertical axis per objective, one line per family."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from regnas.plot.draw import add_colourbar, front_colouring
from regnas.plot.load import RunFolderError, load_run
from regnas.plot.style import CHOSEN_COLOUR, FRONT_COLOUR, new_figure, plot_style, sequential_cmap

# The end values sit on the axis lines; a white box keeps them legible.
VALUE_BOX = dict(boxstyle="round,pad=0.15", facecolor="white", edgecolor="none")


@dataclass(frozen=True)
class ParallelCoordinates:
    """``positions[f, c]`` in [0, 1]: 0 is the front's best value of column c, 1 its worst.

    Max columns are flipped so that lower is better on every axis; a column constant over the front sits at 0.5.
    """

    columns: list[str]
    positions: np.ndarray
    best: np.ndarray   # natural-unit value at position 0 of each axis
    worst: np.ndarray  # natural-unit value at position 1 of each axis


def parallel_coordinates_data(result: Any) -> ParallelCoordinates:
    run = load_run(result)
    if len(run.columns) < 2:
        raise RunFolderError(f"run {run.name!r} has one objective column: nothing to draw in parallel")
    minimised = run.front_objectives() * run.signs
    low, high = minimised.min(axis=0), minimised.max(axis=0)
    span = high - low
    positions = np.where(span > 0, (minimised - low) / np.where(span > 0, span, 1.0), 0.5)
    return ParallelCoordinates(run.column_names, positions, low * run.signs, high * run.signs)


def parallel_coordinates(result: Any) -> Figure:
    """Lines gid ``family`` (coloured by family NFR where known), the chosen family's line gid ``chosen``."""
    run = load_run(result)
    data = parallel_coordinates_data(run)
    columns = run.columns
    axis_positions = np.arange(len(columns))
    figure = new_figure(max(9.0, 1.8 * len(columns) + 3.0), 5.4)
    colouring = front_colouring(run)
    with plot_style():
        axes = figure.add_subplot()
        for index, family in enumerate(run.front):
            if index == run.chosen:
                continue
            colour = sequential_cmap()(colouring.norm(colouring.values[index])) if colouring else FRONT_COLOUR
            axes.plot(axis_positions, data.positions[index], color=colour, alpha=0.85, lw=1.3,
                      linestyle="-" if family.feasible else ":", gid="family")
        if run.chosen is not None:
            axes.plot(axis_positions, data.positions[run.chosen], color=CHOSEN_COLOUR, lw=3.2, zorder=5,
                      marker="*", markersize=13, markeredgecolor="black", gid="chosen")
        for position, column, best, worst in zip(axis_positions, columns, data.best, data.worst):
            axes.axvline(position, color="#555555", lw=1.0, zorder=1)
            axes.annotate(column.format(best), (position, 0), xytext=(0, -9), textcoords="offset points",
                          ha="center", va="top", fontsize=8.5, color="#222222", bbox=VALUE_BOX)
            axes.annotate(column.format(worst), (position, 1), xytext=(0, 9), textcoords="offset points",
                          ha="center", va="bottom", fontsize=8.5, color="#222222", bbox=VALUE_BOX)
        axes.set_xticks(axis_positions, [c.name_with_unit for c in columns], rotation=20 if len(columns) > 4 else 0,
                        ha="right" if len(columns) > 4 else "center")
        axes.set_yticks([0, 1], ["best\non front", "worst\non front"])
        axes.set_ylim(-0.12, 1.12)
        axes.set_xlim(-0.3, len(columns) - 0.7)
        axes.grid(False)
        axes.spines[["left", "bottom"]].set_visible(False)
        axes.tick_params(length=0)
        front_label = f"front family (colour: {colouring.name})" if colouring else "front family"
        handles = [Line2D([], [], color=sequential_cmap()(0.5) if colouring else FRONT_COLOUR, label=front_label)]
        if run.chosen is not None:
            handles.append(Line2D([], [], color=CHOSEN_COLOUR, lw=3.2, label="chosen family"))
        if not all(f.feasible for f in run.front):
            handles.append(Line2D([], [], color="#555555", linestyle=":", label="over a latency budget"))
        axes.legend(handles=handles, loc="upper left", bbox_to_anchor=(0, -0.12), ncols=len(handles), frameon=False)
        if colouring is not None:
            add_colourbar(figure, colouring, [axes])
        flipped = [c.name for c in columns if c.direction == "max"]
        axes.set_title("parallel coordinates, lower is better on every axis"
                       + (f" ({', '.join(flipped)} flipped)" if flipped else ""), fontsize=10)
        figure.suptitle(f"Final front of {run.name}: {len(run.front)} families, {run.status}")
    return figure
