"""regnas-train: weight-sharing training of a space's supernet, seeded and resumable."""
from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from regnas.checks import SEED, Range, arg_type
from regnas.cli.common import ArgumentParser, entry_point
from regnas.data import DATASETS, load_data
from regnas.errors import ConfigError
from regnas.io import check_writable
from regnas.supernet import SAMPLING_RULES, TRAIN_RANGES, TrainConfig, train_supernet
from search_spaces.registry import get_space


def parser() -> ArgumentParser:
    p = ArgumentParser(prog="regnas-train", description=__doc__)
    p.add_argument("--space", default="nasbench201", help="search space (see `regnas spaces`)")
    p.add_argument("--dataset", default="default", help=f"one of {', '.join(DATASETS)}")
    p.add_argument("--data-path", help="file or folder of --dataset")
    p.add_argument("--out", required=True, help="checkpoint file; if it exists, training resumes from it")
    p.add_argument("--setting", action="append", default=[], metavar="KEY=INT",
                   help="supernet setting, e.g. C=16 or N=5 (repeatable; defaults are the space's reference network)")
    p.add_argument("--epochs", type=arg_type(int, TRAIN_RANGES["epochs"]), default=TrainConfig.epochs)
    p.add_argument("--batch-size", type=arg_type(int, TRAIN_RANGES["batch_size"]), default=TrainConfig.batch_size)
    p.add_argument("--lr", type=arg_type(float, TRAIN_RANGES["learning_rate"]), default=TrainConfig.learning_rate)
    p.add_argument("--momentum", type=arg_type(float, TRAIN_RANGES["momentum"]), default=TrainConfig.momentum)
    p.add_argument("--weight-decay", type=arg_type(float, TRAIN_RANGES["weight_decay"]), default=TrainConfig.weight_decay)
    p.add_argument("--sampling", default=TrainConfig.sampling, help=f"one of {', '.join(SAMPLING_RULES)}")
    p.add_argument("--seed", type=arg_type(int, SEED), default=0)
    p.add_argument("--calibration-size", type=arg_type(int, Range(1)), default=500,
                   help="training images held out for BN calibration")
    p.add_argument("--quiet", action="store_true")
    return p


def parse_settings(items: Sequence[str], allowed: Sequence[str]) -> dict[str, int]:
    settings = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or key not in allowed:
            raise ConfigError(f"setting {item!r} is not KEY=INT with KEY in {', '.join(allowed)}")
        try:
            settings[key] = int(value)
        except ValueError:
            raise ConfigError(f"setting {item!r}: {value!r} is not an integer") from None
        if settings[key] < 1:
            raise ConfigError(f"setting {item!r}: {key} must be a positive integer")
    return settings


@entry_point("regnas-train")
def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    space = get_space(args.space)
    settings = parse_settings(args.setting, [k for k in space.supernet_defaults if k not in ("num_classes", "in_channels")])
    config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.lr, momentum=args.momentum,
                         weight_decay=args.weight_decay, sampling=args.sampling, seed=args.seed)
    check_writable(args.out, folder=False)
    data = load_data(args.dataset, args.data_path, seed=args.seed, calibration_size=args.calibration_size)
    space.check_image_size(data.image_size)
    supernet = space.supernet(**{**settings, "num_classes": data.num_classes, "in_channels": data.in_channels},
                              init_seed=args.seed)
    out = Path(args.out)
    print(f"training {space.name} supernet ({', '.join(f'{k}={v}' for k, v in supernet.settings.items())}) on "
          f"{data.name} ({len(data.train)} images), {config.epochs} epochs of {config.sampling} sampling -> {out}",
          file=sys.stderr)
    train_supernet(supernet, data, config, checkpoint=out, progress=not args.quiet)
    print(f"wrote {out} (checksum {supernet.checksum()})")
    return 0
