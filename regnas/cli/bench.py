"""regnas-bench: benchmarks that check regnas's claims, starting with the headline comparison against focal distillation."""
from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from regnas.checks import MAX_SEED
from regnas.cli.common import ArgumentParser, entry_point
from regnas.errors import ConfigError
from regnas.io import check_readable_file, check_writable

EPILOG = """examples:
  regnas-bench headline --data-path ../shared/data/cifar10/cifar10-jpeg.npz --out bench/headline-quick --quick
  regnas-bench headline --data-path cifar10-jpeg.npz --out bench/headline --supernet nb201-C8N1-cifar10.pt
Run the same command again to continue an interrupted benchmark: every step keeps its files in --out.
"""


def parser() -> ArgumentParser:
    p = ArgumentParser(prog="regnas-bench", description=__doc__, epilog=EPILOG,
                       formatter_class=__import__("argparse").RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    head = sub.add_parser("headline", help="REG-NAS against independent training, focal distillation (PCT) and "
                                           "weight sharing alone, on CIFAR-10, two members (device, cloud)")
    head.add_argument("--data-path", required=True, help="CIFAR-10 (the JPEG npz or a cifar-10-batches-py folder)")
    head.add_argument("--out", required=True, help="folder of the benchmark: table, figure, searches, models")
    head.add_argument("--quick", action="store_true", help="the quick setting (5,000 training images, one seed)")
    head.add_argument("--supernet", metavar="CKPT", help="a trained C=8, N=1 supernet (default: train one in --out)")
    head.add_argument("--seeds", help="comma-separated seeds (default: 0 quick, 0,1 full)")
    head.add_argument("--threads", type=int, default=1,
                      help="torch intra-op threads for training (default 1: the same weights on any core count, "
                           "and on a busy machine faster than OpenMP threads competing with other jobs)")
    head.add_argument("--quiet", action="store_true")
    return p


def parse_seeds(text: str) -> tuple[int, ...]:
    try:
        seeds = tuple(int(s) for s in text.split(","))
    except ValueError:
        raise ConfigError(f"--seeds {text!r} is not a comma-separated list of integers") from None
    if not seeds or min(seeds) < 0 or len(set(seeds)) != len(seeds):
        raise ConfigError(f"--seeds {text!r} must be distinct non-negative integers")
    if max(seeds) > MAX_SEED:
        raise ConfigError(f"--seeds {text!r}: seed {max(seeds)} is above 2**63-1, the largest seed allowed")
    return seeds


@entry_point("regnas-bench")
def main(argv: Sequence[str] | None = None) -> int:
    from evolution.headline import FULL, QUICK, run_headline

    args = parser().parse_args(argv)
    settings = QUICK if args.quick else FULL
    if args.seeds:
        settings = replace(settings, seeds=parse_seeds(args.seeds))
    if args.threads < 1:
        raise ConfigError(f"--threads must be at least 1, got {args.threads}")
    import torch

    torch.set_num_threads(args.threads)
    if not Path(args.data_path).exists():
        raise ConfigError(f"data path {args.data_path!r} does not exist")
    check_writable(args.out, folder=True)
    if args.supernet:
        check_readable_file(args.supernet, "supernet checkpoint")
    summary = run_headline(args.data_path, args.out, settings, supernet_path=args.supernet, progress=not args.quiet)
    from evolution.headline_report import to_markdown

    print(to_markdown(summary))
    print(f"wrote {args.out}/ (headline.md, headline.csv, headline.png, headline.json)", file=sys.stderr)
    return 0
