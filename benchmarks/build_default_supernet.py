"""Build the shipped default supernet: a slim copy (weights and provenance, no optimiser) of a regnas-train checkpoint.

The checkpoint comes from (2 cores, about an hour on a quiet machine):
    regnas-train --dataset cifar10 --data-path ../shared/data/cifar10/cifar10-jpeg.npz --setting C=8 --setting N=1 \\
        --epochs 10 --sampling sandwich --seed 0 --out nb201-C8N1-cifar10-sandwich-e10.pt
then: python benchmarks/build_default_supernet.py nb201-C8N1-cifar10-sandwich-e10.pt
It writes regnas/resources/nasbench201-C8N1-cifar10.pt and its entry in regnas/resources/supernets.json.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from regnas.io import atomic_write_json
from regnas.supernet import TrainConfig, read_checkpoint, save_checkpoint, supernet_from_checkpoint

RESOURCES = Path(__file__).resolve().parents[1] / "regnas" / "resources"


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
    name = f"{supernet.space_name}-C{settings['C']}N{settings['N']}-cifar10.pt"
    save_checkpoint(RESOURCES / name, supernet, train_config=TrainConfig(**saved["train_config"]), data=saved["data"],
                    epoch=saved["epoch"], log=saved["log"], torch_version=str(saved["torch_version"]),
                    torch_threads=saved["torch_threads"])
    entry = {"file": name, "space": supernet.space_name, "settings": settings, "checksum": supernet.checksum(),
             # The embedded default data's held-out images come from CIFAR-10's test set: nothing leaks.
             "datasets": ["default", "cifar10"],
             "provenance": {"command": "regnas-train --dataset cifar10 --data-path cifar10-jpeg.npz --setting C=8 "
                                       "--setting N=1 --epochs 10 --sampling sandwich --seed 0",
                            "train_config": saved["train_config"], "data": saved["data"],
                            "final_loss": saved["log"][-1]["loss"], "torch_version": saved["torch_version"]}}
    index_path = RESOURCES / "supernets.json"
    index = [e for e in (json.loads(index_path.read_text()) if index_path.exists() else []) if e["file"] != name]
    atomic_write_json(index_path, [*index, entry])
    print(f"wrote {RESOURCES / name} ({(RESOURCES / name).stat().st_size / 1e6:.2f} MB), checksum {entry['checksum']}")


if __name__ == "__main__":
    main()
