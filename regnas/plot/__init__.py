"""Pictures of a search run: Pareto fronts, flip matrices, progress, parallel coordinates, latency, reports.

Every figure function takes a run folder path, a loaded ``Run`` or an ``evolution.result.SearchResult`` and
returns a ``matplotlib.figure.Figure`` on its own Agg canvas (no pyplot state). ``*_data`` functions return the
numbers behind a figure.
"""
from __future__ import annotations

from regnas.plot.columns import Column
from regnas.plot.compare import compare, run_labels, shared_columns
from regnas.plot.coords import ParallelCoordinates, parallel_coordinates, parallel_coordinates_data
from regnas.plot.flips import FlipMatrix, flip_matrix, flip_matrix_data
from regnas.plot.front import pareto
from regnas.plot.latency import accuracy_latency
from regnas.plot.load import FrontFamily, Run, RunFolderError, load_run
from regnas.plot.output import FIGURES, missing_figures, parse_formats, save_run_figure, write_figures
from regnas.plot.progress import HypervolumeSeries, hypervolume, hypervolume_data
from regnas.plot.report import write_report
from regnas.plot.style import FORMATS, OKABE_ITO, STYLE, plot_style

__all__ = [
    "FIGURES", "FORMATS", "OKABE_ITO", "STYLE", "Column", "FlipMatrix", "FrontFamily", "HypervolumeSeries",
    "ParallelCoordinates", "Run", "RunFolderError", "accuracy_latency", "compare", "flip_matrix",
    "flip_matrix_data", "hypervolume", "hypervolume_data", "load_run", "missing_figures", "parallel_coordinates",
    "parallel_coordinates_data", "pareto", "parse_formats", "plot_style", "run_labels", "save_run_figure",
    "shared_columns", "write_figures", "write_report",
]
