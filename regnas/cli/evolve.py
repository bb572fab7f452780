"""regnas-evolve: search a nested, regression-aware family of architectures and write a run folder."""
from __future__ import annotations

import dataclasses
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from regnas.budgets import parse_limit
from evolution.config import SearchConfig
from regnas.checks import Range, arg_type
from regnas.cli.common import ArgumentParser, add_setting_option, check_scheduler_flags, entry_point
from regnas.datasets import list_datasets
from regnas.device import DEVICE_CHOICES, resolve_device
from regnas.errors import ConfigError
from regnas.io import check_writable
from search_spaces import DEFAULT_SPACE, get_space

MAX_WORKERS = 1024
RESUME_FLAGS = ("resume", "generations", "quiet", "workers", "device", "scheduler")  # everything else is the run's own, fixed
QUICK_SUPERNET_FLAGS = {"setting": "--setting", "train_epochs": "--train-epochs"}  # empty: [] or None

EPILOG = """examples:
  regnas-evolve --space nasbench201
  regnas-evolve --space nasbench201 --platforms raspi4,2080ti_1 --budget raspi4=20ms --budget 2080ti_1=9ms
  regnas-evolve --members 3 --budget m1=60kparams --budget m2=120kparams --budget m3=250kparams
  regnas-evolve --objectives error,nfr,params --pick reward:2 --out runs/demo
  regnas-evolve --resume runs/demo --generations 30
"""


def parser() -> ArgumentParser:
    p = ArgumentParser(prog="regnas-evolve", description=__doc__, epilog=EPILOG,
                       formatter_class=__import__("argparse").RawDescriptionHelpFormatter)
    p.add_argument("--config", help="YAML or JSON file of settings (flags override it)")
    p.add_argument("--space", help=f"search space (default {DEFAULT_SPACE}); see `regnas spaces`")
    p.add_argument("--dataset", help=f"data set, one of {', '.join(list_datasets())} (default: default, the embedded "
                                     "CIFAR-10 subset)")
    p.add_argument("--data-path", help="file or folder of --dataset")
    p.add_argument("--out", help="run folder (default runs/<space>-<time>)")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue an interrupted run (only --generations may change)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the run files of an earlier run in --out (without it such a folder is refused)")
    p.add_argument("--seed", type=int)
    p.add_argument("--members", type=int, help="family size K when no --platforms are given (default 2)")
    p.add_argument("--no-nesting", dest="nested", action="store_false", default=None,
                   help="search families without the nesting constraint (the ablation of REG-NAS)")
    p.add_argument("--platforms", help="comma-separated platforms, small to large, one per member (default "
                                       "pixel3,titan_rtx_1 with 10ms each); see `regnas platforms`")
    p.add_argument("--budget", action="append", default=[], metavar="MEMBER=LIMIT",
                   help="cost limit of a member (its platform, or m1, m2, ... without platforms): 12ms (latency "
                        "on its platform), 80kparams or 25Mflops; repeatable, one per member, tightest first")
    p.add_argument("--objectives", help="comma-separated objectives (default error,nf); "
                                        "see `regnas objectives`; module:function for your own")
    p.add_argument("--algorithm", help="pymoo algorithm: nsga2 (default), nsga3, unsga3, spea2, smsemoa, ga")
    p.add_argument("--population", type=int)
    p.add_argument("--generations", type=int)
    p.add_argument("--crossover", help="member (default), column or uniform")
    p.add_argument("--sampling", help="initial families: feasible (default: within their budgets first) or random")
    p.add_argument("--duplicates", help="duplicates in a population by functional (default) keys or canonical strings")
    p.add_argument("--no-archive", dest="archive", action="store_false", default=None,
                   help="return the last population's front, not every feasible non-dominated family evaluated")
    p.add_argument("--flip-reduce", help="fold flips of consecutive pairs: sum (default) or max")
    p.add_argument("--reward-lambda", type=float, help="lambda of the reward objective and pick rule")
    p.add_argument("--pick", help="pseudo-weights[:w,...] (default), reward[:lambda] or best:COLUMN")
    p.add_argument("--supernet", metavar="CKPT", help="trained supernet checkpoint (default: train a quick one, cached)")
    p.add_argument("--no-pretrained", dest="pretrained", action="store_false", default=None,
                   help="train a quick supernet even where a shipped one fits (the default data and settings)")
    p.add_argument("--train-epochs", type=int, help="epochs of the quick supernet (default 15)")
    add_setting_option(p, "setting of the quick supernet (default: the space's quick settings)")
    p.add_argument("--validation-size", type=int, help="held-out images used for fitness")
    p.add_argument("--workers", type=arg_type(int, Range(1, MAX_WORKERS)),
                   help="processes evaluating sub-networks on the CPU (default: 2, or 1 on a 1-core machine or a "
                        "GPU); the result does not depend on it")
    p.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                   help="evaluate sub-networks on the workers of this Dask cluster instead of local --workers "
                        "(CPU only; the result does not depend on it)")
    p.add_argument("--device", default="auto", help=f"{DEVICE_CHOICES}: where sub-networks run (auto: a GPU when "
                                                    "there is one)")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    return p


def config_from_args(args) -> SearchConfig:
    values = SearchConfig.load(args.config).to_dict() if args.config else {}
    if args.supernet or (args.config and values.get("supernet")):
        given = [flag for dest, flag in QUICK_SUPERNET_FLAGS.items() if getattr(args, dest) not in (None, [])]
        if given:
            source = f"--supernet {args.supernet}" if args.supernet else f"supernet {values['supernet']!r} of --config"
            raise ConfigError(f"{', '.join(given)} set the quick supernet trained when no checkpoint is given; "
                              f"{source} brings its own: drop {', '.join(given)}")
    simple = {"space": args.space, "dataset": args.dataset, "data_path": args.data_path, "seed": args.seed,
              "members": args.members, "nested": args.nested, "algorithm": args.algorithm, "population": args.population,
              "generations": args.generations, "crossover": args.crossover, "sampling": args.sampling,
              "duplicates": args.duplicates, "archive": args.archive, "flip_reduce": args.flip_reduce,
              "reward_lambda": args.reward_lambda, "pick": args.pick, "supernet": args.supernet,
              "train_epochs": args.train_epochs, "pretrained": args.pretrained, "validation_size": args.validation_size}
    values.update({k: v for k, v in simple.items() if v is not None})
    if args.platforms is not None:
        values["platforms"] = [p.strip() for p in args.platforms.split(",")]
        if not all(values["platforms"]):
            raise ConfigError(f"--platforms {args.platforms!r} names an empty platform; give p1,p2,... small to large")
    if args.objectives is not None:
        values["objectives"] = [o.strip() for o in args.objectives.split(",") if o.strip()]
        if not values["objectives"]:
            raise ConfigError(f"--objectives {args.objectives!r} names no objective; e.g. --objectives error,nf "
                              "(see `regnas objectives`)")
    if args.budget:
        values["budgets"] = {}
        for target, limit in map(parse_budget, args.budget):
            if target in values["budgets"]:
                raise ConfigError(f"--budget gives member {target!r} two limits; give one per member")
            values["budgets"][target] = limit
    if args.setting:
        space = get_space(values.get("space", DEFAULT_SPACE))
        values["supernet_settings"] = {**(values.get("supernet_settings") or {}), **space.parse_settings(args.setting)}
    return SearchConfig.from_dict(values)


def parse_budget(text: str) -> tuple[str, str]:
    """``MEMBER=LIMIT`` -> (member, limit text), the limit checked by ``regnas.budgets.parse_limit``."""
    target, sep, limit = text.partition("=")
    if not sep or not target.strip():
        raise ConfigError(f"budget {text!r} is not MEMBER=LIMIT, e.g. pixel3=12ms or m1=80kparams")
    parse_limit(limit, f"budget of {target.strip()}")
    return target.strip(), limit.strip()


def check_resume_flags(p: ArgumentParser, args) -> None:
    """A resumed run keeps the settings it started with: any flag but --generations, --quiet, --workers is refused."""
    given = [action.option_strings[0] for action in p._actions
             if action.dest not in (*RESUME_FLAGS, "help") and getattr(args, action.dest) != action.default]
    if given:
        raise ConfigError(f"{', '.join(given)} cannot be given with --resume: a resumed run keeps the settings it "
                          f"started with; only --generations, --quiet, --workers, --scheduler and --device may be given")


@entry_point("regnas-evolve")
def main(argv: Sequence[str] | None = None) -> int:
    from evolution.run_folder import check_run_options
    from evolution.search import load_config, search

    p = parser()
    args = p.parse_args(argv)
    check_run_options(resume=bool(args.resume), overwrite=args.overwrite)
    if args.scheduler is not None:
        check_scheduler_flags(args.scheduler, args.workers, args.device)
    start = time.perf_counter()
    if args.resume:
        check_resume_flags(p, args)
        config = load_config(args.resume)
        if args.generations is not None:
            config = dataclasses.replace(config, generations=args.generations)  # checked like any config
        run_dir = Path(args.resume)
    else:
        config = config_from_args(args)
        run_dir = Path(args.out or f"runs/{config.space}-{time.strftime('%Y%m%d-%H%M%S')}")
    check_writable(run_dir, folder=True, what="--resume" if args.resume else "--out")
    device = resolve_device("cpu" if args.scheduler is not None and args.device == "auto" else args.device)
    if args.workers is not None and args.workers > 1 and device.type != "cpu":
        raise ConfigError(f"--workers {args.workers} spreads CPU evaluation; on {device} sub-networks run in one "
                          "process: drop --workers or use --device cpu")
    workers = args.workers or (min(2, os.cpu_count() or 1) if device.type == "cpu" and not args.scheduler else 1)
    result = search(config, run_dir, resume=bool(args.resume), overwrite=args.overwrite, progress=not args.quiet,
                    workers=workers, device=str(device), scheduler=args.scheduler)
    print(result.summary())
    print(f"wrote {run_dir}/ (result.json, report.html, pareto.csv, pareto.png, history.jsonl, config.json) "
          f"in {time.perf_counter() - start:.0f}s", file=sys.stderr)
    return 0
