"""The negative-flip matrix of the chosen family: NF and NFR for every ordered (old, new) pair of members."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.image import AxesImage

from regnas.plot.columns import builtin_quantity, tick_formatter
from regnas.plot.load import Run, RunFolderError, load_run
from regnas.plot.style import matrix_cmap, new_figure, plot_style


@dataclass(frozen=True)
class FlipMatrix:
    """Row ``old``, column ``new``; the diagonal is NaN (a model does not flip against itself)."""

    names: list[str]
    nf: np.ndarray
    nfr: np.ndarray
    nfr_low: np.ndarray
    nfr_high: np.ndarray
    split: str
    samples: int | None


def flip_matrix_data(result: Any) -> FlipMatrix:
    run = load_run(result)
    if not run.finished:
        raise RunFolderError(f"run {run.name!r} has no flip matrix yet: it is {run.status} (no result.json)")
    names = [m["name"] for m in run.family]
    if len(names) < 2:
        raise RunFolderError(f"run {run.name!r} has a one-member family: there is no pair to flip")
    size = len(names)
    tables = {key: np.full((size, size), np.nan) for key in ("nf", "nfr", "low", "high")}
    for flip in run.flips:
        cell = (flip["old_index"], flip["new_index"])
        tables["nf"][cell], tables["nfr"][cell] = flip["nf"], flip["nfr"]
        tables["low"][cell], tables["high"][cell] = flip["nfr_ci95"]
    return FlipMatrix(names, tables["nf"], tables["nfr"], tables["low"], tables["high"],
                      str(run.result.get("flips_split", "test")), run.result.get("test_size"))


def flip_matrix(result: Any) -> Figure:
    """An annotated heatmap, rows ``old`` and columns ``new``: colour and text NFR (with its bootstrap 95%
    interval), text NF. The image has gid ``nfr`` (its array is the NFR matrix, diagonal masked); the cell
    texts have gids ``cell OLD NEW`` (member indices)."""
    data = flip_matrix_data(result)
    size = len(data.names)
    cell = 1.45 if size <= 3 else 1.15
    figure = new_figure(cell * size + 2.9, cell * size + 1.9)
    with plot_style():
        axes = figure.add_subplot()
        masked = np.ma.masked_invalid(data.nfr)
        cmap = matrix_cmap().with_extremes(bad="white")
        finite = data.nfr[np.isfinite(data.nfr)]
        image = axes.imshow(masked, cmap=cmap, vmin=0.0, vmax=max(float(finite.max()), 1e-9), gid="nfr")
        for i in range(size):
            for j in range(size):
                _annotate_cell(axes, image, data, i, j, small=size > 4)
        axes.set_xticks(range(size), data.names)
        axes.set_yticks(range(size), data.names)
        axes.set_xlabel("new member (the update)")
        axes.set_ylabel("old member (the reference)")
        axes.xaxis.set_label_position("top")
        axes.xaxis.tick_top()
        axes.tick_params(length=0)
        axes.grid(False)
        axes.spines[:].set_visible(False)
        bar = figure.colorbar(image, ax=axes, shrink=0.85, aspect=25)
        bar.set_label("NFR (%), lower is better")
        bar.ax.yaxis.set_major_formatter(tick_formatter(builtin_quantity("nfr")))
        samples = f"N = {data.samples} {data.split} images" if data.samples else f"{data.split} split"
        figure.suptitle(f"Negative flips of the chosen family ({samples})")
        figure.supxlabel("a flip: the old member is right and the new one wrong;\nabove the diagonal the new "
                         "member is the larger one", fontsize=8.5, color="#444444")
    return figure


def _annotate_cell(axes: Axes, image: AxesImage, data: FlipMatrix, i: int, j: int, *, small: bool) -> None:
    if i == j:
        axes.text(j, i, "—", ha="center", va="center", color="#888888", gid=f"cell {i} {j}")
        return
    red, green, blue, _ = image.cmap(image.norm(data.nfr[i, j]))
    # Dark cells need light text; the threshold is on perceived luminance.
    ink = "black" if 0.299 * red + 0.587 * green + 0.114 * blue > 0.55 else "white"
    text = (f"NF {data.nf[i, j]:.0f}\nNFR {100 * data.nfr[i, j]:.2f}%\n"
            f"[{100 * data.nfr_low[i, j]:.2f}, {100 * data.nfr_high[i, j]:.2f}]")
    axes.text(j, i, text, ha="center", va="center", color=ink, fontsize=7.5 if small else 9, linespacing=1.3,
              gid=f"cell {i} {j}")
