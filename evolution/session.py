"""Build a search from its config: space, data, supernet (loaded, cached or trained), evaluator, problem."""
from __future__ import annotations

import hashlib
import json
import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from evolution.archive import ParetoArchive
from evolution.config import SearchConfig
from evolution.genome import FamilyGenome
from regnas.budgets import Budget, check_feasible, check_order, latency_function, make_budgets
from evolution.problem import FamilyProblem
from regnas.data import ImageData, load_data
from regnas.device import resolve_device
from regnas.errors import CheckpointError, ConfigError
from regnas.evaluate import Evaluator
from regnas.io import check_readable_file
from regnas.family import EvaluationContext
from regnas.model_stats import ModelStats
from regnas.objectives import Objective, get_objective
from regnas.pretrained import find_pretrained, shipped_supernets
from regnas.supernet import (TrainConfig, default_learning_rate, load_supernet, read_checkpoint, supernet_from_checkpoint,
                             train_supernet)
from search_spaces.base import SearchSpace
from search_spaces.registry import get_space
from search_spaces.supernet import Supernet


@dataclass
class Session:
    """Everything a search evaluates with; rebuilt (not pickled) when a run resumes."""

    config: SearchConfig
    space: SearchSpace
    data: ImageData
    supernet: Supernet
    supernet_path: Path | None
    evaluator: Evaluator
    context: EvaluationContext
    objectives: list[Objective]
    budgets: list[Budget]
    genome: FamilyGenome

    def problem(self) -> FamilyProblem:
        archive = ParetoArchive(self.genome) if self.config.archive else None
        return FamilyProblem(self.genome, self.objectives, self.budgets, self.context, archive=archive,
                             skip_over_budget=self.config.skip_over_budget)


def cache_dir() -> Path:
    """Where quick supernets are kept between runs: $REGNAS_CACHE, else ~/.cache/regnas."""
    root = os.environ.get("REGNAS_CACHE") or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "regnas"
    return Path(root)


def obtain_supernet(config: SearchConfig, space: SearchSpace, data: ImageData, *, progress: bool,
                    device: str = "cpu", trained_on: str | None = None) -> tuple[Supernet, Path]:
    """The checkpoint given by ``config.supernet``, else a shipped one trained for these settings on this data
    (``config.pretrained``), else a quick supernet trained once and cached. ``trained_on``: the kind of device
    a resumed run's quick supernet was trained on, whose cached copy is taken first (a run started on a GPU
    goes on on the CPU, or the other way round, on the supernet it was searched on, not on a new one)."""
    if config.supernet:
        supernet = load_supernet(config.supernet, space=space.name)
        shape = (data.num_classes, data.in_channels)
        if (supernet.settings.get("num_classes"), supernet.settings.get("in_channels")) != shape:
            raise CheckpointError(
                f"supernet {config.supernet!r} has {supernet.settings.get('num_classes')} classes and "
                f"{supernet.settings.get('in_channels')} input channels; dataset {data.name!r} has {shape[0]} and {shape[1]}"
            )
        return supernet, Path(config.supernet)
    settings = {**space.supernet_defaults, **config.supernet_settings,
                "num_classes": data.num_classes, "in_channels": data.in_channels}
    shipped = find_pretrained(space.name, settings, config.dataset) if config.pretrained else None
    if shipped is not None:
        supernet = load_supernet(shipped, space.name, settings)
        expected = next(e["checksum"] for e in shipped_supernets() if e["file"] == shipped.name)
        if supernet.checksum() != expected:
            raise CheckpointError(f"the shipped supernet {str(shipped)!r} is damaged (checksum {supernet.checksum()}, "
                                  f"expected {expected}); reinstall regnas")
        return supernet, shipped
    train = quick_train_config(config, space)
    try:
        supernet = space.supernet(**settings, init_seed=config.seed)
    except TypeError as error:
        raise ConfigError(f"supernet settings {config.supernet_settings} do not fit {space.name}: {error}") from None
    here = resolve_device(device).type
    paths = {kind: quick_supernet_path(space, settings, train, data, kind) for kind in (trained_on or here, here)}
    for path in paths.values():
        if path.exists():
            saved = read_checkpoint(path, space.name, settings)
            if saved.get("epoch") == train.epochs:
                return supernet_from_checkpoint(saved, path), path
    path = paths[here]
    if progress:
        print(f"training a quick {space.name} supernet ({_fmt(settings)}, {train.epochs} epochs, "
              f"{train.sampling} sampling) -> {path}", file=sys.stderr)
    train_supernet(supernet, data, train, checkpoint=path, progress=progress, device=device)  # resumes a partial one
    return supernet.cpu(), path


def quick_train_config(config: SearchConfig, space: SearchSpace) -> TrainConfig:
    """How a search's quick supernet is trained (when no checkpoint is given and none ships)."""
    return TrainConfig(epochs=config.train_epochs, batch_size=config.train_batch_size,
                       learning_rate=default_learning_rate(space), sampling=config.train_sampling, seed=config.seed)


def quick_supernet_path(space: SearchSpace, settings: dict, train: TrainConfig, data: ImageData,
                        device_type: str) -> Path:
    """Where the quick supernet of these settings, training and data, trained on ``device_type``, is cached."""
    identity = {"space": space.name, "settings": settings, "train": asdict(train), "data": data.describe()}
    if device_type != "cpu":  # other kernels, other weights: kept apart from the CPU's
        identity["device"] = device_type
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:12]
    return cache_dir() / "supernets" / f"{space.name}-{digest}.pt"


def check_config(config: SearchConfig) -> None:
    """Fail on every name in the config (space, objectives, algorithm, operators, pick rule, platforms,
    budgets) before anything slow runs or any file is written."""
    from evolution.algorithms import ALGORITHMS
    from evolution.crossover import CROSSOVERS
    from evolution.duplicates import DUPLICATE_KEYS
    from evolution.sampling import SAMPLINGS
    from evolution.pick import make_picker
    from regnas.errors import UnknownNameError

    space = get_space(config.space)
    if config.supernet:
        check_readable_file(config.supernet, "supernet checkpoint")
    objectives = [get_objective(spec) for spec in config.objective_specs]
    check_latency_objectives(config)
    ALGORITHMS.get(config.algorithm)
    if config.crossover not in CROSSOVERS:
        raise UnknownNameError("crossover", config.crossover, CROSSOVERS)
    if config.sampling not in SAMPLINGS:
        raise UnknownNameError("sampling", config.sampling, SAMPLINGS)
    if config.duplicates not in DUPLICATE_KEYS:
        raise UnknownNameError("duplicate key", config.duplicates, DUPLICATE_KEYS)
    columns = [c for o in objectives for c in o.columns(config.member_names)]
    make_picker(config.pick, columns, reward_lambda=config.reward_lambda)
    if config.algorithm == "ga" and len(columns) != 1:
        raise ConfigError(f"algorithm 'ga' optimises one objective, got {len(columns)} columns; use e.g. --objectives reward")
    if config.platforms:
        latency_function(space, config.platforms)
    budgets = make_budgets(config.member_names, config.platforms, config.budgets)
    check_order(space, config.member_names, budgets)
    check_feasible(space, config.platforms, budgets, nested=config.nested)


def check_latency_objectives(config: SearchConfig) -> None:
    """``latency`` needs --platforms, and ``latency@P`` a P among them (the only tables the search loads)."""
    for spec in config.objective_specs:
        name, _, platform = spec.partition("@")
        if name != "latency" or ":" in spec:
            continue
        if not config.platforms:
            raise ConfigError(f"objective {spec!r} needs latency tables: give --platforms (one per member)")
        if platform and platform not in config.platforms:
            raise ConfigError(f"objective {spec!r} names platform {platform!r}, which is not among --platforms "
                              f"{', '.join(config.platforms)}")


def build_session(config: SearchConfig, predictions_dir: Path | None, *, progress: bool = True, workers: int = 1,
                  device: str = "cpu", scheduler: str | None = None, trained_on: str | None = None) -> Session:
    """Load data and supernet and wire the evaluator, objectives and budgets (names and budget feasibility
    are ``check_config``'s job, before this). ``workers``: processes evaluating sub-networks (no effect on results);
    ``device``: where sub-networks run; ``scheduler``: a Dask cluster that evaluates them instead (no effect
    either); ``trained_on``: as in ``obtain_supernet``."""
    space = get_space(config.space)
    data = load_data(config.dataset, config.data_path, seed=config.seed, calibration_size=config.calibration_size,
                     validation_size=config.validation_size, test_size=config.test_size)
    space.check_image_size(data.image_size)
    objectives = [get_objective(spec) for spec in config.objective_specs]
    supernet, supernet_path = obtain_supernet(config, space, data, progress=progress, device=device,
                                             trained_on=trained_on)
    evaluator = Evaluator(supernet, data, split="validation", batch_size=config.eval_batch_size, cache_dir=predictions_dir,
                          workers=workers, device=device, scheduler=scheduler)
    latency_ms = latency_function(space, config.platforms) if config.platforms else None
    budgets = make_budgets(config.member_names, config.platforms, config.budgets)
    context = EvaluationContext(space, evaluator, ModelStats(supernet, data.image_size), config.member_names,
                                list(config.platforms) or [None] * config.members, latency_ms,
                                config.flip_reduce, config.reward_lambda)
    return Session(config, space, data, supernet, supernet_path, evaluator, context, objectives, budgets,
                   FamilyGenome(space, config.members))


def _fmt(settings: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in settings.items())
