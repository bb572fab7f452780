"""Compute platforms by name, each priced by one LatencyTable: shipped tables, user files, own fits."""
from __future__ import annotations

import os
from pathlib import Path

from regnas.errors import DuplicateNameError
from regnas.latency.table import LatencyTable, LatencyTableError
from regnas.registry import Registry
from search_spaces.registry import SPACES

__all__ = ["describe_platform", "get_platform", "list_platforms", "register_platform", "unregister_platform"]

SHIPPED_TABLES = Path(__file__).with_name("tables")

# Entries are tables, or paths of shipped tables read on first use (importing regnas stays cheap).
_PLATFORMS: Registry[LatencyTable | Path] = Registry("platform")


def _shipped() -> dict[str, Path]:
    """The tables shipped here and those every registered space ships (``SearchSpace.latency_tables``)."""
    tables = {path.stem: path for path in sorted(SHIPPED_TABLES.glob("*.json"))}
    for name in SPACES:
        for platform, path in SPACES.get(name).latency_tables().items():
            if platform in tables and tables[platform] != path:
                raise DuplicateNameError(f"platform {platform!r} is shipped twice ({tables[platform]} and {path}); "
                                         f"space {name!r} must name its table otherwise")
            tables[platform] = path
    return tables


def _register_shipped() -> None:
    for name, path in _shipped().items():
        if name not in _PLATFORMS:
            _PLATFORMS.register(name, path)


def register_platform(name: str, table: LatencyTable | str | os.PathLike[str], overwrite: bool = False) -> LatencyTable:
    """Register ``table`` (or the table file at that path) as platform ``name``; a taken name raises."""
    _register_shipped()
    if not isinstance(table, LatencyTable):
        table = LatencyTable.load(table)
    _PLATFORMS.register(name, table, overwrite=overwrite)
    return table


def _looks_like_path(name: str) -> bool:
    return name.endswith(".json") or os.sep in name or "/" in name


def get_platform(name: str) -> LatencyTable:
    """The table of a registered platform; ``path/to/table.json`` loads a file; ``name=path`` loads
    it and registers it as ``name`` (again with the same file: the registered table)."""
    _register_shipped()
    if "=" in name:
        alias, _, path = name.partition("=")
        if alias in _PLATFORMS:
            registered = get_platform(alias)
            if registered.source and Path(registered.source).resolve() == Path(path).resolve():
                return registered
            raise DuplicateNameError(f"platform {alias!r} is already registered (from {registered.source}); pick another name than in {name!r}")
        return register_platform(alias, path)
    if name not in _PLATFORMS and _looks_like_path(name):
        return LatencyTable.load(name)
    entry = _PLATFORMS.get(name)
    if isinstance(entry, Path):
        entry = LatencyTable.load(entry)
        _PLATFORMS.register(name, entry, overwrite=True)
    return entry


def list_platforms() -> list[str]:
    """Names of all registered platforms (shipped ones included), sorted."""
    _register_shipped()
    return _PLATFORMS.names()


def describe_platform(name: str) -> str:
    """One line about a platform: device, space and network settings, how its table was made."""
    table = get_platform(name)
    return table.describe() if table.meta["device"] == name else f"{name}: {table.describe()}"


def unregister_platform(name: str) -> None:
    _register_shipped()
    if name not in _PLATFORMS:
        raise LatencyTableError(f"platform {name!r} is not registered; registered: {', '.join(_PLATFORMS.names())}")
    _PLATFORMS.unregister(name)
