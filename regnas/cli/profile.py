"""regnas-profile: time every op key of a space on this machine and write a latency table."""
from __future__ import annotations

import argparse
import platform
from collections.abc import Sequence

import numpy as np

from regnas.checks import SEED, Range, arg_type
from regnas.cli.common import ArgumentParser, add_setting_option, entry_point
from search_spaces import DEFAULT_SPACE

POSITIVE_INT = Range(1)
MAX_THREADS = 1024


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(prog="regnas-profile", description="Profile a search space's ops on this machine into a latency table (JSON).")
    parser.add_argument("--space", default=DEFAULT_SPACE, help=f"search space (default: {DEFAULT_SPACE})")
    parser.add_argument("--out", required=True, help="where to write the table (written atomically)")
    add_setting_option(parser, "setting of the network priced (default: the space's reference network)")
    parser.add_argument("--batch", type=arg_type(int, POSITIVE_INT), default=1, help="batch size (default: 1)")
    parser.add_argument("--threads", type=arg_type(int, Range(1, MAX_THREADS)), default=1, help="PyTorch threads (default: 1)")
    parser.add_argument("--image-size", type=arg_type(int, POSITIVE_INT), default=32, help="input height and width (default: 32)")
    parser.add_argument("--repeats", type=arg_type(int, POSITIVE_INT), default=100, help="timed samples per op; the median is kept (default: 100)")
    parser.add_argument("--warmup", type=arg_type(int, Range(0)), default=10, help="untimed calls before timing (default: 10)")
    parser.add_argument("--seed", type=arg_type(int, SEED), default=0, help="seed of weights, inputs and validation architectures (default: 0)")
    parser.add_argument("--device", default=None, help="device name recorded in the table (default: this host's name)")
    parser.add_argument("--validate", type=arg_type(int, Range(0)), default=0, metavar="K", help="also time K random whole networks and report MAPE and Kendall tau")
    return parser


@entry_point("regnas-profile")
def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from regnas.io import check_writable
    from regnas.latency.profile import check_table_settings, measure_networks, profile_table
    from regnas.latency.validate import compare
    from search_spaces.registry import get_space

    space = get_space(args.space)
    space.check_image_size(args.image_size)
    check_writable(args.out, folder=False)
    settings = {**space.reference_settings, **space.parse_settings(args.setting)}
    in_channels = int(space.supernet_defaults.get("in_channels", 3))
    input_shape = (in_channels, args.image_size, args.image_size)
    rng = np.random.default_rng(args.seed)
    common = dict(settings=settings, input_shape=input_shape, batch=args.batch, threads=args.threads, repeats=args.repeats, warmup=args.warmup, rng=rng)
    table = profile_table(space, device=args.device or platform.node() or "this-machine", **common)
    print(f"profiled {len(table.entries)} op keys of {space.name} at {settings}, input {input_shape}, batch {args.batch}, {args.threads} thread(s)")
    if args.validate:
        archs = [space.sample(rng) for _ in range(args.validate)]
        check_table_settings(table, settings, input_shape, args.batch)
        measured = measure_networks(space, archs, **common)
        report = compare(table.predict_many(archs), measured)
        table.meta["validation"] = {**report.as_dict(), "against": f"end-to-end timing of {args.validate} random networks on this machine"}
        print(f"table vs end-to-end timing of {args.validate} random networks: {report}")
    table.save(args.out)
    print(f"wrote {args.out}")
    return 0
