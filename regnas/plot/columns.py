"""Human labels for objective columns: what ``error[m1]`` measures, in which unit, and which way is better."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter

_MEMBER_COLUMN = re.compile(r"^(?P<base>.+)\[(?P<member>[^\[\]]+)\]$")
_PREFIXES = {0: "", 3: "k", 6: "M", 9: "G", 12: "T"}


def engineering(value: float) -> str:
    """``46128`` -> ``46.13k``: four significant digits and an SI prefix."""
    if value == 0:
        return "0"
    exponent = min(max(int(math.floor(math.log10(abs(value)) / 3)) * 3, 0), 12)
    return f"{value / 10 ** exponent:.4g}{_PREFIXES[exponent]}"


@dataclass(frozen=True)
class Quantity:
    """How a quantity is shown: values are kept in natural units and only the tick labels are scaled."""

    description: str
    scale: float
    unit: str
    engineering: bool = False  # tick labels such as 46k and 1.2M, for counts spanning many magnitudes

    def format(self, value: float) -> str:
        if self.engineering:
            return engineering(value * self.scale)
        return f"{value * self.scale:.4g}"


ARROWS_EXPLAINED = "↓ lower is better, ↑ higher is better"


def quantity_of(label: str, unit: str) -> Quantity:
    """How an objective's values are shown, from its label and unit (``regnas.objectives.Objective``):
    fractions as percentages and counts with SI prefixes; data stay in natural units."""
    if unit == "fraction":
        return Quantity(label, 100.0, "%")
    if unit == "count":
        return Quantity(label, 1.0, "count", engineering=True)
    return Quantity(label, 1.0, unit)


def builtin_quantity(name: str) -> Quantity:
    """The quantity of a registered objective (e.g. ``nfr`` for a colour bar that is no objective column)."""
    from regnas.objectives import get_objective

    objective = get_objective(name)
    return quantity_of(objective.axis_label, objective.unit)


@dataclass(frozen=True)
class Column:
    """One objective column of a run: its name, and the direction, unit and label the run recorded
    (from the objective; a run that recorded no label is described by its registered objective, if any)."""

    name: str
    direction: str
    recorded_unit: str = ""
    recorded_label: str = ""

    @property
    def base(self) -> str:
        match = _MEMBER_COLUMN.match(self.name)
        return match["base"] if match else self.name

    @property
    def member(self) -> str | None:
        match = _MEMBER_COLUMN.match(self.name)
        return match["member"] if match else None

    @property
    def quantity(self) -> Quantity:
        if self.recorded_label:
            return quantity_of(self.recorded_label, self.recorded_unit)
        from regnas.errors import RegnasError

        try:
            return builtin_quantity(self.base)
        except RegnasError:  # a user objective of an older run: its name and recorded unit
            return quantity_of(self.base, self.recorded_unit)

    @property
    def better(self) -> str:
        return "lower is better" if self.direction == "min" else "higher is better"

    @property
    def description(self) -> str:
        member = f" of {self.member}" if self.member else ""
        return f"{self.quantity.description}{member}"

    @property
    def arrow(self) -> str:
        """Which way is better, as the figures' legends explain it: ↓ lower is better, ↑ higher is better."""
        return "↓" if self.direction == "min" else "↑"

    @property
    def name_with_unit(self) -> str:
        unit = self.quantity.unit
        return f"{self.name} ({unit})" if unit else self.name

    @property
    def short_label(self) -> str:
        """``error[m1] (%) ↓``: for tight places such as 3D axes, scatter matrices and table headers."""
        return f"{self.name_with_unit} {self.arrow}"

    @property
    def axis_label(self) -> str:
        """``top-1 error of m1 (%), lower is better``."""
        unit = self.quantity.unit
        return f"{self.description} ({unit}), {self.better}" if unit else f"{self.description}, {self.better}"

    def format(self, value: float) -> str:
        """A value as its tick labels show it, e.g. 0.2345 error -> ``23.45``, 46000 params -> ``46k``."""
        return self.quantity.format(value)


def tick_formatter(quantity: Quantity) -> FuncFormatter:
    return FuncFormatter(lambda value, _position: quantity.format(value))


def label_axis(axes: Axes, axis: str, column: Column, *, short: bool = False) -> None:
    """Label ``axis`` ("x", "y" or "z") of ``axes`` with ``column``'s description, unit, direction and tick scale."""
    text = column.short_label if short else column.axis_label
    getattr(axes, f"set_{axis}label")(text)
    getattr(axes, f"{axis}axis").set_major_formatter(tick_formatter(column.quantity))


def member_quantity_label(quantity: Quantity, split: str, better: str) -> str:
    unit = f" ({quantity.unit})" if quantity.unit else ""
    return f"{quantity.description}{unit}, {split}; {better}"
