"""Build a shipped supernet: a slim copy (weights and provenance, no optimiser) of a regnas-train checkpoint.

The checkpoints come from full CIFAR-10 (2 cores, quiet machine):
    regnas-train --dataset cifar10 --data-path ../shared/data/cifar10/cifar10-jpeg.npz --setting C=8 --setting N=1 \\
        --epochs 10 --sampling sandwich --seed 0 --out nb201-C8N1-cifar10-sandwich-e10.pt        (about an hour)
    regnas-train --space mobilenetv3 --dataset cifar10 --data-path ../shared/data/cifar10/cifar10-jpeg.npz \\
        --setting C=8 --epochs 8 --lr 0.2 --sampling sandwich --seed 0 --out mbv3-C8-cifar10-e8.pt   (about an hour)
then: python benchmarks/build_default_supernet.py CHECKPOINT
It writes regnas/resources/<space>-<settings>-cifar10.pt (e.g. nasbench201-C8N1-cifar10.pt) and its entry in
regnas/resources/supernets.json, replacing an entry of the same file.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

from regnas.io import atomic_write_json
from regnas.supernet import TrainConfig, read_checkpoint, save_checkpoint, supernet_from_checkpoint
from search_spaces.base import DATA_SETTINGS

RESOURCES = Path(__file__).resolve().parents[1] / "regnas" / "resources"
# regnas-train's flag of each TrainConfig field it has one for (label smoothing is the Python API's only).
TRAIN_FLAGS = {"epochs": "--epochs", "batch_size": "--batch-size", "learning_rate": "--lr", "momentum": "--momentum",
               "weight_decay": "--weight-decay", "sampling": "--sampling", "seed": "--seed"}


def train_command(space: str, settings: dict, train_config: dict) -> str:
    """The regnas-train command that reproduces ``train_config``: epochs and seed always, the rest where not default."""
    default = dataclasses.asdict(TrainConfig())
    if train_config["label_smoothing"] != default["label_smoothing"]:
        raise SystemExit("this checkpoint used label smoothing, which regnas-train cannot set; record its command by hand")
    flags = [f"--space {space}", "--dataset cifar10", "--data-path cifar10-jpeg.npz"]
    flags += [f"--setting {k}={v}" for k, v in settings.items() if k not in DATA_SETTINGS]
    flags += [f"{flag} {train_config[k]}" for k, flag in TRAIN_FLAGS.items()
              if k in ("epochs", "seed") or train_config[k] != default[k]]
    return "regnas-train " + " ".join(flags)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint")
    args = parser.parse_args()
    saved = read_checkpoint(args.checkpoint)
    if saved["train_config"]["epochs"] != saved["epoch"]:
        raise SystemExit(f"{args.checkpoint} has {saved['epoch']} of {saved['train_config']['epochs']} epochs; finish training first")
    if saved["data"]["name"] != "cifar10" or saved["data"]["sizes"]["train"] < 40_000:
        raise SystemExit("the shipped supernet is trained on the full CIFAR-10 training set")
    supernet = supernet_from_checkpoint(saved, args.checkpoint)
    settings = supernet.settings
    tag = "".join(f"{k}{v}" for k, v in settings.items() if k not in DATA_SETTINGS)
    name = f"{supernet.space_name}-{tag}-cifar10.pt"
    save_checkpoint(RESOURCES / name, supernet, train_config=TrainConfig(**saved["train_config"]), data=saved["data"],
                    epoch=saved["epoch"], log=saved["log"], torch_version=str(saved["torch_version"]),
                    torch_threads=saved["torch_threads"])
    entry = {"file": name, "space": supernet.space_name, "settings": settings, "checksum": supernet.checksum(),
             # The embedded default data's held-out images come from CIFAR-10's test set: nothing leaks.
             "datasets": ["default", "cifar10"],
             "provenance": {"command": train_command(supernet.space_name, settings, saved["train_config"]),
                            "train_config": saved["train_config"], "data": saved["data"],
                            "final_loss": saved["log"][-1]["loss"], "torch_version": saved["torch_version"]}}
    index_path = RESOURCES / "supernets.json"
    index = [e for e in (json.loads(index_path.read_text()) if index_path.exists() else []) if e["file"] != name]
    atomic_write_json(index_path, [*index, entry])
    print(f"wrote {RESOURCES / name} ({(RESOURCES / name).stat().st_size / 1e6:.2f} MB), checksum {entry['checksum']}")


if __name__ == "__main__":
    main()
