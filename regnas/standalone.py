"""Stand-alone models of one architecture: build (from scratch or a supernet), save/load safely, predict, resolve --old."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from regnas.data import ImageData
from regnas.errors import CheckpointError, ConfigError, InvalidArchError
from regnas.evaluate import SPLITS, recalibrate_module
from regnas.io import atomic_write
from search_spaces.base import Arch, SearchSpace
from search_spaces.registry import get_space
from search_spaces.supernet import Supernet, state_checksum

MODEL_FORMAT = "regnas-model/1"
PLAIN_TYPES = (str, int, float, bool, type(None))


@dataclass(frozen=True)
class ModelIdentity:
    """What a stand-alone model is: its space, the supernet settings it was cut from, its canonical arch string."""

    space: str
    settings: Mapping[str, Any] = field(hash=False)
    arch: str

    @classmethod
    def of(cls, space: SearchSpace | str, arch: Arch | str, settings: Mapping[str, Any]) -> ModelIdentity:
        """Normalised: the space's default settings filled in, the architecture in canonical form."""
        space = resolve_space(space)
        return cls(space.name, full_settings(space, settings), space.to_str(space.parse(arch)))

    def as_dict(self) -> dict[str, Any]:
        return {"space": self.space, "settings": dict(self.settings), "arch": self.arch}


def resolve_space(space: SearchSpace | str) -> SearchSpace:
    return get_space(space) if isinstance(space, str) else space


def full_settings(space: SearchSpace, settings: Mapping[str, Any]) -> dict[str, Any]:
    """The space's reference settings overridden by ``settings`` (what ``space.supernet(**settings)`` builds)."""
    unknown = sorted(set(settings) - set(space.supernet_defaults))
    if unknown:
        raise ConfigError(f"settings {unknown} are not {space.name} settings; allowed: {', '.join(space.supernet_defaults)}")
    return {**space.supernet_defaults, **settings}


def build_model(
    space: SearchSpace | str,
    arch: Arch | str,
    settings: Mapping[str, Any],
    *,
    supernet: Supernet | None = None,
    init_seed: int = 0,
) -> nn.Module:
    """``arch`` as a plain module: ``supernet.extract(arch)`` (its weights) when given, else freshly initialised.

    From scratch the weights are those of ``space.supernet(**settings, init_seed=init_seed)``, so the
    same seed gives the same initial network. A supernet must belong to ``space`` and ``settings``.
    """
    space = resolve_space(space)
    arch = space.parse(arch)
    settings = full_settings(space, settings)
    if supernet is None:
        supernet = space.supernet(**settings, init_seed=init_seed)
    elif supernet.space_name != space.name or dict(supernet.settings) != settings:
        raise CheckpointError(
            f"supernet of {supernet.space_name} with settings {dict(supernet.settings)} does not fit "
            f"{space.name} with settings {settings}"
        )
    return supernet.extract(arch).train()


def save_model(path: str | Path, model: nn.Module, *, space: SearchSpace | str, settings: Mapping[str, Any],
               arch: Arch | str, **meta: Any) -> Path:
    """Write a stand-alone model checkpoint atomically; ``meta`` holds plain values (numbers, strings, lists, dicts)."""
    identity = ModelIdentity.of(space, arch, settings)
    return write_model(path, model, identity, meta)


def write_model(path: str | Path, model: nn.Module, identity: ModelIdentity, meta: Mapping[str, Any],
                training: Mapping[str, Any] | None = None) -> Path:
    """``save_model`` for an identity already normalised; ``training`` is the state a run resumes from."""
    check_plain(meta, "model metadata")
    payload = {"format": MODEL_FORMAT, **identity.as_dict(), "state_dict": model.state_dict(),
               "checksum": state_checksum(model), "meta": dict(meta)}
    if training is not None:
        payload["training"] = dict(training)
    return atomic_write(path, lambda handle: torch.save(payload, handle))


def read_model(path: str | Path, space: str | None = None) -> dict[str, Any]:
    """The checkpoint dict of a stand-alone model, checked; ``torch.load(weights_only=True)`` runs no code."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"model checkpoint {str(path)!r} does not exist")
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # a foreign or truncated file: torch raises many types
        raise CheckpointError(f"{str(path)!r} is not a readable model checkpoint ({type(error).__name__})") from None
    if not isinstance(saved, dict) or saved.get("format") != MODEL_FORMAT:
        raise CheckpointError(f"{str(path)!r} is not a regnas model checkpoint (format {MODEL_FORMAT})")
    if not {"space", "settings", "arch", "state_dict"} <= set(saved):
        raise CheckpointError(f"{str(path)!r} lacks the space, settings, arch or weights of a regnas model checkpoint")
    if space is not None and saved["space"] != space:
        raise CheckpointError(f"model checkpoint {str(path)!r} holds a {saved['space']!r} model, not {space!r}")
    return saved


def load_model(path: str | Path, space: str | None = None) -> tuple[nn.Module, dict[str, Any]]:
    """The model (eval mode) and its metadata (``space``, ``settings``, ``arch``, ``checksum`` and the saved ``meta``)."""
    saved = read_model(path, space)
    return model_from_checkpoint(saved, path), {
        "space": saved["space"], "settings": dict(saved["settings"]), "arch": saved["arch"],
        "checksum": saved.get("checksum"), **saved.get("meta", {}),
    }


def model_from_checkpoint(saved: Mapping[str, Any], path: str | Path) -> nn.Module:
    try:
        model = build_model(saved["space"], saved["arch"], saved["settings"])
        model.load_state_dict(saved["state_dict"])
    except (ValueError, KeyError, RuntimeError, TypeError, AttributeError) as error:  # any wrong content, one line
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise CheckpointError(f"model checkpoint {str(path)!r} does not build its {saved['space']} model: {reason}") from None
    return model.eval()


@torch.no_grad()
def predict(model: nn.Module, data: ImageData, split: str = "test", batch_size: int = 500) -> np.ndarray:
    """Predicted class of every image of ``split`` (int64, in split order), in eval mode."""
    if split not in SPLITS:
        raise ConfigError(f"unknown split {split!r}; allowed: {', '.join(SPLITS)}")
    was_training = model.training
    model.eval()
    try:
        out = [model(x).argmax(dim=1) for x, _ in data.batches(getattr(data, split), batch_size)]
    finally:
        model.train(was_training)
    return torch.cat(out).numpy().astype(np.int64)


def resolve_old(
    spec: str | Path,
    *,
    space: SearchSpace | str,
    settings: Mapping[str, Any],
    supernet: Supernet | None = None,
    data: ImageData | None = None,
) -> nn.Module:
    """The old model of ``--old``: a model checkpoint file, or an architecture cut from ``supernet``.

    An architecture is extracted and its BatchNorm statistics recalibrated on ``data.calibration``
    (as ``regnas.Evaluator`` does), so it predicts as the search saw it. A checkpoint must be of
    ``space`` and predict as many classes as ``settings``. The result is in eval mode.
    """
    space = resolve_space(space)
    settings = full_settings(space, settings)
    parsed = parse_old(spec, space)
    if isinstance(parsed, Path):
        model, meta = load_model(parsed, space.name)
        for key in ("num_classes", "in_channels"):
            if meta["settings"].get(key) != settings.get(key):
                raise CheckpointError(f"old model {str(spec)!r} has {key}={meta['settings'].get(key)}, "
                                      f"the new one {settings.get(key)}")
        return model
    if supernet is None or data is None:
        raise ConfigError(f"old model {str(spec)!r} is an architecture: it needs a supernet (--supernet) and data to cut it from")
    arch = parsed
    model = build_model(space, arch, settings, supernet=supernet)
    calibration = [x for x, _ in data.batches(data.calibration, len(data.calibration))]
    return recalibrate_module(model, calibration)


def parse_old(spec: str | Path, space: SearchSpace) -> Path | Arch:
    """An existing file (a model checkpoint) or an architecture of ``space``; ConfigError if neither."""
    if Path(spec).is_file():
        return Path(spec)
    try:
        return space.from_str(str(spec))
    except InvalidArchError as error:
        raise ConfigError(f"old model {str(spec)!r} is neither an existing model checkpoint nor a {space.name} "
                          f"architecture ({error})") from None


def check_plain(value: Any, what: str) -> None:
    """Refuse values a ``weights_only`` load cannot read back (only plain data goes into a checkpoint)."""
    if isinstance(value, PLAIN_TYPES):
        return
    if isinstance(value, (list, tuple)):
        for item in value:
            check_plain(item, what)
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ConfigError(f"{what} keys must be strings, got {key!r}")
            check_plain(item, what)
        return
    raise ConfigError(f"{what} must be plain numbers, strings, lists and dicts, got {type(value).__name__}")
