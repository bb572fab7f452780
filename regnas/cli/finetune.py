"""regnas-finetune: train architectures of a space on their own (CE or focal distillation to an old model) or as a joint family."""
from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from regnas.checks import SEED, Range, arg_type
from regnas.cli.common import ArgumentParser, add_setting_option, entry_point
from regnas.data import ImageData, load_data
from regnas.datasets import list_datasets
from regnas.errors import ConfigError
from regnas.io import check_writable
from regnas.finetune import METHODS, FinetuneConfig, check_family, finetune_family, train_model
from regnas.losses import DISTANCES
from regnas.metrics import PAIR_METRICS, correctness
from regnas.standalone import ModelIdentity, build_model, parse_old, predict, resolve_old
from regnas.supernet import load_supernet
from search_spaces import DEFAULT_SPACE, get_space

DEFAULTS = FinetuneConfig()


def parser() -> ArgumentParser:
    p = ArgumentParser(prog="regnas-finetune", description=__doc__)
    p.add_argument("--space", default=DEFAULT_SPACE, help=f"search space (default {DEFAULT_SPACE}; see `regnas spaces`)")
    p.add_argument("--arch", action="append", required=True, metavar="ARCH",
                   help="architecture string; one: train that model; several (small to large, nested): "
                        "joint fine-tune of the family inside --supernet")
    p.add_argument("--supernet", help="supernet checkpoint to start from (its weights); without it, from scratch")
    p.add_argument("--dataset", default="default", help=f"one of {', '.join(list_datasets())}")
    p.add_argument("--data-path", help="file or folder of --dataset")
    p.add_argument("--calibration-size", type=arg_type(int, Range(1)), default=500, help="training images held out for BN calibration")
    add_setting_option(p, "network setting when training from scratch (default: the space's reference network)")
    p.add_argument("--method", default=DEFAULTS.method, help=f"one of {', '.join(METHODS)}")
    p.add_argument("--old", metavar="CKPT_OR_ARCH",
                   help="old model: a model checkpoint, or an architecture of --supernet; distilled from with "
                        "focal-distillation, and always compared with (NF, NFR, rel_NFR, NFI on the test split)")
    p.add_argument("--alpha", type=float, default=DEFAULTS.alpha, help="focal weight of every sample")
    p.add_argument("--beta", type=float, default=DEFAULTS.beta, help="extra focal weight of samples the old model gets right")
    p.add_argument("--temperature", type=float, default=DEFAULTS.temperature, help="KL distillation temperature")
    p.add_argument("--kd-alpha", type=float, default=DEFAULTS.kd_alpha, help="share of the distillation term (rest: CE)")
    p.add_argument("--distance", default=DEFAULTS.distance, help=f"one of {', '.join(DISTANCES)}")
    p.add_argument("--epochs", type=int, default=DEFAULTS.epochs)
    p.add_argument("--batch-size", type=int, default=DEFAULTS.batch_size)
    p.add_argument("--lr", type=float, default=DEFAULTS.learning_rate)
    p.add_argument("--seed", type=arg_type(int, SEED), default=0)
    p.add_argument("--out", required=True,
                   help="model checkpoint (a supernet checkpoint for a joint fine-tune); if it exists, training resumes")
    p.add_argument("--quiet", action="store_true")
    return p


@entry_point("regnas-finetune")
def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    space = get_space(args.space)
    config = FinetuneConfig(epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.lr, seed=args.seed,
                            method=args.method, alpha=args.alpha, beta=args.beta, temperature=args.temperature,
                            kd_alpha=args.kd_alpha, distance=args.distance)
    archs = [space.from_str(a) for a in args.arch]
    check_writable(args.out, folder=False)
    if args.old is not None:
        parse_old(args.old, space)  # a typo fails now, not after the data has loaded
    if config.method == "focal-distillation" and args.old is None:
        raise ConfigError("--method focal-distillation needs --old (a model checkpoint or an architecture)")
    if len(archs) > 1:
        if args.supernet is None:
            raise ConfigError("several --arch fine-tune a family jointly inside a supernet: give --supernet")
        if args.old is not None:
            raise ConfigError("--old applies to a single --arch; a joint fine-tune reports its members' own flips")
        check_family(space, archs)
    settings = space.parse_settings(args.setting)
    data = load_data(args.dataset, args.data_path, seed=args.seed, calibration_size=args.calibration_size)
    supernet = None
    if args.supernet is not None:
        supernet = load_supernet(args.supernet, space=space.name)
        if settings and any(supernet.settings.get(k) != v for k, v in settings.items()):
            raise ConfigError(f"--setting {settings} disagrees with the supernet's settings {supernet.settings}")
        settings = dict(supernet.settings)
    settings = {**settings, "num_classes": data.num_classes, "in_channels": data.in_channels}
    if supernet is not None and (supernet.settings["num_classes"], supernet.settings["in_channels"]) != (
            data.num_classes, data.in_channels):
        raise ConfigError(f"supernet {args.supernet!r} has {supernet.settings['num_classes']} classes and "
                          f"{supernet.settings['in_channels']} input channels; dataset {data.name!r} has "
                          f"{data.num_classes} and {data.in_channels}")
    out = Path(args.out)
    if len(archs) > 1:
        return _joint(supernet, archs, data, config, out, progress=not args.quiet)
    old = None if args.old is None else resolve_old(args.old, space=space, settings=settings, supernet=supernet, data=data)
    identity = ModelIdentity.of(space, archs[0], settings)
    model = build_model(space, archs[0], settings, supernet=supernet, init_seed=args.seed)
    start = f"from {args.supernet}" if supernet is not None else "from scratch"
    print(f"training {identity.arch} ({start}, {config.method}) on {data.name} ({len(data.train)} images), "
          f"{config.epochs} epochs -> {out}", file=sys.stderr)
    train_model(model, data, config, old=old, checkpoint=out, identity=identity, progress=not args.quiet)
    labels = data.test.labels.numpy()
    new_correct = correctness(predict(model, data, "test"), labels)
    print(f"wrote {out}")
    print(f"test accuracy {new_correct.mean():.4f} ({len(labels)} images)")
    if old is not None:
        old_correct = correctness(predict(old, data, "test"), labels)
        print(f"old model test accuracy {old_correct.mean():.4f}")
        print(f"against the old model: {_pair_line(old_correct, new_correct)}")
    return 0


def _joint(supernet, archs, data: ImageData, config: FinetuneConfig, out: Path, *, progress: bool) -> int:
    from regnas.evaluate import Evaluator

    space = supernet.space
    print(f"joint fine-tune of {len(archs)} nested members inside the {space.name} supernet on {data.name} "
          f"({len(data.train)} images), {config.epochs} epochs -> {out}", file=sys.stderr)
    finetune_family(supernet, archs, data, config, checkpoint=out, progress=progress)
    print(f"wrote {out} (checksum {supernet.checksum()})")
    evaluator = Evaluator(supernet, data, split="test")
    corrects = [evaluator.correct(a) for a in archs]
    for index, (arch, correct) in enumerate(zip(archs, corrects), start=1):
        print(f"member {index} test accuracy {correct.mean():.4f}  {space.to_str(arch)}")
    for index in range(1, len(archs)):
        print(f"members {index} -> {index + 1}: {_pair_line(corrects[index - 1], corrects[index])}")
    return 0


def _pair_line(old_correct, new_correct) -> str:
    values = {name: metric(old_correct, new_correct) for name, metric in PAIR_METRICS.items()}
    return (f"NF {values['nf']}  NFR {values['nfr']:.4f}  rel_NFR {values['rel_nfr']:.4f}  "
            f"NFI {values['nfi']:.4f}")


if __name__ == "__main__":
    raise SystemExit(main())
