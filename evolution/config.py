"""SearchConfig: every setting of a search, from flags or YAML, written to config.json to rerun it."""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from regnas.checks import NON_NEGATIVE, PROBABILITY, SEED, Range, check_fields
from regnas.errors import ConfigError
from search_spaces import DEFAULT_SPACE, get_space

DEFAULT_OBJECTIVES = ("error", "nf")
MAX_POPULATION = 10_000  # larger populations make one generation take days; a typo rather than a plan
MAX_GENERATIONS = 100_000
MAX_MEMBERS = 100
# Allowed values of the numeric fields (types come from the annotations); in a dict or list, of each value.
RANGES: dict[str, Range] = {
    "seed": SEED,
    "members": Range(1, MAX_MEMBERS),
    "population": Range(1, MAX_POPULATION),
    "generations": Range(1, MAX_GENERATIONS),
    "crossover_prob": PROBABILITY,
    "mutation_prob_var": PROBABILITY,
    "reward_lambda": NON_NEGATIVE,
    "train_epochs": Range(1),
    "train_batch_size": Range(1),
    "calibration_size": Range(1),
    "validation_size": Range(1),
    "test_size": Range(1),
    "eval_batch_size": Range(1),
}


@dataclass
class SearchConfig:
    """Defaults give the quick CPU run of ``regnas-evolve`` (the default space) on the embedded data."""

    space: str = DEFAULT_SPACE
    dataset: str = "default"
    data_path: str | None = None
    seed: int = 0
    members: int | None = None  # family size K: len(platforms) with platforms, else 2
    nested: bool = True
    # None for both (and the default number of members): the space's default_problem. Budgets map a member
    # (its platform, or m1, m2, ... without platforms) to a limit: "12ms", "80kparams", "25Mflops".
    platforms: list[str] | None = None
    budgets: dict[str, str] | None = None
    objectives: list[str] | None = None
    algorithm: str = "nsga2"
    # 12 x 24 and member crossover: measured against the exact front of nasbench201's default problem
    # (benchmarks/RESULTS.md, "Search efficiency"); 20 x 12 with column crossover reached less at every budget.
    population: int = 12
    generations: int = 24
    crossover: str = "member"
    # The initial population: "feasible" (random nested families within their budgets first) or "random".
    sampling: str = "feasible"
    # Duplicates in a population, by "functional" key (the same functions) or "canonical" strings.
    duplicates: str = "functional"
    # The front returned: every feasible non-dominated family evaluated (True) or the last population's.
    archive: bool = True
    # Families over a budget (priced from tables) are not evaluated: survival ranks them by violation alone.
    skip_over_budget: bool = True
    crossover_prob: float = 0.9
    mutation_prob_var: float | None = None
    flip_reduce: str = "sum"
    reward_lambda: float = 1.0
    pick: str = "pseudo-weights"
    supernet: str | None = None
    pretrained: bool = True  # without --supernet: a shipped supernet of these settings and data, if any
    # Of the quick supernet trained (or the shipped one found) without --supernet; None: the space's quick
    # settings, and the settings given are merged over those (checked against the space's declared settings).
    supernet_settings: dict[str, int] | None = None
    train_epochs: int = 15
    train_batch_size: int = 128
    train_sampling: str = "sandwich"
    calibration_size: int = 500
    validation_size: int | None = None
    test_size: int | None = None
    eval_batch_size: int = 500

    def __post_init__(self) -> None:
        check_fields(self, RANGES)
        space = get_space(self.space)
        self.supernet_settings = {**space.quick_settings, **space.check_settings(self.supernet_settings or {})}
        if self.objectives is not None and not self.objectives:
            raise ConfigError("objectives is an empty list; name at least one objective, or leave it out for the default")
        default = space.default_problem
        if self.platforms is None and self.budgets is None and default is not None and self.members in (None, default.members):
            self.platforms, self.budgets = list(default.platforms), dict(default.budgets)
        self.platforms = [] if self.platforms is None else self.platforms
        self.budgets = {} if self.budgets is None else self.budgets
        if self.platforms and self.members not in (None, len(self.platforms)):
            raise ConfigError(f"--members {self.members} does not match {len(self.platforms)} platforms {self.platforms}")
        self.members = len(self.platforms) if self.platforms else (2 if self.members is None else self.members)
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
        if not isinstance(values, dict):
            raise ConfigError(f"settings must be a mapping of names to values, got {type(values).__name__}")
        allowed = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted((set(values) - allowed), key=str)
        if unknown:
            raise ConfigError(f"unknown config key {unknown[0]!r}; allowed: {', '.join(sorted(allowed))}")
        return cls(**values)

    @classmethod
    def load(cls, path: str | Path) -> SearchConfig:
        """Read a YAML (``.yaml``, ``.yml``) or JSON file holding a mapping of settings."""
        path = Path(path)
        if not path.is_file():
            what = "is a directory, not a file" if path.is_dir() else "does not exist"
            raise ConfigError(f"config file {str(path)!r} {what}")
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise ConfigError(f"config file {str(path)!r} is not text (YAML or JSON)") from None
        if path.suffix in (".yaml", ".yml"):
            import yaml

            try:
                values = yaml.safe_load(text)
            except yaml.YAMLError as error:
                mark = getattr(error, "problem_mark", None)
                where = f" at line {mark.line + 1}" if mark is not None else ""
                raise ConfigError(f"config file {str(path)!r} is not valid YAML{where}: "
                                  f"{getattr(error, 'problem', None) or type(error).__name__}") from None
        else:
            try:
                values = json.loads(text)
            except json.JSONDecodeError as error:
                raise ConfigError(f"config file {str(path)!r} is not valid JSON: {error.msg} at line {error.lineno}") from None
        if values is None:
            values = {}
        if not isinstance(values, dict):
            raise ConfigError(f"config file {str(path)!r} must hold a mapping of settings, not a {type(values).__name__}")
        return cls.from_dict(values)
