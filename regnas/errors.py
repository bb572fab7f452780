"""Errors regnas raises for bad input: each message is one line naming the value and what is allowed.

Part of the base layer (with ``regnas.registry`` and ``regnas.io``): imports nothing of regnas, so the
search spaces may import it without importing the library."""
from __future__ import annotations

from collections.abc import Iterable


class RegnasError(Exception):
    """Base class: the command-line tools print the message and exit with code 2."""


class RegnasWarning(UserWarning):
    """Something the user must know that is not an error: the command-line tools print it as one line."""


class ResumeWarning(RegnasWarning):
    """A resumed run (training, search) goes on otherwise than it started: its results will differ from those
    of an uninterrupted run, and its records say how each part ran."""


class UnknownNameError(RegnasError, KeyError):
    """A registry (spaces, objectives, platforms, algorithms) has no entry of that name."""

    def __init__(self, kind: str, name: str, allowed: Iterable[str]):
        self.kind, self.name, self.allowed = kind, name, sorted(allowed)
        super().__init__(f"unknown {kind} {name!r}; allowed: {', '.join(self.allowed) or '(none registered)'}")

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return self.args[0]


class DuplicateNameError(RegnasError, ValueError):
    """A registry already has an entry of that name."""


class InvalidArchError(RegnasError, ValueError):
    """An architecture string or gene vector is not a member of the search space."""


class CheckpointError(RegnasError, ValueError):
    """A checkpoint (supernet or search run) does not belong to the space or settings asked for."""


class DataError(RegnasError, ValueError):
    """A data set path is missing or its files are not in a known format."""


class ConfigError(RegnasError, ValueError):
    """A configuration value (flag, YAML key, budget) is out of the allowed range."""


class InfeasibleBudgetError(ConfigError):
    """A latency (or other) budget that no architecture of the space can meet."""


class LatencyTableError(RegnasError, ValueError):
    """A latency table is malformed, belongs to another space or settings, or lacks a key asked for."""


class RunFolderError(RegnasError, ValueError):
    """A run folder is in use by another search, or holds a run that would be overwritten."""


class ExportError(RegnasError, ValueError):
    """A member could not be exported, or an exported model does not reproduce what its search reported."""
