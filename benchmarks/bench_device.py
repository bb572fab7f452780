"""The GPU checks of one lease in one run: training (float32, AMP) and evaluation throughput against the CPU, AMP resume, NCCL.

    python benchmarks/bench_device.py --device cuda --out DIR [--cpu-threads 2] [--subnets 100]

Everything runs on the embedded CIFAR-10 subset and the shipped nasbench201 supernet (C=8, N=1), so the working
tree alone is enough on a machine that reaches nothing. Throughput is measured against the CPU in the same run,
restricted to ``--cpu-threads`` threads (2: the development machine's cores). `--device cpu` runs the same
script on the CPU alone and times AMP there too (with a GPU, AMP is timed on the GPU only; the AMP resume and
NCCL parts need a GPU); ``--train-images N`` trains on the first N images only. Writes ``device.json`` and
``device.md`` to ``--out`` (checkpoints go to a temporary folder). Run it on a quiet machine: it measures wall time.
``benchmarks/device_check.sh`` runs it after the GPU tests, as one command of a lease.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from regnas.checks import Range, arg_type
from regnas.data import ImageData, load_data
from regnas.device import resolve_device
from regnas.evaluate import Evaluator
from regnas.io import atomic_write_json, atomic_write_text
from regnas.pretrained import find_pretrained
from regnas.supernet import TrainConfig, load_supernet, read_checkpoint, train_supernet
from search_spaces import get_space

SPACE = "nasbench201"


def shipped_settings(data: ImageData) -> dict[str, Any]:
    """The settings of the shipped supernet (the space's quick ones) for ``data``."""
    space = get_space(SPACE)
    return {**space.supernet_defaults, **space.quick_settings, "num_classes": data.num_classes,
            "in_channels": data.in_channels}


def training(data: ImageData, device: torch.device, amp: bool, epochs: int, checkpoint: Path) -> dict[str, Any]:
    """Seconds per epoch (the first dropped: start-up, kernel selection) of sandwich training at the shipped settings."""
    supernet = get_space(SPACE).supernet(**shipped_settings(data), init_seed=0)
    train_supernet(supernet, data, TrainConfig(epochs=epochs, seed=0), checkpoint=checkpoint, progress=False,
                   device=device, amp=amp)
    timed = read_checkpoint(checkpoint)["log"]
    timed = timed[1:] or timed  # as benchmarks/bench_distributed.py: one epoch only is timed with its start-up
    seconds = float(np.mean([line["seconds"] for line in timed]))
    return {"device": str(device), "amp": amp, "epochs_timed": len(timed), "seconds_per_epoch": seconds,
            "images_per_s": len(data.train) / seconds, "final_loss": timed[-1]["loss"]}


def amp_resume(data: ImageData, device: torch.device, folder: Path) -> dict[str, Any]:
    """Two AMP epochs in one go against one epoch, a stop and a resume: the loss scale and weights it reaches."""
    space = get_space(SPACE)
    config = TrainConfig(epochs=2, seed=0)

    class Stop(Exception):
        pass

    def stop(line: dict) -> None:
        raise Stop

    runs = {}
    for name in ("straight", "straight-again", "resumed"):
        supernet = space.supernet(**shipped_settings(data), init_seed=0)
        path = folder / f"amp-{name}.pt"
        if name == "resumed":
            try:
                train_supernet(supernet, data, config, checkpoint=path, progress=False, device=device, amp=True,
                               on_epoch_end=stop)
            except Stop:
                pass
            supernet = space.supernet(**shipped_settings(data), init_seed=0)  # everything from the checkpoint
        train_supernet(supernet, data, config, checkpoint=path, progress=False, device=device, amp=True)
        runs[name] = read_checkpoint(path)

    def max_difference(a: dict, b: dict) -> float:
        return max(float((a["state_dict"][k].float() - b["state_dict"][k].float()).abs().max())
                   for k in a["state_dict"] if a["state_dict"][k].is_floating_point())

    return {"loss_scale": {name: saved["scaler"].get("scale") for name, saved in runs.items()},
            "max_weight_difference_resumed": max_difference(runs["straight"], runs["resumed"]),
            "max_weight_difference_two_straight_runs": max_difference(runs["straight"], runs["straight-again"])}


def evaluation(supernet, data: ImageData, device: torch.device, archs: list) -> tuple[dict[str, Any], list[np.ndarray]]:
    """Sub-networks per second on the validation split (a fresh evaluator: nothing cached), and their predictions."""
    evaluator = Evaluator(supernet, data, device=device)
    evaluator.predictions(archs[0])  # start-up (kernels, first allocation) is not timed
    start = time.perf_counter()
    predictions = [evaluator.predictions(a) for a in archs[1:]]
    seconds = time.perf_counter() - start
    return ({"device": str(device), "subnets": len(archs) - 1, "seconds": seconds, "subnets_per_s": (len(archs) - 1) / seconds,
             "validation_images": len(data.validation), "rechecked": evaluator.n_rechecked},
            [evaluator.predictions(archs[0]), *predictions])


def nccl_world_of_one(folder: Path, device: torch.device) -> dict[str, Any]:
    """``regnas-train --nproc 1 --device cuda`` through torchrun's launcher: the NCCL group, and its checkpoint."""
    out = folder / "nccl.pt"
    command = [sys.executable, "-m", "regnas.cli.train", "--nproc", "1", "--epochs", "1", "--setting", "C=8",
               "--setting", "N=1", "--device", str(device), "--quiet", "--out", str(out)]
    done = subprocess.run(command, capture_output=True, text=True)
    result = {"command": " ".join(command[1:]), "returncode": done.returncode, "stderr_tail": done.stderr[-2000:]}
    if done.returncode == 0:
        saved = read_checkpoint(out)
        result.update(world_size=saved["world_size"], loss=saved["log"][-1]["loss"], seconds=saved["log"][-1]["seconds"])
    return result


def markdown(report: dict[str, Any]) -> str:
    lines = [f"# Device check, {report['date']}", "", f"- device: {report['device_name']}; torch {report['torch']}; "
             f"CPU baseline: {report['cpu_threads']} threads of {report['cpu']}", ""]
    train = report["training"]
    base = train[0]["images_per_s"]
    lines += ["| training (sandwich, batch 128) | s/epoch | images/s | x CPU |", "|---|---|---|---|"]
    lines += [f"| {t['device']}{' + AMP' if t['amp'] else ''} | {t['seconds_per_epoch']:.2f} | {t['images_per_s']:.0f} | "
              f"{t['images_per_s'] / base:.2f} |" for t in train]
    evals = report.get("evaluation", [])
    lines += [] if not evals else ["", "| evaluation | sub-networks/s | x CPU | rechecked |", "|---|---|---|---|"]
    lines += [f"| {e['device']} | {e['subnets_per_s']:.2f} | {e['subnets_per_s'] / evals[0]['subnets_per_s']:.2f} | "
              f"{e['rechecked']} |" for e in evals]
    if "agreement" in report:
        a = report["agreement"]
        lines += ["", f"- predictions, device against CPU: {a['subnets_differing']} of {a['subnets']} sub-networks differ, "
                      f"on at most {a['max_samples_differing']} of {a['samples']} images ({a['samples_differing']} in all)"]
    for key in ("amp_resume", "nccl"):
        if key in report:
            lines += ["", f"- {key}: `{json.dumps(report[key])[:1500]}`"]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--out", required=True)
    positive = arg_type(int, Range(1))
    parser.add_argument("--cpu-threads", type=positive, default=2)
    parser.add_argument("--epochs", type=positive, default=3, help="training epochs per configuration (the first is not timed)")
    parser.add_argument("--subnets", type=positive, default=100)
    parser.add_argument("--train-images", type=positive, help="train on the first N training images only (a quick run)")
    args = parser.parse_args()
    device = resolve_device(args.device)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(args.cpu_threads)  # the CPU baseline's threads; a GPU's work does not use them
    data = load_data("default", seed=0)
    if args.train_images is not None:
        data = dataclasses.replace(data, train=data.train.subset(np.arange(min(args.train_images, len(data.train)))))
    report: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d"), "torch": torch.__version__, "cpu": platform.processor() or platform.machine(),
        "cpu_threads": args.cpu_threads, "cpu_count": os.cpu_count(), "command": " ".join(sys.argv),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "train_images": len(data.train)}
    cpu = torch.device("cpu")
    # CPU AMP only in the CPU run: at 30 s per 1,000 images it would spend most of a GPU lease's minutes.
    configurations = [(cpu, False)] + ([(device, False), (device, True)] if device.type == "cuda" else [(cpu, True)])
    scratch = Path(tempfile.mkdtemp(prefix="regnas-device-"))
    report["training"] = [training(data, d, amp, args.epochs, scratch / f"train-{d.type}-{amp}.pt") for d, amp in configurations]
    print(markdown(report), flush=True)
    space, settings = get_space(SPACE), shipped_settings(data)
    supernet = load_supernet(find_pretrained(SPACE, settings, "default"), SPACE, settings)
    rng = np.random.default_rng(0)
    archs = [space.sample(rng) for _ in range(args.subnets + 1)]
    report["evaluation"], predictions = [], []
    for d in dict.fromkeys([cpu, device]):
        timing, predicted = evaluation(supernet, data, d, archs)
        report["evaluation"].append(timing)
        predictions.append(np.array(predicted))
    if device.type == "cuda":
        differing = (predictions[0] != predictions[1]).sum(axis=1)
        report["agreement"] = {"subnets": len(archs), "samples": int(predictions[0].shape[1]),
                               "subnets_differing": int((differing > 0).sum()), "max_samples_differing": int(differing.max()),
                               "samples_differing": int(differing.sum())}
        report["amp_resume"] = amp_resume(data, device, scratch)
        report["nccl"] = nccl_world_of_one(scratch, device)
    atomic_write_json(out / "device.json", report)
    atomic_write_text(out / "device.md", markdown(report))
    print(markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
