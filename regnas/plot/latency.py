"""Accuracy against latency, one panel per platform: front members and the chosen family linked small to large."""
from __future__ import annotations

import math
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from regnas.budgets import parse_limit
from regnas.plot.columns import builtin_quantity, member_quantity_label, tick_formatter
from regnas.plot.draw import draw_chain
from regnas.plot.load import Run, RunFolderError, load_run
from regnas.plot.style import SERIES_COLOURS, SERIES_MARKERS, new_figure, plot_style


def member_columns(run: Run, member: str, platform: str) -> tuple[int, int, bool] | None:
    """(latency column, quality column, quality is error) of ``member`` on ``platform``, if the run has both."""
    names = run.column_names
    # The "latency" objective prices each member on its own platform, and members are named after platforms.
    candidates = [f"latency@{platform}[{member}]"] + ([f"latency[{member}]"] if member == platform else [])
    latency = next((names.index(c) for c in candidates if c in names), None)
    if latency is None:
        return None
    for base, is_error in (("accuracy", False), ("error", True)):
        if f"{base}[{member}]" in names:
            return latency, names.index(f"{base}[{member}]"), is_error
    return None


def accuracy_latency(result: Any) -> Figure:
    """Per platform P (axes gid ``latency P``): the front's members on P (gid ``front MEMBER``, validation accuracy
    from the objective columns) and the chosen family's members on P (gid ``members``, arrows ``members-link``)."""
    run = load_run(result)
    platforms = run.platforms
    if not platforms:
        raise RunFolderError(f"run {run.name!r} has no latency: no latency objective columns or latency@PLATFORM keys")
    ncols = min(3, len(platforms))
    nrows = math.ceil(len(platforms) / ncols)
    figure = new_figure(4.9 * ncols + 0.4, 4.3 * nrows + 0.5)
    with plot_style():
        for index, platform in enumerate(platforms):
            axes = figure.add_subplot(nrows, ncols, index + 1)
            _platform_panel(axes, run, platform)
        figure.suptitle(f"Accuracy against latency per platform: {run.name} ({run.status})")
    return figure


def _platform_panel(axes: Axes, run: Run, platform: str) -> None:
    values = run.front_objectives()
    for k, member in enumerate(run.member_names):
        found = member_columns(run, member, platform)
        if found is None:
            continue
        latency, quality, is_error = found
        accuracy = 1.0 - values[:, quality] if is_error else values[:, quality]
        axes.scatter(values[:, latency], accuracy, s=28, alpha=0.75, color=SERIES_COLOURS[k % len(SERIES_COLOURS)],
                     marker=SERIES_MARKERS[k % len(SERIES_MARKERS)], label=f"{member} across the front",
                     gid=f"front {member}", zorder=3)
    key = f"latency@{platform}"
    if run.family and all(key in m for m in run.family):
        draw_chain(axes, [m[key] for m in run.family], [m["validation_accuracy"] for m in run.family],
                   [m["name"] for m in run.family])
    limit = (run.config.get("budgets") or {}).get(platform)
    kind, budget = parse_limit(limit) if limit is not None else (None, None)
    if kind == "latency":
        axes.axvline(budget, color="black", linestyle="--", lw=1.1, label=f"budget of the {platform} member: {budget:g} ms",
                     gid="budget")
    axes.set_xlabel(f"latency on {platform} (ms), lower is better")
    accuracy_quantity = builtin_quantity("accuracy")
    axes.set_ylabel(member_quantity_label(accuracy_quantity, "validation", "higher is better"))
    axes.yaxis.set_major_formatter(tick_formatter(accuracy_quantity))
    axes.margins(0.2)  # room for the member names written beside their points
    axes.set_title(platform)
    axes.set_gid(f"latency {platform}")
    if axes.get_legend_handles_labels()[0]:
        axes.legend(loc="best", fontsize=8)

