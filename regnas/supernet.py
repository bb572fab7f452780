"""Weight-sharing supernet training for any space: sampling rules, seeded loop, atomic resumable checkpoints."""
from __future__ import annotations

import functools
import math
import pickle
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from regnas.checks import NON_NEGATIVE, POSITIVE, SEED, Range, check_fields
from regnas import distributed
from regnas.data import ImageData, training_data_change
from regnas.device import resolve_device, to_device
from regnas.errors import CheckpointError, ConfigError, ResumeWarning
from regnas.io import atomic_write
from search_spaces.base import Arch, SearchSpace
from search_spaces.registry import get_space
from search_spaces.supernet import Supernet

CHECKPOINT_FORMAT = "regnas-supernet/1"
# A checkpoint holds tensors and plain data only, and is read with torch.load(weights_only=True):
# a file from someone else cannot run code. Keys every checkpoint has, and those a resume needs:
REQUIRED_KEYS = ("format", "space", "settings", "state_dict", "checksum")
RESUME_KEYS = ("train_config", "epoch", "log", "optimizer", "scheduler", "numpy_rng", "torch_rng")

GRAD_CLIP_NORM = 5.0  # bounds a step where several paths' gradients add up or an early loss is large


# ---- the optimisation recipe shared by supernet training and stand-alone fine-tuning -------------
class OptimisationConfig(Protocol):
    epochs: int
    learning_rate: float
    momentum: float
    weight_decay: float


def sgd_cosine(
    parameters: Iterable[nn.Parameter], config: OptimisationConfig, steps_per_epoch: int
) -> tuple[torch.optim.SGD, torch.optim.lr_scheduler.LambdaLR]:
    """SGD with Nesterov momentum and weight decay; learning rate on a per-step cosine from its value to 0."""
    optimizer = torch.optim.SGD(parameters, lr=config.learning_rate, momentum=config.momentum,
                                weight_decay=config.weight_decay, nesterov=True)
    total_steps = config.epochs * steps_per_epoch
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 0.5 * (1 + math.cos(math.pi * step / total_steps)))
    return optimizer, scheduler


def epoch_bar(batches: Iterator, steps: int, epoch: int, epochs: int, progress: bool) -> tqdm:
    """The per-batch progress bar of one epoch, on stderr."""
    return tqdm(batches, total=steps, desc=f"epoch {epoch + 1}/{epochs}", disable=not progress,
                file=sys.stderr, leave=False, dynamic_ncols=True)


def print_epoch(line: Mapping[str, float], epochs: int) -> None:
    """The one line every finished epoch leaves on stderr."""
    print(f"epoch {int(line['epoch'])}/{epochs}  loss {line['loss']:.4f}  {line['seconds']:.1f}s", file=sys.stderr)


# ---- sampling rules: which sub-networks share each optimisation step ------------------------------
SamplingRule = Callable[[SearchSpace, np.random.Generator], list[Arch]]


def sandwich(space: SearchSpace, rng: np.random.Generator) -> list[Arch]:
    """The largest network and a random nested pair (old ⊑ new): trains the weights nested families share."""
    return [space.largest(), *space.sample_family(2, rng)]


def uniform(space: SearchSpace, rng: np.random.Generator) -> list[Arch]:
    """One uniformly drawn path per step (single-path one-shot)."""
    return [space.sample(rng)]


SAMPLING_RULES: dict[str, SamplingRule] = {"sandwich": sandwich, "uniform": uniform}


# Allowed values of TrainConfig's numbers (their types come from the annotations).
TRAIN_RANGES: dict[str, Range] = {
    "epochs": Range(1, 100_000),
    "batch_size": Range(1, 1_000_000),
    "learning_rate": POSITIVE,
    "momentum": Range(0, 1, open_high=True),
    "weight_decay": NON_NEGATIVE,
    "label_smoothing": Range(0, 1, open_high=True),
    "seed": SEED,
}


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a training run; part of the checkpoint."""

    epochs: int = 15
    batch_size: int = 128
    learning_rate: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 5e-4
    label_smoothing: float = 0.0
    sampling: str = "sandwich"
    seed: int = 0

    def __post_init__(self) -> None:
        check_fields(self, TRAIN_RANGES)
        if self.sampling not in SAMPLING_RULES:
            raise ConfigError(f"unknown sampling rule {self.sampling!r}; allowed: {', '.join(SAMPLING_RULES)}")


def default_learning_rate(space: SearchSpace) -> float:
    """The learning rate ``space``'s supernets train with when none is given: the space's own, else TrainConfig's."""
    return TrainConfig.learning_rate if space.learning_rate is None else space.learning_rate


@dataclass
class TrainState:
    """Where a run stands: completed epochs, per-epoch log, and the random generators' states."""

    epoch: int = 0
    log: list[dict[str, float]] = field(default_factory=list)


def train_supernet(
    supernet: Supernet,
    data: ImageData,
    config: TrainConfig,
    *,
    checkpoint: str | Path | None = None,
    progress: bool = True,
    on_epoch_end: Callable[[dict[str, float]], None] | None = None,
    archs: Sequence[Arch | str] | None = None,
    device: str | torch.device = "cpu",
    amp: bool = False,
) -> Supernet:
    """Train ``supernet`` in place; with ``checkpoint``, save after every epoch and resume from it if present.

    ``archs`` replaces the sampling rule by a fixed list of paths trained on every batch (the mean of
    their cross-entropies, as for a sampled list): joint fine-tuning of a family that keeps sharing
    its weights. The list is part of the checkpoint and must match on resume.

    Randomness: architectures come from ``numpy.random.default_rng(seed)``, batch order and
    augmentation from a ``torch.Generator`` seeded with ``seed``; both are saved in the checkpoint,
    so an interrupted run resumes to the same weights as an uninterrupted one. ``on_epoch_end`` is
    called with the epoch's log line after its checkpoint is written (logging, early stopping).

    ``device``: where the weights and batches live (``auto``, ``cpu``, ``cuda[:N]``); ``amp``: float16 autocast
    with a gradient scaler (on a CPU too, where it tests the path but runs slower than float32). Inside a
    ``torch.distributed`` process group (``torchrun``) the supernet trains data-parallel with DDP: ``batch_size``
    is the global batch split over the ranks, every rank draws the same paths from the same seed, rank 0 writes
    the checkpoint, and every rank ends each epoch with rank 0's BatchNorm statistics, so all ranks hold
    identical weights.
    """
    space = supernet.space
    rule = SAMPLING_RULES[config.sampling]
    device = resolve_device(device)
    world = distributed.current_world()
    if world is not None:
        distributed.check_same_everywhere(world, "the training settings", asdict(config))
    supernet.to(device)
    rng = np.random.default_rng(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    steps_per_epoch = math.ceil(len(data.train) / config.batch_size)  # on every rank too (distributed.shard_batches)
    optimizer, scheduler = sgd_cosine(supernet.parameters(), config, steps_per_epoch)
    scaler = torch.amp.GradScaler(device.type, enabled=amp)
    precision = functools.partial(torch.autocast, device.type, dtype=torch.float16, enabled=amp)
    paths = None if archs is None else [space.to_str(space.parse(a)) for a in archs]
    state = TrainState()
    world_size = 1 if world is None else world.size
    main = world is None or world.is_main
    train_digest = data.train.digest()
    saved = resumable_checkpoint(checkpoint, supernet.space_name, supernet.settings, config, paths, data.describe(),
                                 train_digest)
    if saved is not None:
        if main and (change := resume_change(saved, checkpoint, amp=amp, world_size=world_size)) is not None:
            warnings.warn(change, ResumeWarning, stacklevel=2)
        load_weights(supernet, saved, checkpoint)
        supernet.to(device)
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        rng.bit_generator.state = saved["numpy_rng"]
        generator.set_state(saved["torch_rng"])
        if amp and saved.get("scaler"):  # the loss scale reached, not a restart from 2**16 (a disabled scaler saves {})
            scaler.load_state_dict(saved["scaler"])
        state = TrainState(epoch=saved["epoch"], log=saved["log"])
    loss_fn = nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
    parallel = distributed.wrap(supernet, device) if world is not None else None
    supernet.train()
    for epoch in range(state.epoch, config.epochs):
        start, total_loss, seen = time.perf_counter(), 0.0, 0
        batches = (data.batches(data.train, config.batch_size, generator=generator, augment=True) if world is None else
                   distributed.shard_batches(data, data.train, config.batch_size, world, seed=config.seed, epoch=epoch))
        bar = epoch_bar(batches, steps_per_epoch, epoch, config.epochs, progress and main)
        for images, labels in bar:
            images, labels = to_device(images, labels, device)
            optimizer.zero_grad(set_to_none=True)
            step_archs = rule(space, rng) if archs is None else archs
            if parallel is None:  # one path at a time: the graphs of a step never coexist
                for arch in step_archs:
                    with precision():
                        loss = loss_fn(supernet(images, arch), labels) / len(step_archs)
                    scaler.scale(loss).backward()
                    total_loss += loss.item() * len(labels)
            else:  # one forward over all paths, so DDP reduces the step's gradients once
                with precision():
                    loss = sum(loss_fn(out, labels) for out in parallel(images, step_archs)) / len(step_archs)
                scaler.scale(loss).backward()
                total_loss += loss.item() * len(labels)
            scaler.unscale_(optimizer)
            nn.utils.clip_grad_norm_(supernet.parameters(), GRAD_CLIP_NORM)
            scaler.step(optimizer)
            scaler.update()
            scheduler.step()
            seen += len(labels)
            bar.set_postfix(loss=f"{total_loss / seen:.3f}")
        if world is not None:
            distributed.sync_buffers(supernet)
            total_loss, seen = distributed.sum_over_ranks(total_loss, seen)
        state.epoch = epoch + 1
        state.log.append({"epoch": state.epoch, "loss": total_loss / seen, "seconds": time.perf_counter() - start,
                          "lr": scheduler.get_last_lr()[0], "amp": amp, "world_size": world_size})
        if progress and main:
            print_epoch(state.log[-1], config.epochs)
        if checkpoint is not None and main:
            save_checkpoint(checkpoint, supernet, train_config=config, archs=paths, data=data.describe(), epoch=state.epoch,
                            log=state.log, optimizer=optimizer.state_dict(), scheduler=scheduler.state_dict(),
                            numpy_rng=rng.bit_generator.state, torch_rng=generator.get_state(),
                            torch_threads=torch.get_num_threads(), torch_version=str(torch.__version__),
                            world_size=world_size, amp=amp, scaler=scaler.state_dict(), train_digest=train_digest)
        distributed.barrier()  # no rank runs ahead of the checkpoint a resume would start from
        if on_epoch_end is not None:
            on_epoch_end(state.log[-1])
    supernet.eval()
    return supernet


def resumable_checkpoint(
    checkpoint: str | Path | None,
    space: str,
    settings: Mapping[str, Any],
    config: TrainConfig,
    paths: list[str] | None,
    data: Mapping[str, Any],
    train_digest: str,
) -> dict | None:
    """The checkpoint a run resumes from (None when there is none), refused in one line unless the resumed run
    continues that very run: the same supernet, settings, training settings, paths and data (``data``: an
    ``ImageData.describe()``, ``train_digest``: the training split's ``Split.digest()``; where the files lie may
    change, not what they hold or how they are split)."""
    if checkpoint is None or not Path(checkpoint).exists():
        return None
    saved = read_checkpoint(checkpoint, space, settings)
    missing = [key for key in RESUME_KEYS if key not in saved]
    if missing:
        raise CheckpointError(f"checkpoint {str(checkpoint)!r} lacks {', '.join(missing)}: it cannot resume training")
    if saved.get("train_config") != asdict(config):
        raise CheckpointError(
            f"checkpoint {str(checkpoint)!r} was trained with {saved.get('train_config')}, not {asdict(config)}; "
            "use another --out or the same settings"
        )
    if saved.get("archs") != paths:
        raise CheckpointError(
            f"checkpoint {str(checkpoint)!r} was trained on the paths {saved.get('archs') or 'of its sampling rule'}, "
            f"not {paths or 'of its sampling rule'}; use another --out or the same architectures"
        )
    if "data" in saved and (change := training_data_change(saved["data"], saved.get("train_digest"), data,
                                                           train_digest)) is not None:
        raise CheckpointError(f"checkpoint {str(checkpoint)!r} {change}; use another --out or the same data")
    return saved


def resume_change(saved: Mapping[str, Any], checkpoint: str | Path, *, amp: bool, world_size: int) -> str | None:
    """What a resume changes in how the run trains (``--amp``, the number of processes), or None.

    Either may change, as the device may: a run started with --amp that overflows can go on in float32, one
    started on 4 GPUs can go on with 2. But the run then goes on from a state the uninterrupted run never had
    (another loss scale; other shards of every batch), so the user is told, and each epoch's log line records
    how that epoch ran. Checkpoints written before these were recorded are not compared.
    """
    now = {"amp": amp, "world_size": world_size}
    before = {**now, **{key: saved[key] for key in now if key in saved}}
    if before == now:
        return None
    return (f"checkpoint {str(checkpoint)!r} was trained {_how(**before)}; it goes on {_how(**now)}, so its weights "
            "will differ from those of an uninterrupted run (each epoch's log line records how it ran)")


def _how(amp: bool, world_size: int) -> str:
    return f"{'with' if amp else 'without'} --amp in {world_size} process{'es' if world_size > 1 else ''}"


def save_checkpoint(path: str | Path, supernet: Supernet, **extra: Any) -> Path:
    """Write ``{format, space, settings, state_dict, checksum, ...extra}`` atomically."""
    extra = {k: (asdict(v) if k == "train_config" else v) for k, v in extra.items()}
    payload = {"format": CHECKPOINT_FORMAT, **supernet.identity(), "state_dict": supernet.state_dict(),
               "checksum": supernet.checksum(), **extra}
    return atomic_write(path, lambda handle: torch.save(payload, handle))


def read_checkpoint(path: str | Path, space: str | None = None, settings: Mapping[str, Any] | None = None) -> dict:
    """Load a checkpoint dict (tensors and plain data only) and check it is a regnas supernet of ``space`` with ``settings``."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"supernet checkpoint {str(path)!r} does not exist")
    try:
        # TorchVersion (a str) is allowed: checkpoints written before regnas stored the version as str hold it.
        with torch.serialization.safe_globals([torch.torch_version.TorchVersion]):
            saved = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:  # weights_only refuses every class that is not a tensor or plain data
        raise CheckpointError(f"{str(path)!r} is not a regnas supernet checkpoint: it holds objects other than "
                              "tensors and plain data, which regnas does not load (they could run code)") from None
    except Exception as error:  # torch raises many types for a file that is not a checkpoint
        raise CheckpointError(f"{str(path)!r} is not a readable supernet checkpoint ({type(error).__name__})") from None
    if not isinstance(saved, dict) or saved.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{str(path)!r} is not a regnas supernet checkpoint (format {CHECKPOINT_FORMAT})")
    missing = [key for key in REQUIRED_KEYS if key not in saved]
    if missing:
        raise CheckpointError(f"supernet checkpoint {str(path)!r} lacks {', '.join(missing)}")
    if not isinstance(saved["settings"], dict) or not isinstance(saved["state_dict"], dict):
        raise CheckpointError(f"supernet checkpoint {str(path)!r}: settings and state_dict must be mappings")
    if space is not None and saved["space"] != space:
        raise CheckpointError(f"checkpoint {str(path)!r} holds a {saved['space']!r} supernet, not {space!r}")
    if settings is not None and dict(saved["settings"]) != dict(settings):
        raise CheckpointError(
            f"checkpoint {str(path)!r} has settings {_fmt(saved['settings'])}, not {_fmt(settings)}"
        )
    return saved


def load_supernet(path: str | Path, space: str | None = None, settings: Mapping[str, Any] | None = None) -> Supernet:
    """Rebuild the supernet a checkpoint describes (checked against ``space``/``settings`` when given)."""
    return supernet_from_checkpoint(read_checkpoint(path, space, settings), path)


def supernet_from_checkpoint(saved: dict, where: str | Path) -> Supernet:
    """The supernet of a checkpoint dict already read (and checked) by ``read_checkpoint`` from ``where``."""
    try:
        supernet = get_space(saved["space"]).supernet(**saved["settings"])
    except (TypeError, ValueError) as error:
        raise CheckpointError(f"supernet checkpoint {str(where)!r}: settings {saved['settings']} do not build a "
                              f"{saved['space']} supernet ({error})") from None
    load_weights(supernet, saved, where)
    return supernet.eval()


def load_weights(supernet: Supernet, saved: dict, where: str | Path) -> None:
    """Load ``saved["state_dict"]`` into ``supernet``; weights that do not fit, or that differ from the
    recorded checksum, are a one-line CheckpointError."""
    state = saved["state_dict"]
    expected = supernet.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    misshapen = [k for k in expected if k in state and (not isinstance(state[k], torch.Tensor) or state[k].shape != expected[k].shape)]
    if missing or unexpected or misshapen:
        details = [f"{len(v)} {what} (e.g. {v[0]})" for what, v in
                   (("missing", missing), ("unexpected", unexpected), ("of another shape", misshapen)) if v]
        raise CheckpointError(f"weights in {str(where)!r} do not fit the {supernet.space_name} supernet with settings "
                              f"{_fmt(supernet.settings)}: {'; '.join(details)}")
    supernet.load_state_dict(state)
    if supernet.checksum() != saved["checksum"]:
        raise CheckpointError(f"weights in {str(where)!r} do not match the checksum recorded with them "
                              f"({saved['checksum']}); the file was changed or damaged")


def _fmt(settings: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(settings.items()))
