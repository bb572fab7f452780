"""SearchConfig: every setting of a search, from flags or YAML, written to config.json to rerun it."""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from regnas.errors import ConfigError

DEFAULT_OBJECTIVES = ("error", "nf")
# The default family problem: a phone model and a cloud model, each under a latency budget on its own
# platform. 10 ms on the Pixel 3 admits about half of NAS-Bench-201 but neither its best network (27 ms)
# nor the largest (39 ms); 10 ms on the Titan RTX admits the best network (9.5 ms) but not the largest.
DEFAULT_PLATFORMS = ("pixel3", "titan_rtx_1")
DEFAULT_BUDGETS = {"pixel3": "10ms", "titan_rtx_1": "10ms"}


@dataclass
class SearchConfig:
    """Defaults give the quick CPU run of ``regnas-evolve --space nasbench201`` on the embedded data."""

    space: str = "nasbench201"
    dataset: str = "default"
    data_path: str | None = None
    seed: int = 0
    members: int | None = None  # family size K: len(platforms) with platforms, else 2
    nested: bool = True
    # None for both (and two members): DEFAULT_PLATFORMS under DEFAULT_BUDGETS. Budgets map a member
    # (its platform, or m1, m2, ... without platforms) to a limit: "12ms", "80kparams", "25Mflops".
    platforms: list[str] | None = None
    budgets: dict[str, str] | None = None
    objectives: list[str] | None = None
    algorithm: str = "nsga2"
    population: int = 20
    generations: int = 12
    crossover: str = "column"
    crossover_prob: float = 0.9
    mutation_prob_var: float | None = None
    flip_reduce: str = "sum"
    reward_lambda: float = 1.0
    pick: str = "pseudo-weights"
    supernet: str | None = None
    pretrained: bool = True  # without --supernet: a shipped supernet of these settings and data, if any
    supernet_settings: dict[str, int] = field(default_factory=lambda: {"C": 8, "N": 1})
    train_epochs: int = 15
    train_batch_size: int = 128
    train_sampling: str = "sandwich"
    calibration_size: int = 500
    validation_size: int | None = None
    test_size: int | None = None
    eval_batch_size: int = 500

    def __post_init__(self) -> None:
        if self.platforms is None and self.budgets is None and self.members in (None, 2):
            self.platforms, self.budgets = list(DEFAULT_PLATFORMS), dict(DEFAULT_BUDGETS)
        self.platforms = [] if self.platforms is None else self.platforms
        self.budgets = {} if self.budgets is None else self.budgets
        if self.platforms and self.members not in (None, len(self.platforms)):
            raise ConfigError(f"--members {self.members} does not match {len(self.platforms)} platforms {self.platforms}")
        self.members = len(self.platforms) if self.platforms else (2 if self.members is None else self.members)
        if self.members < 1:
            raise ConfigError(f"a family needs at least 1 member, got --members {self.members}")
        for name in ("population", "generations", "train_epochs", "train_batch_size", "eval_batch_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}")
        if self.flip_reduce not in ("sum", "max"):
            raise ConfigError(f"unknown flip reduction {self.flip_reduce!r}; allowed: sum, max")
        if len(set(self.platforms)) != len(self.platforms):
            raise ConfigError(f"--platforms lists a platform twice: {self.platforms}; each member needs its own")
        from regnas.budgets import make_budgets

        make_budgets(self.member_names, self.platforms, self.budgets)  # the syntax; order and feasibility: check_config

    @property
    def member_names(self) -> list[str]:
        return list(self.platforms) if self.platforms else [f"m{k + 1}" for k in range(self.members)]

    @property
    def objective_specs(self) -> list[str]:
        return list(self.objectives) if self.objectives else list(DEFAULT_OBJECTIVES)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> SearchConfig:
        allowed = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - allowed)
        if unknown:
            raise ConfigError(f"unknown config key {unknown[0]!r}; allowed: {', '.join(sorted(allowed))}")
        return cls(**values)

    @classmethod
    def load(cls, path: str | Path) -> SearchConfig:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"config file {str(path)!r} does not exist")
        text = path.read_text()
        if path.suffix in (".yaml", ".yml"):
            import yaml

            values = yaml.safe_load(text) or {}
        else:
            values = json.loads(text)
        if not isinstance(values, dict):
            raise ConfigError(f"config file {str(path)!r} must hold a mapping of settings")
        return cls.from_dict(values)
