"""regnas-train: weight-sharing training of a space's supernet, seeded and resumable."""
from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

import torch

from regnas import distributed
from regnas.checks import SEED, Range, arg_type
from regnas.cli.common import ArgumentParser, add_setting_option, entry_point
from regnas.data import load_data
from regnas.datasets import list_datasets
from regnas.device import DEVICE_CHOICES, amp_note, resolve_device
from regnas.errors import ConfigError
from regnas.io import check_writable
from regnas.supernet import (SAMPLING_RULES, TRAIN_RANGES, TrainConfig, default_learning_rate, resumable_checkpoint,
                             train_supernet)
from search_spaces import DEFAULT_SPACE, get_space


def parser() -> ArgumentParser:
    p = ArgumentParser(prog="regnas-train", description=__doc__)
    p.add_argument("--space", default=DEFAULT_SPACE, help=f"search space (default {DEFAULT_SPACE}; see `regnas spaces`)")
    p.add_argument("--dataset", default="default", help=f"one of {', '.join(list_datasets())}")
    p.add_argument("--data-path", help="file or folder of --dataset")
    p.add_argument("--out", required=True, help="checkpoint file; if it exists, training resumes from it")
    add_setting_option(p, "supernet setting (default: the space's reference network)")
    p.add_argument("--epochs", type=arg_type(int, TRAIN_RANGES["epochs"]), default=TrainConfig.epochs)
    p.add_argument("--batch-size", type=arg_type(int, TRAIN_RANGES["batch_size"]), default=TrainConfig.batch_size)
    p.add_argument("--lr", type=arg_type(float, TRAIN_RANGES["learning_rate"]),
                   help=f"SGD learning rate (default: the space's, else {TrainConfig.learning_rate})")
    p.add_argument("--momentum", type=arg_type(float, TRAIN_RANGES["momentum"]), default=TrainConfig.momentum)
    p.add_argument("--weight-decay", type=arg_type(float, TRAIN_RANGES["weight_decay"]), default=TrainConfig.weight_decay)
    p.add_argument("--sampling", default=TrainConfig.sampling, help=f"one of {', '.join(SAMPLING_RULES)}")
    p.add_argument("--seed", type=arg_type(int, SEED), default=0)
    p.add_argument("--calibration-size", type=arg_type(int, Range(1)), default=500,
                   help="training images held out for BN calibration")
    p.add_argument("--device", default="auto", help=f"{DEVICE_CHOICES} (auto: a GPU when there is one)")
    p.add_argument("--amp", action="store_true",
                   help="mixed precision (float16 autocast, gradient scaling): for GPUs; runs on a CPU, but slower")
    p.add_argument("--nproc", type=arg_type(int, Range(1, 1024)), default=1,
                   help="train data-parallel over this many processes on this machine (DDP through torchrun: "
                        "gloo on CPUs, NCCL with --device cuda, one GPU per process)")
    p.add_argument("--quiet", action="store_true")
    return p


@entry_point("regnas-train")
def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    space = get_space(args.space)
    settings = space.parse_settings(args.setting)
    learning_rate = default_learning_rate(space) if args.lr is None else args.lr
    config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, learning_rate=learning_rate, momentum=args.momentum,
                         weight_decay=args.weight_decay, sampling=args.sampling, seed=args.seed)
    device = resolve_device(args.device)
    check_writable(args.out, folder=False)
    data = load_data(args.dataset, args.data_path, seed=args.seed, calibration_size=args.calibration_size)
    space.check_image_size(data.image_size)
    distributed.per_rank_batch(config.batch_size, args.nproc)
    supernet = space.supernet(**{**settings, "num_classes": data.num_classes, "in_channels": data.in_channels},
                              init_seed=args.seed)
    out = Path(args.out)
    if args.nproc > 1 and not distributed.launched():  # bad input is refused here, in this one process
        resumable_checkpoint(out, supernet.space_name, supernet.settings, config, None, data.describe(),
                             data.train.digest())
        return relaunch(args.nproc, sys.argv[1:] if argv is None else list(argv))
    world = None
    if distributed.launched():
        world, device = distributed.init_world(device)
        distributed.per_rank_batch(config.batch_size, world.size)
    main_rank = world is None or world.is_main
    if main_rank:
        ranks = "" if world is None else f", {world.size} processes ({world.backend})"
        print(f"training {space.name} supernet ({', '.join(f'{k}={v}' for k, v in supernet.settings.items())}) on "
              f"{data.name} ({len(data.train)} images), {config.epochs} epochs of {config.sampling} sampling on "
              f"{device}{ranks} -> {out}", file=sys.stderr)
        if (note := amp_note(args.amp, device)) is not None:
            print(note, file=sys.stderr)
    try:
        train_supernet(supernet, data, config, checkpoint=out, progress=not args.quiet, device=device, amp=args.amp)
    finally:
        if world is not None:
            torch.distributed.destroy_process_group()
    if main_rank:
        print(f"wrote {out} (checksum {supernet.checksum()})")
    return 0


def relaunch(nproc: int, argv: list[str]) -> int:
    """Run this same command in ``nproc`` processes with torchrun's launcher (one node, a free local port).

    The launcher's API rather than the ``torchrun`` command line: its parser would take ``--nproc`` for an
    abbreviation of its own ``--nproc-per-node``. Each rank reports its own bad input; the exit code is the worst.
    """
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.launcher.api import LaunchConfig, elastic_launch

    os.environ.setdefault("OMP_NUM_THREADS", "1")  # as torchrun does: each process must not take every core
    config = LaunchConfig(min_nodes=1, max_nodes=1, nproc_per_node=nproc, run_id=f"regnas-train-{os.getpid()}",
                          rdzv_backend="c10d", rdzv_endpoint="localhost:0", max_restarts=0)
    try:
        elastic_launch(config, sys.executable)("-m", "regnas.cli.train", *argv)
    except ChildFailedError as error:
        return max(failure.exitcode for failure in error.failures.values())
    return 0

if __name__ == "__main__":  # torchrun starts each rank as `python -m regnas.cli.train`
    sys.exit(main())
