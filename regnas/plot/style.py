"""The one look shared by every regnas figure: Okabe-Ito colours, rc settings, an Agg canvas, atomic saving."""
from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import matplotlib
import numpy as np
from cycler import cycler
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import Colormap, ListedColormap
from matplotlib.figure import Figure

from regnas.io import atomic_write

# Okabe & Ito (2008), distinguishable under the common colour-vision deficiencies.
OKABE_ITO = {
    "black": "#000000", "orange": "#E69F00", "sky_blue": "#56B4E9", "green": "#009E73",
    "yellow": "#F0E442", "blue": "#0072B2", "vermillion": "#D55E00", "purple": "#CC79A7",
}
# Yellow is hard to see on white, so it comes last in the cycle used for runs and members.
SERIES_COLOURS = [OKABE_ITO[c] for c in
                  ("blue", "orange", "green", "vermillion", "purple", "sky_blue", "black", "yellow")]
SERIES_MARKERS = ["o", "s", "^", "D", "v", "P", "X", "h"]

FRONT_COLOUR = OKABE_ITO["blue"]
CHOSEN_COLOUR = OKABE_ITO["vermillion"]
CONTEXT_COLOUR = "#B0B0B0"  # points that are context, not the subject (dominated population, empty cells)
# cividis reads the same with colour-vision deficiencies and in greyscale; its bright-yellow top is cut off
# because yellow points and lines vanish on white.
SEQUENTIAL_CMAP = "cividis"
SEQUENTIAL_RANGE = (0.0, 0.82)
# Matrices of counts read best as "darker is more"; a single hue keeps it colour-blind safe.
MATRIX_CMAP = "Blues"

STYLE: dict[str, object] = {
    "figure.dpi": 100,
    "savefig.dpi": 150,
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
    "figure.constrained_layout.use": True,
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
    "axes.labelsize": 10,
    "figure.titlesize": 12,
    "figure.titleweight": "bold",
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 9,
    "legend.frameon": True,
    "legend.framealpha": 0.85,
    "legend.edgecolor": "#CCCCCC",
    "axes.grid": True,
    "grid.color": "#DDDDDD",
    "grid.linewidth": 0.6,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.prop_cycle": cycler(color=SERIES_COLOURS),
    "lines.linewidth": 1.6,
    "scatter.edgecolors": "face",
    # Text stays text in SVG and PDF: searchable, selectable, and small.
    "svg.fonttype": "none",
    "pdf.fonttype": 42,
}

FORMATS = ("png", "svg", "pdf")


@contextmanager
def plot_style() -> Iterator[None]:
    """rc settings apply when artists are created, so every figure is built inside this context."""
    with matplotlib.rc_context(STYLE):
        yield


def new_figure(width: float, height: float) -> Figure:
    """A figure on its own Agg canvas: no pyplot state, no GUI backend, nothing to close."""
    with plot_style():
        figure = Figure(figsize=(width, height))
    FigureCanvasAgg(figure)
    return figure


def sequential_cmap() -> Colormap:
    """The colour scale of per-family quantities such as NFR, and of generations by age."""
    low, high = SEQUENTIAL_RANGE
    base = matplotlib.colormaps[SEQUENTIAL_CMAP]
    return ListedColormap(base(np.linspace(low, high, 256)), name=f"{SEQUENTIAL_CMAP}_truncated")


def matrix_cmap() -> Colormap:
    return matplotlib.colormaps[MATRIX_CMAP]


def save_figure(figure: Figure, path: str | Path, file_format: str) -> Path:
    """Write ``figure`` atomically as ``file_format`` (png, svg or pdf)."""
    with plot_style():
        return atomic_write(path, lambda handle: figure.savefig(handle, format=file_format))


def png_bytes(figure: Figure) -> bytes:
    """``figure`` as PNG in memory, for embedding in a report."""
    buffer = io.BytesIO()
    with plot_style():
        figure.savefig(buffer, format="png")
    return buffer.getvalue()
