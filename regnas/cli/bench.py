"""regnas-bench: benchmarks that check regnas's claims, starting with the headline comparison against focal distillation."""
from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from regnas.checks import MAX_SEED, Range, arg_type
from regnas.cli.common import ArgumentParser, add_setting_option, check_scheduler_flags, entry_point
from regnas.cli.evolve import MAX_WORKERS
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
    head.add_argument("--quick", action="store_true", help="the quick setting (10,000 training images, 2 epochs per trained model, one seed)")
    head.add_argument("--supernet", metavar="CKPT", help="a trained supernet of the --setting values (default: the shipped one of those settings, else one trained in --out)")
    add_setting_option(head, "setting of the supernet and the models compared (default: the space's quick settings)")
    head.add_argument("--seeds", help="comma-separated seeds (default: 0 quick, 0,1 full)")
    head.add_argument("--threads", type=int, default=1,
                      help="torch intra-op threads for training (default 1: the same weights on any core count, "
                           "and on a busy machine faster than OpenMP threads competing with other jobs)")
    head.add_argument("--quiet", action="store_true")
    exact = sub.add_parser("exact-front", help="evaluate every functional key of nasbench201 (the default problem), "
                                               "then the exact Pareto front of nested budget-feasible families and its HV")
    exact.add_argument("--out", required=True, help="folder: prediction cache (resumable), front.csv, front.json, "
                                                    "summary.json")
    exact.add_argument("--workers", type=arg_type(int, Range(1, MAX_WORKERS)), default=1, help="processes evaluating sub-networks (default 1)")
    exact.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                       help="evaluate on the workers of this Dask cluster instead of --workers (the front does not depend on it)")
    exact.add_argument("--limit", type=arg_type(int, Range(1)), help="evaluate only the first K functional keys of a fixed order "
                                                 "(tests, partial runs); the front is then over their architectures")
    exact.add_argument("--quiet", action="store_true")
    eff = sub.add_parser("efficiency", help="replay searches (NSGA-II, SMS-EMOA, random search; several seeds) on "
                                            "a finished exact-front folder: HV / exact HV per distinct sub-network")
    eff.add_argument("--exact", required=True, help="a finished regnas-bench exact-front folder (its cache is replayed)")
    eff.add_argument("--out", required=True, help="folder: curves.json, efficiency.json/.md/.png, default-run/")
    eff.add_argument("--seeds", default="0,1,2,3,4", help="comma-separated seeds (default 0,1,2,3,4)")
    eff.add_argument("--generations", type=arg_type(int, Range(1)), default=50,
                     help="generations per search (default 50; at least the default run's 12)")
    eff.add_argument("--algorithms", default="nsga2,nsga2-previous,smsemoa,random",
                     help="registered algorithms, each also as NAME-previous (the defaults before issue 11: random "
                          "initial families, canonical duplicates, the last population's front, families over "
                          "budget evaluated, column crossover, population 20), and 'random' "
                          "(default nsga2,nsga2-previous,smsemoa,random)")
    eff.add_argument("--quiet", action="store_true")
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
    args = parser().parse_args(argv)
    if args.command == "exact-front":
        return exact_front_command(args)
    if args.command == "efficiency":
        return efficiency_command(args)
    from evolution.headline import FULL, QUICK, SPACE, run_headline
    from search_spaces import get_space

    settings = QUICK if args.quick else FULL
    if args.seeds:
        settings = replace(settings, seeds=parse_seeds(args.seeds))
    if args.setting:
        chosen = get_space(SPACE).parse_settings(args.setting)
        settings = replace(settings, supernet_settings={**settings.supernet_settings, **chosen})
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


def exact_front_command(args) -> int:
    from evolution.exact_run import run_exact_front

    if args.scheduler is not None:
        from regnas.eval_dask import connect

        check_scheduler_flags(args.scheduler, args.workers)
        connect(args.scheduler).close()  # an unreachable cluster fails before anything is written
    check_writable(args.out, folder=True)
    summary = run_exact_front(args.out, workers=args.workers, limit=args.limit, progress=not args.quiet,
                              scheduler=args.scheduler)
    scope = "all" if summary["complete"] else f"the first {summary['keys_evaluated']:,} of"
    print(f"exact front over {scope} {summary['functional_keys']:,} functional keys: {summary['nested_pairs']:,} nested "
          f"feasible families, {summary['front_points']:,} front points, hypervolume {summary['hypervolume']:.6f} "
          f"(reference: worst value of each objective); {summary['seconds']['total']:.0f} s")
    print(f"wrote {args.out}/ (front.csv, front.json, summary.json)", file=sys.stderr)
    return 0


def efficiency_command(args) -> int:
    from evolution.efficiency import variant_settings
    from evolution.efficiency_run import read_exact, run_efficiency

    variants = [a.strip() for a in args.algorithms.split(",") if a.strip()]
    for name in variants:
        variant_settings(name)  # an unknown name: one line listing the registered ones
    if not variants:
        raise ConfigError(f"--algorithms {args.algorithms!r} names no algorithm")
    seeds = parse_seeds(args.seeds)
    read_exact(Path(args.exact))
    check_writable(args.out, folder=True)
    run_efficiency(args.exact, args.out, variants=variants, seeds=seeds, generations=args.generations,
                   progress=not args.quiet)
    print((Path(args.out) / "efficiency.md").read_text())
    print(f"wrote {args.out}/ (efficiency.md, efficiency.json, efficiency.png, curves.json, default-run/)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
