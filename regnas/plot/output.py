"""Writing a run's figures to files: which figures a run can have, in which formats, under which names."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from regnas.errors import ConfigError
from regnas.plot.coords import parallel_coordinates
from regnas.plot.flips import flip_matrix
from regnas.plot.front import pareto
from regnas.plot.latency import accuracy_latency
from regnas.plot.load import Run, load_run
from regnas.plot.progress import hypervolume
from regnas.plot.style import FORMATS, save_figure

FIGURES: dict[str, Callable[[Any], Figure]] = {
    "pareto": pareto,
    "flip_matrix": flip_matrix,
    "hypervolume": hypervolume,
    "parallel_coordinates": parallel_coordinates,
    "accuracy_latency": accuracy_latency,
}
FIGURES_FOLDER = "figures"


def parse_formats(formats: str | Iterable[str]) -> tuple[str, ...]:
    """``"png,svg"`` or ``["png", "svg"]`` -> ``("png", "svg")``; an unknown format is a ConfigError."""
    names = [f.strip().lower() for f in (formats.split(",") if isinstance(formats, str) else formats)]
    names = [f for f in names if f]
    if not names:
        raise ConfigError(f"no figure format given; allowed: {', '.join(FORMATS)}")
    for name in names:
        if name not in FORMATS:
            raise ConfigError(f"unknown figure format {name!r}; allowed: {', '.join(FORMATS)}")
    return tuple(dict.fromkeys(names))


def missing_figures(run: Run) -> dict[str, str]:
    """Figures this run cannot have yet (or ever), each with the reason."""
    reasons = {}
    if not run.finished:
        reasons["flip_matrix"] = f"the flip matrix needs result.json; the run is {run.status}"
    elif len(run.family) < 2:
        reasons["flip_matrix"] = "a one-member family has no pair of members to flip"
    if not run.history:
        reasons["hypervolume"] = "no history.jsonl to follow over generations"
    if len(run.columns) < 2:
        reasons["parallel_coordinates"] = "one objective column: nothing to draw in parallel"
    if not run.platforms:
        reasons["accuracy_latency"] = "no latency objectives or latency@PLATFORM keys in this run"
    return reasons


def write_figures(run_dir: str | Path | Run, out: str | Path | None = None,
                  formats: str | Iterable[str] = ("png",)) -> list[Path]:
    """Write every figure the run can have into ``out`` (default ``RUN_DIR/figures``) as ``NAME.FORMAT``."""
    run = load_run(run_dir)
    formats = parse_formats(formats)
    if out is None:
        if run.path is None:
            raise ConfigError("this result has no run folder; give out= to say where the figures go")
        out = run.path / FIGURES_FOLDER
    out = Path(out)
    skipped = missing_figures(run)
    written = []
    for name, draw in FIGURES.items():
        if name in skipped:
            continue
        figure = draw(run)
        written += [save_figure(figure, out / f"{name}.{file_format}", file_format) for file_format in formats]
    return written


def save_run_figure(run_dir: str | Path) -> Path:
    """``RUN_DIR/pareto.png``, the figure the search writes when it finishes."""
    run = load_run(run_dir)
    return save_figure(pareto(run), Path(run_dir) / "pareto.png", "png")
