"""Objectives by name: accuracy, error, nf, nfr, rel_nfr, nfi, params, flops, latency@PLATFORM, reward, user ones."""
from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from regnas.errors import ConfigError, UnknownNameError
from regnas.family import FamilyView, MemberView
from regnas.registry import Registry

Direction = Literal["min", "max"]
Scope = Literal["member", "family"]


@dataclass(frozen=True)
class Objective:
    """A named quantity of a family (``scope="family"``, one column) or of each member (one column per member).

    ``fn`` takes a ``FamilyView`` or a ``MemberView`` and returns a float in natural units; pymoo
    minimises, so ``direction="max"`` values are negated inside the problem and nowhere else.
    """

    name: str
    fn: Callable[..., float]
    direction: Direction = "min"
    scope: Scope = "family"
    unit: str = ""
    description: str = ""

    def __post_init__(self) -> None:
        if self.direction not in ("min", "max"):
            raise ConfigError(f"objective {self.name!r}: direction {self.direction!r} is not 'min' or 'max'")
        if self.scope not in ("member", "family"):
            raise ConfigError(f"objective {self.name!r}: scope {self.scope!r} is not 'member' or 'family'")

    def columns(self, member_names: Sequence[str]) -> list[str]:
        return [f"{self.name}[{m}]" for m in member_names] if self.scope == "member" else [self.name]

    def values(self, family: FamilyView) -> list[float]:
        if self.scope == "member":
            return [float(self.fn(member)) for member in family]
        return [float(self.fn(family))]


# A name maps to an Objective, or (for parametrised names such as latency@pixel3) to a factory of one.
OBJECTIVES: Registry[Objective] = Registry("objective")
OBJECTIVE_FACTORIES: Registry[Callable[[str], Objective]] = Registry("objective family")


def register_objective(objective: Objective, *, overwrite: bool = False) -> Objective:
    return OBJECTIVES.register(objective.name, objective, overwrite=overwrite)


def objective(name: str, *, direction: Direction = "min", scope: Scope = "family", unit: str = "",
              overwrite: bool = False) -> Callable[[Callable[..., float]], Objective]:
    """Decorator registering a function as an objective: ``@objective("worst_nfr", scope="family")``."""

    def wrap(fn: Callable[..., float]) -> Objective:
        return register_objective(Objective(name, fn, direction, scope, unit, (fn.__doc__ or "").strip()), overwrite=overwrite)

    return wrap


def list_objectives() -> list[str]:
    return OBJECTIVES.names() + [f"{prefix}@PLATFORM" for prefix in OBJECTIVE_FACTORIES.names()]


def get_objective(spec: str) -> Objective:
    """Resolve ``name``, ``name@argument`` or ``module:function`` (an Objective, or a family function to minimise)."""
    if ":" in spec:
        return _import_objective(spec)
    if "@" in spec:
        prefix, _, argument = spec.partition("@")
        if prefix in OBJECTIVE_FACTORIES and argument:
            return OBJECTIVE_FACTORIES.get(prefix)(argument)
        raise UnknownNameError("objective", spec, [*list_objectives(), "module:function"])
    if spec not in OBJECTIVES:
        raise UnknownNameError("objective", spec, [*list_objectives(), "module:function"])
    return OBJECTIVES.get(spec)


def _import_objective(spec: str) -> Objective:
    module_name, _, attribute = spec.partition(":")
    try:
        target = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as error:
        raise ConfigError(f"cannot load objective {spec!r}: {error}") from None
    if isinstance(target, Objective):
        return target
    if callable(target):
        return Objective(spec, target, "min", "family", "", (target.__doc__ or "").strip())
    raise ConfigError(f"objective {spec!r} is a {type(target).__name__}, not an Objective or a function of a family")


# ---- built-ins ----------------------------------------------------------------------------------
def _flip_objective(metric: str, doc: str) -> Objective:
    return Objective(metric, lambda family: family.consecutive(metric), "min", "family", "", doc)


for _objective in (
    Objective("accuracy", lambda m: m.accuracy, "max", "member", "", "top-1 accuracy on the validation split"),
    Objective("error", lambda m: m.error, "min", "member", "", "top-1 error (1 - accuracy) on the validation split"),
    Objective("params", lambda m: m.params, "min", "member", "", "parameters of the extracted sub-network"),
    Objective("flops", lambda m: m.flops, "min", "member", "", "FLOPs of one image through the extracted sub-network"),
    Objective("latency", lambda m: m.latency_ms(), "min", "member", "ms", "latency of each member on its own platform"),
    _flip_objective("nf", "negative flips of consecutive members (sum or max over pairs)"),
    _flip_objective("nfr", "negative flip rate NF/N of consecutive members"),
    _flip_objective("rel_nfr", "NFR relative to independent errors, (1-err_old)*err_new"),
    _flip_objective("nfi", "share of the new member's errors that are negative flips"),
    Objective("reward", lambda f: f.mean_accuracy() - f.context.reward_lambda * f.consecutive("nfr"), "max", "family",
              "", "paper-style scalar reward: mean member accuracy - lambda * NFR"),
):
    register_objective(_objective)


def _latency_on(platform: str) -> Objective:
    return Objective(f"latency@{platform}", lambda member: member.latency_ms(platform), "min", "member", "ms",
                     f"latency of each member on {platform}")


OBJECTIVE_FACTORIES.register("latency", _latency_on)

__all__ = ["Objective", "MemberView", "FamilyView", "get_objective", "list_objectives", "objective", "register_objective"]
