"""Stand-alone training of one architecture (plain CE or focal distillation to an old model) and joint family fine-tuning."""
from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from regnas.data import ImageData, training_data_change
from regnas.errors import CheckpointError, ConfigError
from regnas.evaluate import SPLITS
from regnas import losses
from regnas.checks import check_fields
from regnas.losses import FocalDistillationLoss, check_focal_settings
from regnas.standalone import (  # noqa: F401  (re-exported: the fine-tuning API in one import)
    ModelIdentity,
    build_model,
    load_model,
    predict,
    read_model,
    resolve_old,
    save_model,
    write_model,
)
from regnas.supernet import TRAIN_RANGES, GRAD_CLIP_NORM, TrainConfig, epoch_bar, print_epoch, sgd_cosine, train_supernet
from search_spaces.base import Arch, SearchSpace
from search_spaces.supernet import Supernet, state_checksum

METHODS = ("ce", "focal-distillation")


@dataclass(frozen=True)
class FinetuneConfig:
    """Everything that determines a stand-alone training run; part of its checkpoint.

    The optimisation recipe (SGD with Nesterov momentum, per-step cosine, gradient clipping) and its
    defaults are those of supernet training (``regnas.supernet.TrainConfig``); the focal distillation
    defaults are ``regnas.losses.FocalDistillationLoss``'s (the authors' recipe).
    """

    epochs: int = TrainConfig.epochs
    batch_size: int = TrainConfig.batch_size
    learning_rate: float = TrainConfig.learning_rate
    momentum: float = TrainConfig.momentum
    weight_decay: float = TrainConfig.weight_decay
    label_smoothing: float = TrainConfig.label_smoothing
    seed: int = 0
    method: str = "ce"
    alpha: float = losses.DEFAULT_ALPHA
    beta: float = losses.DEFAULT_BETA
    temperature: float = losses.DEFAULT_TEMPERATURE
    kd_alpha: float = losses.DEFAULT_KD_ALPHA
    distance: str = losses.DEFAULT_DISTANCE

    def __post_init__(self) -> None:
        check_fields(self, {k: TRAIN_RANGES[k] for k in ("epochs", "batch_size", "learning_rate", "momentum",
                                                         "weight_decay", "seed")})
        if self.method not in METHODS:
            raise ConfigError(f"unknown training method {self.method!r}; allowed: {', '.join(METHODS)}")
        for name in ("epochs", "batch_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
        for name in ("learning_rate", "momentum", "weight_decay"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ConfigError(f"{name} must be a finite number >= 0, got {value!r}")
        if self.learning_rate == 0:
            raise ConfigError("learning_rate must be > 0, got 0")
        check_focal_settings(alpha=self.alpha, beta=self.beta, temperature=self.temperature, kd_alpha=self.kd_alpha,
                             distance=self.distance, label_smoothing=self.label_smoothing)

    def loss(self) -> Callable[[torch.Tensor, torch.Tensor | None, torch.Tensor], torch.Tensor]:
        """``loss(new_logits, old_logits_or_None, labels)`` of this method."""
        if self.method == "ce":
            return lambda new, old, labels: F.cross_entropy(new, labels, label_smoothing=self.label_smoothing)
        return FocalDistillationLoss(alpha=self.alpha, beta=self.beta, temperature=self.temperature,
                                     kd_alpha=self.kd_alpha, distance=self.distance, label_smoothing=self.label_smoothing)

    def train_config(self) -> TrainConfig:
        """The supernet training configuration of a joint family fine-tune with these settings."""
        return TrainConfig(epochs=self.epochs, batch_size=self.batch_size, learning_rate=self.learning_rate,
                           momentum=self.momentum, weight_decay=self.weight_decay,
                           label_smoothing=self.label_smoothing, seed=self.seed)


def train_model(
    model: nn.Module,
    data: ImageData,
    config: FinetuneConfig,
    *,
    old: nn.Module | None = None,
    checkpoint: str | Path | None = None,
    identity: ModelIdentity | None = None,
    progress: bool = True,
    split: str = "train",
    on_epoch_end: Callable[[dict[str, float]], None] | None = None,
) -> nn.Module:
    """Train a plain module in place on ``data.<split>``; with ``checkpoint``, save after every epoch and resume.

    ``old`` (focal distillation only; eval mode, never updated) sees the same augmented batch as the
    new model, under ``no_grad``. Batch order and augmentation come from a ``torch.Generator``
    seeded with ``config.seed``, saved in the checkpoint with the optimiser, so an interrupted run
    resumes to the same weights as an uninterrupted one (Ctrl-C keeps the last finished epoch).
    The checkpoint is a stand-alone model checkpoint (``load_model`` reads it at any epoch), so it
    needs the model's ``identity``; resuming checks the configuration, the old model and the data.
    """
    if config.method == "focal-distillation" and old is None:
        raise ConfigError("method 'focal-distillation' needs an old model to distil from")
    if checkpoint is not None and identity is None:
        raise ConfigError("a training checkpoint is a model checkpoint: pass the model's identity (ModelIdentity.of)")
    if split not in SPLITS:
        raise ConfigError(f"unknown split {split!r}; allowed: {', '.join(SPLITS)}")
    train_split = getattr(data, split)
    distil = config.method == "focal-distillation"
    if distil:
        old.eval()
    loss_fn = config.loss()
    generator = torch.Generator().manual_seed(config.seed)
    steps_per_epoch = math.ceil(len(train_split) / config.batch_size)
    optimizer, scheduler = sgd_cosine(model.parameters(), config, steps_per_epoch)
    run = {"config": asdict(config), "old_checksum": state_checksum(old) if distil else None,
           "data": data.describe(), "split": split, "train_digest": train_split.digest()}
    epoch, log = 0, []
    if checkpoint is not None and Path(checkpoint).exists():
        epoch, log = _resume(checkpoint, identity, run, model, optimizer, scheduler, generator)
    for epoch in range(epoch, config.epochs):
        model.train()
        start, total_loss, seen = time.perf_counter(), 0.0, 0
        batches = data.batches(train_split, config.batch_size, generator=generator, augment=True)
        bar = epoch_bar(batches, steps_per_epoch, epoch, config.epochs, progress)
        for images, labels in bar:
            optimizer.zero_grad(set_to_none=True)
            old_logits = None
            if distil:
                with torch.no_grad():
                    old_logits = old(images)
            loss = loss_fn(model(images), old_logits, labels)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), GRAD_CLIP_NORM)
            optimizer.step()
            scheduler.step()
            total_loss += loss.item() * len(labels)
            seen += len(labels)
            bar.set_postfix(loss=f"{total_loss / seen:.3f}")
        log.append({"epoch": epoch + 1, "loss": total_loss / seen, "seconds": time.perf_counter() - start,
                    "lr": scheduler.get_last_lr()[0]})
        if progress:
            print_epoch(log[-1], config.epochs)
        if checkpoint is not None:
            training = {**run, "epoch": epoch + 1, "log": log, "optimizer": optimizer.state_dict(),
                        "scheduler": scheduler.state_dict(), "torch_rng": generator.get_state()}
            write_model(checkpoint, model, identity, {"method": config.method, "epochs": epoch + 1}, training)
        if on_epoch_end is not None:
            on_epoch_end(log[-1])
    return model.eval()


def _resume(checkpoint: str | Path, identity: ModelIdentity, run: dict, model: nn.Module, optimizer: torch.optim.Optimizer,
            scheduler: torch.optim.lr_scheduler.LRScheduler, generator: torch.Generator) -> tuple[int, list]:
    """Load a run's state from its checkpoint after checking it is this run's; returns (epochs done, log)."""
    saved = read_model(checkpoint, identity.space)
    path = str(checkpoint)
    if (saved["arch"], dict(saved["settings"])) != (identity.arch, dict(identity.settings)):
        raise CheckpointError(f"checkpoint {path!r} holds {saved['arch']} ({saved['settings']}), not {identity.arch} "
                              f"({dict(identity.settings)}); use another --out")
    training = saved.get("training")
    if training is None:
        raise CheckpointError(f"{path!r} is a finished model without training state; use another --out to train anew")
    for key, what in (("config", "training settings"), ("old_checksum", "old model"), ("split", "split")):
        if training.get(key) != run[key]:
            raise CheckpointError(f"checkpoint {path!r} was trained with other {what} ({training.get(key)} != {run[key]}); "
                                  "use another --out or the same settings")
    change = training_data_change(training.get("data", {}), training.get("train_digest"), run["data"],
                                  run["train_digest"])
    if change is not None:
        raise CheckpointError(f"checkpoint {path!r} {change}; use another --out or the same data")
    model.load_state_dict(saved["state_dict"])
    optimizer.load_state_dict(training["optimizer"])
    scheduler.load_state_dict(training["scheduler"])
    generator.set_state(training["torch_rng"])
    return int(training["epoch"]), list(training["log"])


def finetune_family(
    supernet: Supernet,
    archs: Sequence[Arch | str],
    data: ImageData,
    config: FinetuneConfig,
    *,
    checkpoint: str | Path | None = None,
    progress: bool = True,
) -> Supernet:
    """Joint fine-tuning of a nested family inside its supernet (in place): every batch trains every
    member's path (the mean of their cross-entropies, as supernet training does), so the members keep
    sharing their weights and stay nested. Read them afterwards with ``supernet.extract(arch)`` or
    ``regnas.Evaluator`` (which recalibrates BatchNorm per member).

    ``archs`` must be a nested chain, small to large; ``checkpoint`` is a supernet checkpoint that
    records the family and resumes as ``train_supernet`` does.
    """
    if config.method != "ce":
        raise ConfigError(f"joint family fine-tuning trains with method 'ce', got {config.method!r}")
    family = check_family(supernet.space, archs)
    return train_supernet(supernet, data, config.train_config(), checkpoint=checkpoint, progress=progress, archs=family)


def check_family(space: SearchSpace, archs: Sequence[Arch | str]) -> list[Arch]:
    """The family parsed; ConfigError unless it is a nested chain, small to large."""
    family = [space.parse(a) for a in archs]
    if not family:
        raise ConfigError("joint family fine-tuning needs at least one architecture")
    if not space.is_chain(family):
        raise ConfigError(f"architectures {[space.to_str(a) for a in family]} are not a nested chain (small to large) "
                          f"in {space.name}; joint fine-tuning keeps only nested families nested")
    return family
