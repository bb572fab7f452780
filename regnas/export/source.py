"""What an export reads from a finished run folder: the chosen family, its data, its supernet, the recalibrated members."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import nn

from regnas.data import ImageData, load_data
from regnas.errors import CheckpointError, ConfigError, DataError, RunFolderError, UnknownNameError
from regnas.evaluate import recalibrate_module
from regnas.plot.load import Run, load_run
from regnas.pretrained import shipped_supernets
from regnas.standalone import build_model
from regnas.supernet import load_supernet
from search_spaces.base import SearchSpace
from search_spaces.registry import get_space
from search_spaces.supernet import Supernet

# The config.json keys that determine the data and its four splits (SearchConfig's field names).
DATA_KEYS = ("dataset", "data_path", "seed", "calibration_size", "validation_size", "test_size")
# What of ImageData.describe() must equal the run's record for the splits to be the run's splits.
DATA_IDENTITY = ("name", "seed", "sizes", "image_shape", "num_classes")


@dataclass(frozen=True)
class Member:
    """One member of the chosen family as result.json reports it (``index`` counts from the smallest)."""

    index: int
    name: str
    arch: str
    reported: Mapping[str, Any]


@dataclass(frozen=True)
class RunRecord:
    """What a finished run folder says about its chosen family (read without loading data or weights)."""

    run_dir: Path
    run: Run
    space: SearchSpace
    family: list[Member]

    @property
    def result(self) -> Mapping[str, Any]:
        assert self.run.result is not None  # read_run refuses runs without one
        return self.run.result

    def select(self, names: Sequence[str] | None) -> list[Member]:
        """The members named (in family order), all of them for None; unknown or repeated names are refused."""
        if names is None:
            return list(self.family)
        known = [m.name for m in self.family]
        if not names:
            raise ConfigError(f"no member named; allowed: {', '.join(known)}")
        for name in names:
            if name not in known:
                raise UnknownNameError("member", name, known)
        repeated = sorted({name for name in names if list(names).count(name) > 1})
        if repeated:
            raise ConfigError(f"member {repeated[0]!r} named twice; name each member once (allowed: {', '.join(known)})")
        return [m for m in self.family if m.name in names]


@dataclass
class ExportSource:
    """A finished run opened for export: everything needed to rebuild its members exactly as the search evaluated them."""

    record: RunRecord
    data: ImageData
    supernet: Supernet
    supernet_path: Path
    checksum: str
    eval_batch_size: int

    @property
    def run_dir(self) -> Path:
        return self.record.run_dir

    @property
    def space(self) -> SearchSpace:
        return self.record.space

    @property
    def family(self) -> list[Member]:
        return self.record.family

    @property
    def result(self) -> Mapping[str, Any]:
        return self.record.result

    def member(self, name: str) -> Member:
        return next(m for m in self.family if m.name == name)

    def model(self, member: Member) -> nn.Module:
        """The member as the search evaluated it: cut from the supernet, BatchNorm statistics recomputed on the
        calibration split in one batch (as ``regnas.Evaluator`` does), in eval mode."""
        model = build_model(self.space, member.arch, self.supernet.settings, supernet=self.supernet)
        calibration = [x for x, _ in self.data.batches(self.data.calibration, len(self.data.calibration))]
        return recalibrate_module(model, calibration)


def read_run(run_dir: str | Path) -> RunRecord:
    """A finished run folder's chosen family; a folder that is not a run, or whose search has not finished, is refused."""
    run_dir = Path(run_dir)
    run = load_run(run_dir)
    if run.result is None:
        raise RunFolderError(f"run {str(run_dir)!r} has no chosen family yet (no result.json; {run.status}); "
                             f"finish it with regnas-evolve --resume {run_dir}")
    missing = [key for key in ("space", "supernet", "data") if key not in run.result]
    if missing:
        raise RunFolderError(f"{str(run_dir / 'result.json')!r} lacks {missing[0]!r}; it was written by an older regnas")
    missing = [key for key in DATA_KEYS if key not in run.config]
    if missing:
        raise RunFolderError(f"run {str(run_dir)!r} has no config.json with {missing[0]!r}; the data cannot be rebuilt")
    space = get_space(run.result["space"])
    family = [Member(i, m["name"], space.to_str(space.parse(m["arch"])), m) for i, m in enumerate(run.result["family"])]
    return RunRecord(run_dir, run, space, family)


def open_run(record: RunRecord, *, supernet: str | Path | None = None, data_path: str | Path | None = None) -> ExportSource:
    """Load the run's data and supernet; ``supernet`` and ``data_path`` replace the run's recorded ones (moved
    files). The supernet must have the checksum the run recorded, and the data must split into the run's splits."""
    data = run_data(record.run, data_path)
    recorded = record.result["supernet"]
    path = supernet_checkpoint(recorded, supernet)
    net = load_supernet(path, record.space.name, recorded["settings"])
    if net.checksum() != recorded["checksum"]:
        raise CheckpointError(f"supernet {str(path)!r} has checksum {net.checksum()}, the run searched with "
                              f"{recorded['checksum']}; pass that supernet with --supernet")
    return ExportSource(record, data, net, path, recorded["checksum"], int(record.run.config.get("eval_batch_size", 500)))


def run_data(run: Run, data_path: str | Path | None) -> ImageData:
    """The run's data set split as the run split it (checked against result.json's record of it)."""
    config = run.config
    data = load_data(config["dataset"], data_path if data_path is not None else config["data_path"],
                     seed=config["seed"], calibration_size=config["calibration_size"],
                     validation_size=config["validation_size"], test_size=config["test_size"])
    described, recorded = data.describe(), run.result["data"]  # type: ignore[index]
    for key in DATA_IDENTITY:
        if described[key] != recorded.get(key):
            raise DataError(f"data set {config['dataset']!r} from {data.source!r} gives {key} {described[key]}, "
                            f"the run recorded {recorded.get(key)}; pass the run's data with --data-path")
    return data


def supernet_checkpoint(recorded: Mapping[str, Any], given: str | Path | None) -> Path:
    """``given``, else the path the run recorded, else the shipped supernet of the recorded checksum (the
    package was reinstalled elsewhere since the run)."""
    if given is not None:
        return Path(given)
    if recorded.get("path") and Path(recorded["path"]).is_file():
        return Path(recorded["path"])
    from importlib import resources

    for entry in shipped_supernets():
        if entry["checksum"] == recorded["checksum"]:
            return Path(str(resources.files("regnas") / "resources" / entry["file"]))
    raise CheckpointError(f"the run's supernet {recorded.get('path')!r} (checksum {recorded['checksum']}) does not "
                          f"exist any more; pass it with --supernet")
