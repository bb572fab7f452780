"""Supernets shipped inside the package, found by space, settings and data set (an index, no code per space)."""
from __future__ import annotations

import json
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from regnas.errors import CheckpointError

INDEX = "supernets.json"


def shipped_supernets() -> list[dict[str, Any]]:
    """The index of shipped supernets: file, space, settings, the data sets they fit, checksum, provenance."""
    index = resources.files("regnas") / "resources" / INDEX
    return json.loads(index.read_text()) if index.is_file() else []


def find_pretrained(space: str, settings: Mapping[str, Any], dataset: str) -> Path | None:
    """The shipped supernet trained for ``space`` with exactly ``settings`` on data that ``dataset`` shares
    (e.g. full CIFAR-10 for the embedded CIFAR-10 subset, whose held-out images come from CIFAR-10's test set)."""
    for entry in shipped_supernets():
        if entry["space"] == space and entry["settings"] == dict(settings) and dataset in entry["datasets"]:
            path = Path(str(resources.files("regnas") / "resources" / entry["file"]))
            if not path.is_file():
                raise CheckpointError(f"the shipped supernet {entry['file']!r} is missing from the installed package")
            return path
    return None
