"""regnas: regression-free neural architecture families for diverse compute platforms (REG-NAS)."""
from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# The public API, imported on first use so that `import regnas` stays light and free of cycles.
_EXPORTS = {
    "search": "evolution.search",
    "SearchConfig": "evolution.config",
    "SearchResult": "evolution.result",
    "get_space": "search_spaces.registry",
    "list_spaces": "search_spaces.registry",
    "register_space": "search_spaces.registry",
    "SearchSpace": "search_spaces.base",
    "Objective": "regnas.objectives",
    "objective": "regnas.objectives",
    "get_objective": "regnas.objectives",
    "list_objectives": "regnas.objectives",
    "register_objective": "regnas.objectives",
    "load_data": "regnas.data",
    "Evaluator": "regnas.evaluate",
    "TrainConfig": "regnas.supernet",
    "train_supernet": "regnas.supernet",
    "load_supernet": "regnas.supernet",
    "FocalDistillationLoss": "regnas.losses",
    "FinetuneConfig": "regnas.finetune",
    "train_model": "regnas.finetune",
    "finetune_family": "regnas.finetune",
    "build_model": "regnas.standalone",
    "save_model": "regnas.standalone",
    "load_model": "regnas.standalone",
    "export_family": "regnas.export",
    "LatencyTable": "regnas.latency",
    "get_platform": "regnas.latency.platforms",
    "list_platforms": "regnas.latency.platforms",
    "register_platform": "regnas.latency.platforms",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'regnas' has no attribute {name!r}")
