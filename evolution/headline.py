"""The headline comparison: REG-NAS against independent training, focal distillation and weight sharing alone."""
from __future__ import annotations

import copy
import json
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from evolution.config import SearchConfig
from evolution.search import CHECKPOINT, search
from regnas import metrics
from regnas.data import ImageData, load_data, stratified_split
from regnas.errors import ConfigError
from regnas.evaluate import Evaluator
from regnas.finetune import FinetuneConfig, finetune_family, train_model
from regnas.io import atomic_write_json
from regnas.latency import get_platform
from regnas.pretrained import find_pretrained
from regnas.standalone import ModelIdentity, build_model, load_model, predict
from regnas.supernet import TrainConfig, default_learning_rate, load_supernet, read_checkpoint, train_supernet
from search_spaces import DEFAULT_SPACE, get_space

SPACE = DEFAULT_SPACE
# The rows, in the order of the table. The searched rows differ only in nesting and objectives.
ROWS = ("independent", "focal-distillation", "shared-unconstrained", "nesting-only", "nesting-only+finetune", "reg-nas",
        "reg-nas+finetune")
SEARCHES = {"shared-unconstrained": (False, ["error"]), "nesting-only": (True, ["error"]), "reg-nas": (True, ["error", "nf"])}
# The nested families fine-tuned jointly in the supernet, each from the searched row it names. nesting-only+finetune is
# the control of reg-nas+finetune: the same fine-tune without the flip objective, so their difference is the objective's.
FINETUNED = {"reg-nas+finetune": "reg-nas", "nesting-only+finetune": "nesting-only"}


@dataclass(frozen=True)
class HeadlineSettings:
    """Everything that sizes the comparison; ``QUICK`` and ``FULL`` are the two presets.

    Every trained model gets the same number of epochs on the same images: the stand-alone models from scratch
    (``model_epochs``) and the nested families' joint fine-tunes from the supernet (``finetune_epochs``), so that the
    fine-tuned rows are the comparison at (about) the same accuracy and the same training per model.
    """

    name: str
    train_images: int | None  # stratified subset of the training split (None: all of it)
    validation_size: int
    test_size: int
    supernet_settings: dict[str, int] = field(default_factory=lambda: get_space(SPACE).quick_settings)
    # Without --supernet: the shipped supernet of these settings (trained on all of CIFAR-10's training split)
    # when there is one; otherwise (or when False) one trained on the training split into the output folder.
    pretrained: bool = True
    supernet_epochs: int = 10
    model_epochs: int = 5  # stand-alone training (independent, focal distillation), from scratch
    finetune_epochs: int = 5  # joint fine-tuning of each FINETUNED family in the supernet
    finetune_lr: float = 0.01
    population: int = 20
    generations: int = 12
    seeds: tuple[int, ...] = (0,)
    # REG-NAS family: the fewest flips among families whose every member is within this validation accuracy of the
    # same member of the most accurate unconstrained family ("at the same accuracy", member by member).
    accuracy_tolerance: float = 0.01
    platforms: tuple[str, ...] = tuple(get_space(SPACE).default_problem.platforms)  # the space's default problem
    budgets: dict[str, str] = field(default_factory=lambda: dict(get_space(SPACE).default_problem.budgets))


# Times on a quiet 2-core CPU are in benchmarks/RESULTS.md ("Headline"); QUICK aims at 15 minutes, FULL at 2 hours.
QUICK = HeadlineSettings("quick", train_images=10_000, validation_size=500, test_size=2_000, model_epochs=2,
                         finetune_epochs=2, population=16, generations=8)
# FULL picks on every held-out image the test split leaves (5,000 of CIFAR-10's 10,000): on fewer, the flips of
# families within a point of each other are mostly noise, and the pick that minimises them selects for it.
FULL = HeadlineSettings("full", train_images=None, validation_size=5_000, test_size=5_000, seeds=(0, 1))


def _log(progress: bool, text: str) -> None:
    if progress:
        print(f"[headline] {text}", file=sys.stderr, flush=True)


def load_headline_data(data_path: str | Path, settings: HeadlineSettings, seed: int) -> ImageData:
    """CIFAR-10 split with ``seed``, the training split cut to ``settings.train_images`` (stratified)."""
    data = load_data("cifar10", data_path, seed=seed, validation_size=settings.validation_size,
                     test_size=settings.test_size)
    if settings.train_images is not None and settings.train_images < len(data.train):
        keep, _ = stratified_split(data.train.labels.numpy(), settings.train_images, np.random.default_rng(seed))
        data = replace(data, train=data.train.subset(keep))
    return data


def obtain_supernet(out: Path, data: ImageData, settings: HeadlineSettings, supernet_path: str | Path | None,
                    progress: bool):
    """The given supernet checkpoint, else the shipped one of the settings (``settings.pretrained``), else one
    trained into ``out/supernet.pt``; each checked against the settings."""
    space = get_space(SPACE)
    full = {**space.supernet_defaults, **settings.supernet_settings, "num_classes": data.num_classes,
            "in_channels": data.in_channels}
    if supernet_path is None and settings.pretrained:
        supernet_path = find_pretrained(SPACE, full, "cifar10")
    if supernet_path is not None:
        return load_supernet(supernet_path, SPACE, full), Path(supernet_path)
    path = out / "supernet.pt"
    train = TrainConfig(epochs=settings.supernet_epochs, learning_rate=default_learning_rate(space), sampling="sandwich",
                        seed=0)
    if path.exists() and read_checkpoint(path, SPACE, full).get("epoch") == train.epochs:
        return load_supernet(path, SPACE, full), path
    _log(progress, f"training the supernet ({settings.supernet_epochs} epochs on {len(data.train)} images) -> {path}")
    supernet = space.supernet(**full, init_seed=0)
    train_supernet(supernet, data, train, checkpoint=path, progress=progress)
    return supernet, path


def run_search(out: Path, row: str, seed: int, data_path: str, settings: HeadlineSettings, supernet_path: Path,
               progress: bool) -> dict[str, Any]:
    """One searched row (resumed or reused when its folder holds it already); returns its result.json."""
    nested, objectives = SEARCHES[row]
    config = SearchConfig(dataset="cifar10", data_path=str(data_path), seed=seed, nested=nested, objectives=objectives,
                          platforms=list(settings.platforms), budgets=dict(settings.budgets),
                          population=settings.population, generations=settings.generations,
                          supernet=str(supernet_path), validation_size=settings.validation_size,
                          test_size=settings.test_size)
    run_dir = out / "searches" / f"{row}-seed{seed}"
    if not (run_dir / "result.json").exists():
        _log(progress, f"seed {seed}: searching {row} -> {run_dir}")
        search(config, run_dir, resume=(run_dir / CHECKPOINT).exists(), progress=progress, workers=2,
               cache_dir=out / "searches" / f"predictions-seed{seed}")
    result = json.loads((run_dir / "result.json").read_text())
    if any("accuracies" not in row for row in result["front"]):
        raise ConfigError(f"{run_dir / 'result.json'} was written by an older regnas (its front has no per-member "
                          f"accuracies, which the picks need); delete {run_dir} and run the same command to search it again")
    return result


def _feasible(front: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [row for row in front if row["feasible"]] or front


def pick_most_accurate(front: list[dict[str, Any]]) -> dict[str, Any]:
    """The feasible front family of the highest mean validation accuracy (fewer flips break a tie)."""
    return max(_feasible(front), key=lambda row: (row["mean_accuracy"], -row["nfr"]))


def pick_at_accuracy(front: list[dict[str, Any]], reference: list[float], tolerance: float) -> dict[str, Any]:
    """The feasible front family with the fewest flips among those each of whose members has a validation
    accuracy within ``tolerance`` of the same member of ``reference``; when none has, the family whose worst
    shortfall against the reference is smallest.

    Member by member, not on the mean: a family whose cloud member is no better than its device member
    (the same network twice has no flips) would otherwise pass on the mean of a weaker pair."""
    def shortfall(row: dict[str, Any]) -> float:
        return max(ref - acc for ref, acc in zip(reference, row["accuracies"]))

    feasible = _feasible(front)
    close = [row for row in feasible if shortfall(row) <= tolerance]
    if not close:
        return min(feasible, key=lambda row: (shortfall(row), row["nfr"]))
    return min(close, key=lambda row: (row["nfr"], -row["mean_accuracy"]))


def train_standalone(out: Path, archs: list[str], data: ImageData, settings: HeadlineSettings, seed: int,
                     supernet_settings: dict, progress: bool) -> dict[str, Any]:
    """Device and cloud trained alone from scratch, and the cloud trained with focal distillation against the device."""
    folder = out / "models" / f"seed{seed}"
    plain = FinetuneConfig(epochs=settings.model_epochs, seed=seed)
    runs = {"device": (archs[0], plain, None), "cloud": (archs[1], plain, None),
            "cloud-fd": (archs[1], replace(plain, method="focal-distillation"), "device")}
    models = {}
    for name, (arch, config, old) in runs.items():
        path = folder / f"{name}.pt"
        identity = ModelIdentity.of(SPACE, arch, supernet_settings)
        if path.exists():
            model, meta = load_model(path, SPACE)
            if meta["arch"] != arch:  # a search redone in the same --out picked another family
                raise ConfigError(f"{path} holds {meta['arch']}, not the picked {arch}; delete {folder} and run the "
                                  "same command to train the picked family")
            if meta.get("epochs") == config.epochs:  # finished: reuse; otherwise train_model resumes it
                models[name] = model
                continue
        _log(progress, f"seed {seed}: training {name} ({arch}) alone, {config.method}, {config.epochs} epochs -> {path}")
        model = build_model(SPACE, arch, supernet_settings, init_seed=seed)
        models[name] = train_model(model, data, config, old=models[old] if old else None, checkpoint=path,
                                   identity=identity, progress=progress)
    return {name: metrics.correctness(predict(model, data, "test"), data.test.labels.numpy())
            for name, model in models.items()}


def family_correct(supernet, data: ImageData, archs: list[str]) -> list[np.ndarray]:
    """Per-sample correctness of sub-networks on the test split, after BN recalibration."""
    with Evaluator(supernet, data, split="test") as evaluator:
        return [evaluator.correct(a) for a in archs]


def row_rng(seed: int, row: str, purpose: str, ours: str = "reg-nas") -> np.random.Generator:
    """The bootstrap draws of one row: the same whichever rows are done, so a partial table agrees with the final."""
    return np.random.default_rng([seed, ROWS.index(row), ("interval", "reduction").index(purpose), ROWS.index(ours)])


def describe_row(row: str, seed: int, archs: list[str], correct: list[np.ndarray], platforms: tuple[str, ...],
                 origin: str) -> dict[str, Any]:
    old, new = correct
    interval = metrics.bootstrap_interval(metrics.negative_flip_rate, old, new, rng=row_rng(seed, row, "interval"))
    members = [{"platform": p, "arch": a, "accuracy": metrics.accuracy(c), "latency_ms": float(get_platform(p).predict(a))}
               for p, a, c in zip(platforms, archs, correct)]
    return {"row": row, "seed": seed, "origin": origin, "members": members,
            **{name: float(fn(old, new)) for name, fn in metrics.PAIR_METRICS.items()},
            "nfr_ci95": [interval.low, interval.high]}


# The rows whose flips are compared with every other row: REG-NAS as searched, and fine-tuned for as many epochs as
# the stand-alone models are trained (the comparison at about the same accuracy).
OURS = ("reg-nas", "reg-nas+finetune")


def comparisons(available) -> list[tuple[str, str]]:
    """(ours, row): each of ``OURS`` against every other row, of the rows in ``available``."""
    return [(ours, row) for ours in OURS if ours in available for row in ROWS if row not in OURS and row in available]


def reductions(rows: list[dict[str, Any]], correct: dict[str, list[np.ndarray]], seed: int) -> list[dict[str, Any]]:
    """Each of ``OURS``' relative NFR reduction against every other row of one seed, with a paired bootstrap
    interval, and its accuracy minus the row's, member by member."""
    by_row = {r["row"]: r for r in rows}
    out = []
    for ours, row in comparisons(correct):
        interval = metrics.bootstrap_interval(metrics.relative_nfr_reduction, *correct[ours], *correct[row],
                                              rng=row_rng(seed, row, "reduction", ours))
        gaps = [a["accuracy"] - b["accuracy"] for a, b in zip(by_row[ours]["members"], by_row[row]["members"])]
        out.append({"seed": seed, "ours": ours, "against": row, "reduction": interval.estimate,
                    "ci95": [interval.low, interval.high], "accuracy_gap": gaps})
    return out


def pooled_reductions(correct_by_seed: dict[int, dict[str, list[np.ndarray]]]) -> list[dict[str, Any]]:
    """Each of ``OURS``' relative NFR reduction against every other row over all seeds together (``1 - sum NF_ours /
    sum NF_row``, each seed on its own test split), with a two-stage bootstrap interval: seeds (searches, trainings),
    then each drawn seed's test images, so the interval holds the spread between seeds as well."""
    seeds = sorted(correct_by_seed)
    in_every_seed = set.intersection(*(set(c) for c in correct_by_seed.values()))
    out = []
    for ours, row in comparisons(in_every_seed):
        groups = [(*correct_by_seed[s][ours], *correct_by_seed[s][row]) for s in seeds]
        rng = np.random.default_rng([*seeds, ROWS.index(row), ROWS.index(ours)])
        interval = metrics.hierarchical_bootstrap_interval(metrics.relative_nfr_reduction, groups, rng=rng)
        out.append({"ours": ours, "against": row, "seeds": seeds, "reduction": interval.estimate,
                    "ci95": [interval.low, interval.high]})
    return out


def run_headline(data_path: str | Path, out: str | Path, settings: HeadlineSettings, *,
                 supernet_path: str | Path | None = None, progress: bool = True,
                 on_step: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run (or continue: every step keeps its files in ``out``) the comparison and write its table and figure."""
    from evolution.headline_report import write_report

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    if len(settings.platforms) != 2:
        raise ConfigError(f"the headline compares two members (device, cloud), got platforms {settings.platforms}")
    data0 = load_headline_data(data_path, settings, 0)
    supernet, supernet_file = obtain_supernet(out, data0, settings, supernet_path, progress)
    supernet_settings = {k: v for k, v in supernet.settings.items()}
    rows, reduction_rows, timings = [], [], {"supernet_s": time.perf_counter() - start}
    identity = {"path": str(supernet_file), "checksum": supernet.checksum(), **supernet.identity()}

    correct_by_seed: dict[int, dict[str, list[np.ndarray]]] = {}

    def write(seed_rows: list[dict[str, Any]], seed_reductions: list[dict[str, Any]], complete: bool) -> dict[str, Any]:
        # Pooled over every seed once all are done: a partial table's rows agree with the final one, a pool could not.
        pooled = pooled_reductions(correct_by_seed) if complete and len(settings.seeds) > 1 else []
        summary = {"settings": {**asdict(settings), "seeds": list(settings.seeds), "platforms": list(settings.platforms)},
                   "supernet": identity, "rows": rows + seed_rows, "reductions": reduction_rows + seed_reductions,
                   "pooled": pooled, "timings": {**timings, "total_s": time.perf_counter() - start},
                   "data_path": str(data_path), "complete": complete}
        atomic_write_json(out / "headline.json", summary)
        write_report(out, summary)
        return summary

    for seed in settings.seeds:
        data = data0 if seed == 0 else load_headline_data(data_path, settings, seed)
        searched = {row: run_search(out, row, seed, data_path, settings, supernet_file, progress) for row in SEARCHES}
        reference = pick_most_accurate(searched["shared-unconstrained"]["front"])
        picks = {"shared-unconstrained": reference["members"],
                 "nesting-only": pick_most_accurate(searched["nesting-only"]["front"])["members"],
                 "reg-nas": pick_at_accuracy(searched["reg-nas"]["front"], reference["accuracies"],
                                             settings.accuracy_tolerance)["members"]}
        correct = {row: family_correct(supernet, data, archs) for row, archs in picks.items()}
        # The rows of the supernet alone are final now: a run stopped during the long trainings keeps them.
        done = [describe_row(row, seed, picks[row], correct[row], settings.platforms, "supernet") for row in picks]
        write(done, reductions(done, correct, seed), complete=False)
        if on_step is not None:
            on_step(f"seed {seed}: supernet rows")
        alone = train_standalone(out, picks["shared-unconstrained"], data, settings, seed, supernet_settings, progress)
        correct["independent"] = [alone["device"], alone["cloud"]]
        correct["focal-distillation"] = [alone["device"], alone["cloud-fd"]]
        tuned: dict[tuple[str, ...], list[np.ndarray]] = {}  # the same family twice is fine-tuned once (same seed)
        for row, source in FINETUNED.items():
            family = tuple(picks[source])
            if family not in tuned:
                tuned_path = out / "models" / f"seed{seed}" / f"{source}-finetuned.pt"
                _log(progress, f"seed {seed}: fine-tuning the {source} family jointly -> {tuned_path}")
                model = finetune_family(copy.deepcopy(supernet), list(family), data,
                                        FinetuneConfig(epochs=settings.finetune_epochs, learning_rate=settings.finetune_lr,
                                                       seed=seed), checkpoint=tuned_path, progress=progress)
                tuned[family] = family_correct(model, data, list(family))
            correct[row] = tuned[family]
        archs = {**picks, "independent": picks["shared-unconstrained"], "focal-distillation": picks["shared-unconstrained"],
                 **{row: picks[source] for row, source in FINETUNED.items()}}
        origin = {"independent": "trained alone", "focal-distillation": "trained alone (cloud: PCT loss)",
                  **{row: "supernet, fine-tuned" for row in FINETUNED}}
        seed_rows = [describe_row(row, seed, archs[row], correct[row], settings.platforms, origin.get(row, "supernet"))
                     for row in ROWS]
        rows += seed_rows
        reduction_rows += reductions(seed_rows, correct, seed)
        correct_by_seed[seed] = correct
        if seed != settings.seeds[-1]:  # a finished seed is on disk before the next one's hours begin
            write([], [], complete=False)
        if on_step is not None:
            on_step(f"seed {seed}")
    return write([], [], complete=True)
