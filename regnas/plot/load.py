"""Reading a run folder (finished, still running or interrupted) into the one ``Run`` every figure draws from."""
from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from regnas.errors import RegnasError
from regnas.plot.columns import Column

HISTORY = "history.jsonl"
RESULT = "result.json"
CONFIG = "config.json"
HISTORY_KEYS = ("generation", "columns", "directions", "population")
RESULT_KEYS = ("columns", "front", "chosen", "family", "flips")


def evaluated(population: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows of one generation's population whose objectives were computed: a family over a budget is not
    evaluated (``skip_over_budget``), and its row's objectives and NFR are null."""
    return [p for p in population if p["objectives"] is not None]


class RunFolderError(RegnasError, ValueError):
    """A path is not a regnas run folder, or a file in it cannot be read, or lacks what a figure needs."""


@dataclass(frozen=True)
class FrontFamily:
    """One family of the Pareto front: member architectures small to large and objectives in natural units."""

    members: tuple[str, ...]
    objectives: tuple[float, ...]
    feasible: bool
    nfr: float | None  # family NFR on the validation split (None in runs written before it was recorded)


@dataclass(frozen=True)
class Run:
    """A run folder's contents: ``result`` is None while the search is running or after it was interrupted."""

    name: str
    path: Path | None
    config: dict[str, Any]
    history: list[dict[str, Any]]
    result: dict[str, Any] | None

    @property
    def finished(self) -> bool:
        return self.result is not None

    @property
    def _latest(self) -> dict[str, Any]:
        """Where columns, directions and units are read: result.json, or the last generation while running."""
        if self.result is not None and "directions" in self.result:
            return self.result
        if not self.history:
            raise RunFolderError(f"run {self.name!r} records no objective directions (result.json predates them "
                                 f"and {HISTORY} is missing)")
        return self.history[-1]

    @cached_property
    def columns(self) -> list[Column]:
        latest = self._latest
        units = latest.get("units") or [""] * len(latest["columns"])
        labels = latest.get("labels") or [""] * len(latest["columns"])
        return [Column(name, direction, unit, label) for name, direction, unit, label in
                zip(latest["columns"], latest["directions"], units, labels)]

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def signs(self) -> np.ndarray:
        """Multiply natural values by this to get what pymoo minimised (max columns negated)."""
        return np.array([-1.0 if c.direction == "max" else 1.0 for c in self.columns])

    @cached_property
    def front(self) -> list[FrontFamily]:
        if self.result is not None:
            return [FrontFamily(tuple(f["members"]), tuple(f["objectives"]), bool(f["feasible"]), f.get("nfr"))
                    for f in self.result["front"]]
        return [FrontFamily(tuple(p["members"]), tuple(p["objectives"]), p["violation"] <= 0, p.get("nfr"))
                for p in evaluated(self.history[-1]["population"]) if p["front"]]

    def front_objectives(self) -> np.ndarray:
        """(families, columns) objective values of the front in natural units."""
        return np.array([f.objectives for f in self.front], dtype=float).reshape(len(self.front), len(self.columns))

    @property
    def chosen(self) -> int | None:
        """Index into ``front`` of the chosen family; None until the run has finished."""
        return int(self.result["chosen"]) if self.result is not None else None

    @property
    def family(self) -> list[dict[str, Any]]:
        return list(self.result["family"]) if self.result is not None else []

    @property
    def flips(self) -> list[dict[str, Any]]:
        return list(self.result["flips"]) if self.result is not None else []

    @property
    def member_names(self) -> list[str]:
        if self.result is not None and self.result.get("member_names"):
            return list(self.result["member_names"])
        if self.config.get("platforms"):
            return list(self.config["platforms"])
        size = len(self.front[0].members) if self.front else int(self.config.get("members", 0))
        return [f"m{k + 1}" for k in range(size)]

    @property
    def generations_done(self) -> int:
        if self.history:
            return int(self.history[-1]["generation"])
        return int(self.result.get("generations", 0)) if self.result is not None else 0

    @property
    def generations_planned(self) -> int | None:
        planned = self.config.get("generations")
        return int(planned) if planned is not None else None

    @property
    def status(self) -> str:
        """``finished after 6 generations`` or ``running or interrupted: generation 3 of 6``."""
        if self.finished:
            return f"finished after {self.generations_done} generations"
        planned = self.generations_planned
        return f"running or interrupted: generation {self.generations_done} of {planned if planned else '?'}"

    @property
    def platforms(self) -> list[str]:
        """Platforms with latency: ``latency@P`` keys of the family, or latency objective columns."""
        found: list[str] = []
        for member in self.family:
            found += [key.partition("@")[2] for key in member if key.startswith("latency@")]
        for column in self.columns:
            if column.base == "latency" and column.member:
                found.append(column.member)
            elif column.base.startswith("latency@"):
                found.append(column.base.partition("@")[2])
        return list(dict.fromkeys(found))


def load_run(source: str | Path | Run | Any) -> Run:
    """A ``Run`` from a run folder path, a ``Run``, or an ``evolution.result.SearchResult`` (no history then)."""
    if isinstance(source, Run):
        return source
    # A SearchResult can only exist if its module was imported; checking sys.modules avoids importing torch here.
    result_module = sys.modules.get("evolution.result")
    if result_module is not None and isinstance(source, result_module.SearchResult):
        result = json.loads(json.dumps(source.to_dict(), default=_plain))
        return Run("search result", None, {}, [], _checked_result(result, "SearchResult"))
    if not isinstance(source, (str, Path)):
        raise RunFolderError(f"cannot plot a {type(source).__name__}; give a run folder path, a Run or a SearchResult")
    return _load_folder(Path(source))


def _load_folder(path: Path) -> Run:
    if not path.is_dir():
        raise RunFolderError(f"run folder {str(path)!r} does not exist or is not a folder")
    if not (path / HISTORY).is_file() and not (path / RESULT).is_file():
        raise RunFolderError(f"{str(path)!r} is not a regnas run folder: it holds neither {HISTORY} nor {RESULT}")
    config = _read_json(path / CONFIG) if (path / CONFIG).is_file() else {}
    if not isinstance(config, dict):
        raise RunFolderError(f"{str(path / CONFIG)!r} does not hold a mapping of settings")
    history = _read_history(path / HISTORY) if (path / HISTORY).is_file() else []
    result = _checked_result(_read_json(path / RESULT), str(path / RESULT)) if (path / RESULT).is_file() else None
    if result is None and not history:
        raise RunFolderError(f"run {str(path)!r} has not completed a generation yet ({HISTORY} is empty)")
    return Run(path.resolve().name, path, config, history, result)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise RunFolderError(f"cannot read {str(path)!r}: {type(error).__name__}") from None


def _read_history(path: Path) -> list[dict[str, Any]]:
    history = []
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise RunFolderError(f"{str(path)!r} is not text; is it a regnas history?") from None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            raise RunFolderError(f"{str(path)!r} line {number} is not JSON") from None
        missing = [k for k in HISTORY_KEYS if not isinstance(record, dict) or k not in record]
        if missing:
            raise RunFolderError(f"{str(path)!r} line {number} lacks {missing[0]!r}; is it a regnas history?")
        history.append(record)
    if history and any(r["columns"] != history[0]["columns"] for r in history):
        raise RunFolderError(f"{str(path)!r} changes its objective columns between generations")
    return history


def _checked_result(result: Any, where: str) -> dict[str, Any]:
    missing = [k for k in RESULT_KEYS if not isinstance(result, dict) or k not in result]
    if missing:
        raise RunFolderError(f"{where!r} lacks {missing[0]!r}; is it a regnas result.json?")
    return result


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (np.ndarray, Path)):
        return value.tolist() if isinstance(value, np.ndarray) else str(value)
    raise TypeError(f"cannot read {type(value).__name__} from a SearchResult")
