"""regnas-plot: figures and report.html of a run folder, or the fronts of several runs overlaid."""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from regnas.cli.common import ArgumentParser, entry_point

EPILOG = """examples:
  regnas-plot runs/demo                      figures in runs/demo/figures/, runs/demo/report.html
  regnas-plot runs/demo --format png,svg --out figs
  regnas-plot --compare runs/nested runs/free --out compare
"""


def parser() -> ArgumentParser:
    p = ArgumentParser(prog="regnas-plot", description=__doc__, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", nargs="+", metavar="RUN_DIR",
                   help="run folder (finished, running or interrupted); several with --compare")
    p.add_argument("--compare", action="store_true", help="overlay the fronts of the runs in one figure")
    p.add_argument("--out", help="folder for the figures (default RUN_DIR/figures; with --compare, the current folder)")
    p.add_argument("--format", default="png", help="comma-separated: png, svg, pdf (default png)")
    p.add_argument("--labels", help="with --compare: comma-separated legend labels, one per run "
                                    "(default: the config fields that differ)")
    p.add_argument("--no-report", action="store_true", help="do not write RUN_DIR/report.html")
    return p


@entry_point("regnas-plot")
def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    from regnas.errors import ConfigError
    from regnas.io import check_writable
    from regnas.plot import compare, load_run, missing_figures, parse_formats, write_figures, write_report
    from regnas.plot.output import FIGURES_FOLDER
    from regnas.plot.style import save_figure

    formats = parse_formats(args.format)
    if args.compare:
        labels = [label.strip() for label in args.labels.split(",")] if args.labels else None
        out = check_writable(args.out or ".", folder=True, what="--out" if args.out else "output folder")
        figure = compare(args.runs, labels)
        for file_format in formats:
            print(save_figure(figure, out / f"compare.{file_format}", file_format))
        return 0
    if len(args.runs) > 1:
        raise ConfigError(f"{len(args.runs)} run folders given; plot one at a time, or overlay them with --compare")
    if args.labels:
        raise ConfigError("--labels labels the runs of --compare; add --compare or drop --labels")
    check_writable(args.out or Path(args.runs[0]) / FIGURES_FOLDER, folder=True,
                   what="--out" if args.out else "figures folder")
    if not args.no_report:
        check_writable(args.runs[0], folder=True, what="run folder")
    run = load_run(args.runs[0])
    for path in write_figures(run, args.out, formats):
        print(path)
    for name, reason in missing_figures(run).items():
        print(f"regnas-plot: skipped {name}: {reason}", file=sys.stderr)
    if not args.no_report:
        print(write_report(run))
    return 0
