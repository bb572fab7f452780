"""Drawing pieces several figures share: NFR colouring of the front, the chosen-family star, member chains."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from regnas.plot.columns import Quantity, builtin_quantity, tick_formatter
from regnas.plot.load import Run
from regnas.plot.style import CHOSEN_COLOUR, FRONT_COLOUR, sequential_cmap

FLIP_COLUMNS = frozenset({"nf", "nfr"})  # axes that already show what the NFR colour would


@dataclass(frozen=True)
class Colouring:
    """A per-family quantity shown as colour where it is not already an axis."""

    values: np.ndarray
    name: str
    quantity: Quantity

    @property
    def label(self) -> str:
        return f"{self.name} ({self.quantity.unit}), lower is better"

    @property
    def norm(self) -> Normalize:
        low, high = float(np.min(self.values)), float(np.max(self.values))
        # A front whose families all share one value gets one colour rather than a division by zero.
        return Normalize(low, high if high > low else low + 1e-12)

    def shown_with(self, axis_columns: Sequence[str]) -> bool:
        return not FLIP_COLUMNS.intersection(axis_columns)


def front_colouring(run: Run) -> Colouring | None:
    """Family NFR where result.json records it; while running, the nfr or nf column if there is one."""
    front = run.front
    if front and all(f.nfr is not None for f in front):
        return Colouring(np.array([f.nfr for f in front], dtype=float), "family NFR on validation",
                         builtin_quantity("nfr"))
    names = run.column_names
    for name in ("nfr", "nf"):
        if name in names:
            quantity = builtin_quantity(name)
            return Colouring(run.front_objectives()[:, names.index(name)], f"family {name.upper()}", quantity)
    return None


def front_point_colours(run: Run, colouring: Colouring | None, axis_columns: Sequence[str]) -> np.ndarray | str:
    if colouring is None or not colouring.shown_with(axis_columns):
        return FRONT_COLOUR
    return sequential_cmap()(colouring.norm(colouring.values))


def add_colourbar(figure: Figure, colouring: Colouring, axes: Sequence[Axes]) -> None:
    mappable = ScalarMappable(norm=colouring.norm, cmap=sequential_cmap())
    bar = figure.colorbar(mappable, ax=list(axes), shrink=0.8, aspect=30, pad=0.02)
    bar.set_label(colouring.label)
    bar.ax.yaxis.set_major_formatter(tick_formatter(colouring.quantity))


def draw_chosen(axes: Axes, x: float, y: float, gid: str = "chosen", size: float = 320) -> None:
    axes.scatter([x], [y], marker="*", s=size, color=CHOSEN_COLOUR, edgecolors="black", linewidths=0.8, zorder=6,
                 label="chosen family", gid=gid)


def draw_chain(axes: Axes, x: Sequence[float], y: Sequence[float], names: Sequence[str], *, colour: str = CHOSEN_COLOUR,
               label: str = "chosen family, small → large", gid: str = "members") -> None:
    """Members as points linked by arrows from the smallest to the largest, each labelled with its name."""
    axes.scatter(x, y, marker="o", s=70, color=colour, edgecolors="black", linewidths=0.8, zorder=5, label=label,
                 gid=gid)
    for k in range(len(x) - 1):
        axes.annotate("", xy=(x[k + 1], y[k + 1]), xytext=(x[k], y[k]), gid=f"{gid}-link",
                      arrowprops=dict(arrowstyle="-|>", color=colour, lw=1.6, shrinkA=5, shrinkB=5,
                                      mutation_scale=14))
    for xk, yk, name in zip(x, y, names):
        axes.annotate(name, (xk, yk), xytext=(7, -12), textcoords="offset points", fontsize=9, fontweight="bold",
                      gid=f"{gid}-label")
