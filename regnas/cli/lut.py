"""regnas-lut: fit or scale a latency table to per-architecture measurements, or check a table against them."""
from __future__ import annotations

import argparse
from collections.abc import Sequence

import numpy as np

from regnas.checks import SEED, Range, arg_type
from regnas.cli.common import ArgumentParser, add_setting_option, entry_point
from search_spaces import DEFAULT_SPACE

POSITIVE_INT = Range(1)


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(prog="regnas-lut", description="Latency lookup tables from whole-network measurements.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=ArgumentParser)
    fit = commands.add_parser("fit", help="fit a table on N measured rows; report MAPE and Kendall tau on the others")
    fit.add_argument("--space", default=DEFAULT_SPACE, help=f"search space (default: {DEFAULT_SPACE})")
    add_fit_options(fit, "seed of the row draw and cross-validation folds (default: 0)")
    fit.add_argument("--schemes", default=None, help="comma-separated key schemes to choose from (default: the space's fitted schemes)")
    add_setting_option(fit, "setting of the measured network (default: the space's reference network)")
    fit.add_argument("--image-size", type=arg_type(int, POSITIVE_INT), default=32, help="input height and width of the measurements (default: 32)")
    fit.add_argument("--batch", type=arg_type(int, POSITIVE_INT), default=1, help="batch size of the measurements (default: 1)")
    fit.add_argument("--device", default=None, help="device name recorded in the table (default: the column without latency_ms_)")
    scale = commands.add_parser("scale", help="scale a profiled table by one factor fitted on N measured rows; "
                                              "report MAPE and Kendall tau on the others")
    scale.add_argument("--table", required=True, help="latency table (JSON) or platform name")
    add_fit_options(scale, "seed of the row draw (default: 0)")
    check = commands.add_parser("validate", help="MAPE and Kendall tau of a table against every measured row")
    check.add_argument("--table", required=True, help="latency table (JSON) or platform name")
    add_measured_options(check)
    return parser


def add_measured_options(parser: argparse.ArgumentParser) -> None:
    """--measured and --column: the measurements every subcommand reads."""
    parser.add_argument("--measured", required=True, help="CSV with arch_str and latency_ms_<device> columns")
    parser.add_argument("--column", required=True, help="latency column, e.g. latency_ms_pixel3 or pixel3")


def add_fit_options(parser: argparse.ArgumentParser, seed_help: str) -> None:
    """The measurements, the rows fitted on (the others are held out), the seed of that draw and the output."""
    add_measured_options(parser)
    parser.add_argument("--train", type=int, required=True, help="number of rows to fit on (drawn at random)")
    parser.add_argument("--seed", type=arg_type(int, SEED), default=0, help=seed_help)
    parser.add_argument("--out", required=True, help="where to write the table (written atomically)")


def _fit(args: argparse.Namespace) -> int:
    from regnas.io import check_writable
    from regnas.latency.fit import fit_table
    from regnas.latency.measurements import read_measurements
    from search_spaces.registry import get_space

    space = get_space(args.space)
    space.check_image_size(args.image_size)
    check_writable(args.out, folder=False)
    settings = {**space.reference_settings, **space.parse_settings(args.setting)}
    if args.schemes:
        from regnas.latency.schemes import get_key_scheme

        for scheme in args.schemes.split(","):
            get_key_scheme(space, scheme.strip())
    measured = read_measurements(args.measured, args.column)
    rng = np.random.default_rng(args.seed)
    train, held_out = _split(len(measured), args.train, rng)
    input_shape = (int(space.supernet_defaults.get("in_channels", 3)), args.image_size, args.image_size)
    print(f"fitting {space.name} table for {measured.device} on {args.train} of {len(measured)} rows (seed {args.seed})")
    result = fit_table(
        space,
        measured.subset(train),
        rng=rng,
        settings=settings,
        input_shape=input_shape,
        batch=args.batch,
        schemes=[scheme.strip() for scheme in args.schemes.split(",")] if args.schemes else None,
        meta={"device": args.device} if args.device else None,
    )
    print(f"modelled: {result.modelled}")
    print(f"cross-validated MAPE by scheme: " + ", ".join(f"{k} {v:.2f}%" for k, v in result.candidates.items()))
    return _write_validated(result.table, measured, held_out, args.out)


def _split(rows: int, train: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``train`` rows drawn at random and the others, held out."""
    from regnas.errors import ConfigError

    if not 10 <= train <= rows - 2:
        raise ConfigError(f"--train must be between 10 and {rows - 2} (the file has {rows} rows), got {train}")
    chosen = np.sort(rng.choice(rows, size=train, replace=False))
    return chosen, np.setdiff1d(np.arange(rows), chosen)


def _write_validated(table, measured, held_out: np.ndarray, out: str) -> int:
    """Validate ``table`` on the held-out rows, record it in the table's meta, print it and save."""
    from regnas.latency.validate import validate

    report = validate(table, [measured.archs[i] for i in held_out], measured.latency_ms[held_out])
    table.meta["validation"] = {**report.as_dict(), "against": f"the {len(held_out)} rows of {measured.source} not fitted on"}
    print(f"held-out ({len(held_out)} rows): {report}")
    table.save(out)
    print(f"wrote {out}")
    return 0


def _scale(args: argparse.Namespace) -> int:
    from regnas.io import check_writable
    from regnas.latency.fit import scale_table
    from regnas.latency.measurements import read_measurements
    from regnas.latency.platforms import get_platform

    table = get_platform(args.table)
    check_writable(args.out, folder=False)
    measured = read_measurements(args.measured, args.column)
    train, held_out = _split(len(measured), args.train, np.random.default_rng(args.seed))
    scaled = scale_table(table, measured.subset(train))
    print(f"scaled {table.meta['device']} by {scaled.meta['scale']['factor']} on {args.train} of {len(measured)} rows (seed {args.seed})")
    return _write_validated(scaled, measured, held_out, args.out)


def _validate(args: argparse.Namespace) -> int:
    from regnas.latency.measurements import read_measurements
    from regnas.latency.platforms import get_platform
    from regnas.latency.validate import validate

    table = get_platform(args.table)
    measured = read_measurements(args.measured, args.column)
    print(f"{table.describe()}\nagainst {measured.device} ({len(measured)} rows): {validate(table, measured.archs, measured.latency_ms)}")
    return 0


@entry_point("regnas-lut")
def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return {"fit": _fit, "scale": _scale, "validate": _validate}[args.command](args)
