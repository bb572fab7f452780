"""Self-verification of an export: each file's logits equal PyTorch's within a stated tolerance on the run's
images, and its predictions give the accuracies and negative flips that the search reported."""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from regnas.errors import ExportError
from regnas.export.formats import RUNNERS, Runner
from regnas.export.source import ExportSource, Member
from regnas.fast_eval import chunk_bounds
from regnas.metrics import negative_flips

# Logits of an exported file must satisfy |exported - pytorch| <= ATOL + RTOL * |pytorch| on every image.
# Why these: the files hold the same float32 weights, but ONNX Runtime's kernels sum in other orders than
# PyTorch's, which moves logits by rounding only: at most 6e-7 on the tests' tiny family and 4.8e-6 on the
# default run's family (2,000 images; 2.3% of this tolerance), while the .pt2 program and the state dict give
# PyTorch's logits bit for bit. The cards record the largest difference seen. A real defect (a missing
# BatchNorm recalibration, a wrong or dropped op, other weights) moves logits by 1e-1 or more (1.5 without
# recalibration on the tiny family). Predictions are then checked exactly: accuracies and NF must be the run's.
ATOL = 1e-4
RTOL = 1e-4
SPLITS = ("validation", "test")
# The check runs on the CPU; a search evaluated on a GPU (regnas-evolve --device) can differ from it on samples
# within rounding of a tie (see regnas.evaluate.Evaluator), which is then the likelier cause of a mismatch.
GPU_NOTE = " (or the search ran on a GPU, whose rounding can flip a prediction that is within rounding of a tie)"
REPORTED = {"validation": "validation_accuracy", "test": "accuracy"}


@dataclass(frozen=True)
class FormatCheck:
    """One exported file against PyTorch's recalibrated member on the validation and test images."""

    member: str
    format: str
    max_abs_diff: float  # largest |exported - pytorch| over all logits
    max_tolerance_used: float  # largest |exported - pytorch| / (ATOL + RTOL * |pytorch|); <= 1 passes
    changed_predictions: int  # images whose predicted class differs from PyTorch's
    correct: dict[str, int]  # images predicted right, per split


@dataclass(frozen=True)
class PairCheck:
    """Negative flips of one ordered pair recomputed from exported predictions (``format``), against the run's."""

    old: str
    new: str
    format: str
    nf: int
    reported_nf: int


@dataclass(frozen=True)
class Verification:
    """What the export checked, all of it passed (a failure raises ExportError instead)."""

    atol: float
    rtol: float
    images: dict[str, int]  # split -> number of images compared
    flips_split: str
    reference_correct: dict[str, dict[str, int]]  # member -> split -> right, PyTorch's recalibrated member
    formats: list[FormatCheck]
    pairs: list[PairCheck]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def for_member(self, name: str) -> dict[str, Any]:
        return {"atol": self.atol, "rtol": self.rtol, "images": self.images,
                "formats": [asdict(c) for c in self.formats if c.member == name],
                "pairs": [asdict(p) for p in self.pairs if name in (p.old, p.new)]}


def split_inputs(source: ExportSource) -> dict[str, torch.Tensor]:
    data = source.data
    return {split: data.normalize(getattr(data, split).images) for split in SPLITS}


def run_batched(run: Callable[[torch.Tensor], np.ndarray], inputs: torch.Tensor, batch_size: int) -> np.ndarray:
    """Logits of every image, in the evaluator's batches (never a batch of one: other kernels, other rounding)."""
    return np.concatenate([run(inputs[start:stop]) for start, stop in chunk_bounds(len(inputs), batch_size)])


def reported_correct(member: Member, split: str, n: int) -> int:
    return int(round(float(member.reported[REPORTED[split]]) * n))


def verify(source: ExportSource, files: Mapping[tuple[str, str], Path],
           reference: Mapping[str, Callable[[torch.Tensor], np.ndarray]]) -> Verification:
    """Check every file of ``files`` ((member, format) -> path); ``reference`` maps every family member's
    name to its PyTorch logits function. Raises ExportError naming the first thing that does not hold."""
    inputs = split_inputs(source)
    labels = {split: getattr(source.data, split).labels.numpy() for split in SPLITS}
    size = source.eval_batch_size
    ref_logits = {m.name: {s: run_batched(reference[m.name], inputs[s], size) for s in SPLITS} for m in source.family}
    ref_predictions = {name: {s: out[s].argmax(axis=1) for s in SPLITS} for name, out in ref_logits.items()}
    reference_correct = {}
    for member in source.family:
        counts = {s: int((ref_predictions[member.name][s] == labels[s]).sum()) for s in SPLITS}
        for split, right in counts.items():
            reported = reported_correct(member, split, len(labels[split]))
            if right != reported:
                raise ExportError(f"member {member.name!r}: the sub-network recalibrated from the supernet gets {right} "
                                  f"of {len(labels[split])} {split} images right, the run reported {reported}; "
                                  f"the supernet or the data differ from the search's{GPU_NOTE}")
        reference_correct[member.name] = counts
    flips_split = str(source.result.get("flips_split", "test"))
    pairs = check_pairs(source, "pytorch", ref_predictions, labels[flips_split], flips_split)
    checks = []
    format_predictions: dict[str, dict[str, dict[str, np.ndarray]]] = {}
    for (name, fmt), path in files.items():
        logits = run_file(name, fmt, path, inputs, size)
        checks.append(compare_logits(name, fmt, logits, ref_logits[name], labels))
        member = source.member(name)
        for split in SPLITS:
            if checks[-1].correct[split] != reported_correct(member, split, len(labels[split])):
                raise ExportError(f"member {name!r}: its {fmt} file gets {checks[-1].correct[split]} {split} images "
                                  f"right, the run reported {reported_correct(member, split, len(labels[split]))}")
        format_predictions.setdefault(fmt, {})[name] = {s: out.argmax(axis=1) for s, out in logits.items()}
    for fmt, exported in format_predictions.items():
        mixed = {name: exported.get(name, ref_predictions[name]) for name in ref_predictions}
        pairs += check_pairs(source, fmt, mixed, labels[flips_split], flips_split, only=sorted(exported))
    return Verification(ATOL, RTOL, {s: len(labels[s]) for s in SPLITS}, flips_split, reference_correct, checks, pairs)


def run_file(name: str, fmt: str, path: Path, inputs: Mapping[str, torch.Tensor], batch_size: int) -> dict[str, np.ndarray]:
    """Logits of an exported file on every split, read back by its own runtime; a file that does not load or run
    is one line naming it (runtimes raise many types)."""
    try:
        runner: Runner = RUNNERS[fmt](path)
        return {s: run_batched(runner, inputs[s], batch_size) for s in SPLITS}
    except Exception as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise ExportError(f"member {name!r}: its {fmt} file does not run on the validation and test images: "
                          f"{type(error).__name__} {reason}".rstrip()) from None


def compare_logits(name: str, fmt: str, logits: Mapping[str, np.ndarray], reference: Mapping[str, np.ndarray],
                   labels: Mapping[str, np.ndarray]) -> FormatCheck:
    diffs, used, changed = [], [], 0
    for split in SPLITS:
        got, want = logits[split], reference[split]
        if got.shape != want.shape:
            raise ExportError(f"member {name!r}: its {fmt} file gives logits of shape {got.shape}, PyTorch {want.shape}")
        diff = np.abs(got.astype(np.float64) - want.astype(np.float64))
        diffs.append(float(diff.max(initial=0.0)))
        used.append(float((diff / (ATOL + RTOL * np.abs(want.astype(np.float64)))).max(initial=0.0)))
        changed += int((got.argmax(axis=1) != want.argmax(axis=1)).sum())
    if not max(used) <= 1.0:  # also catches NaN
        raise ExportError(f"member {name!r}: its {fmt} file's logits differ from PyTorch's by up to {max(diffs):.3g} "
                          f"(allowed: atol {ATOL} + rtol {RTOL} x |logit|)")
    correct = {s: int((logits[s].argmax(axis=1) == labels[s]).sum()) for s in SPLITS}
    return FormatCheck(name, fmt, max(diffs), max(used), changed, correct)


def check_pairs(source: ExportSource, fmt: str, predictions: Mapping[str, Mapping[str, np.ndarray]],
                labels: np.ndarray, split: str, only: Sequence[str] | None = None) -> list[PairCheck]:
    """NF of every ordered pair the run reported (those touching ``only``, if given) against the run's NF."""
    pairs = []
    for flip in source.result["flips"]:
        if only is not None and flip["old"] not in only and flip["new"] not in only:
            continue
        old_right = predictions[flip["old"]][split] == labels
        new_right = predictions[flip["new"]][split] == labels
        nf = negative_flips(old_right, new_right)
        if nf != int(flip["nf"]):
            where = "PyTorch's recalibrated members" if fmt == "pytorch" else f"the {fmt} files"
            raise ExportError(f"{flip['old']} -> {flip['new']}: {where} give NF {nf} on the {split} split, "
                              f"the run reported {flip['nf']}{GPU_NOTE if fmt == 'pytorch' else ''}")
        pairs.append(PairCheck(flip["old"], flip["new"], fmt, nf, int(flip["nf"])))
    return pairs
