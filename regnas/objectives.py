"""Objectives by name: accuracy, error, nf, nfr, rel_nfr, nfi, params, flops, latency@PLATFORM, reward, user ones."""
from __future__ import annotations

import dataclasses
import functools
import importlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from regnas.errors import ConfigError, UnknownNameError
from regnas.family import FamilyView, MemberView
from regnas.metrics import family_reward
from regnas.registry import Registry

Direction = Literal["min", "max"]
Scope = Literal["member", "family"]


@dataclass(frozen=True)
class Objective:
    """A named quantity of a family (``scope="family"``, one column) or of each member (one column per member).

    ``fn`` takes a ``FamilyView`` or a ``MemberView`` and returns a float in natural units; pymoo
    minimises, so ``direction="max"`` values are negated inside the problem and nowhere else.
    The metadata has its home here: ``label`` (what a figure's axis calls it, default the name),
    ``unit`` (``fraction`` is shown as a percentage, ``count`` with SI prefixes, anything else as
    written, e.g. ``ms``) and ``direction``; the search records them per column in the history and
    in result.json, and ``regnas.plot`` reads them from there.
    """

    name: str
    fn: Callable[..., float]
    direction: Direction = "min"
    scope: Scope = "family"
    unit: str = ""
    description: str = ""
    label: str = ""

    def __post_init__(self) -> None:
        if self.direction not in ("min", "max"):
            raise ConfigError(f"objective {self.name!r}: direction {self.direction!r} is not 'min' or 'max'")
        if self.scope not in ("member", "family"):
            raise ConfigError(f"objective {self.name!r}: scope {self.scope!r} is not 'member' or 'family'")

    @property
    def axis_label(self) -> str:
        return self.label or self.name

    def columns(self, member_names: Sequence[str]) -> list[str]:
        return [f"{self.name}[{m}]" for m in member_names] if self.scope == "member" else [self.name]

    def values(self, family: FamilyView) -> list[float]:
        """The objective's column values; a value that is not a finite number raises ConfigError naming it."""
        if self.scope == "member":
            return [self._number(self.fn(member), member.arch_str) for member in family]
        return [self._number(self.fn(family), " > ".join(m.arch_str for m in family))]

    def _number(self, value: object, of: str) -> float:
        # a user's function may return anything: pymoo would sort a None, a string or a NaN silently wrong
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise ConfigError(f"objective {self.name!r} returned {_short(value)} ({type(value).__name__}) for {of}; "
                              "an objective must return a number")
        if not math.isfinite(value):
            raise ConfigError(f"objective {self.name!r} returned {value} for {of}; an objective must return a finite number")
        return float(value)


# A name maps to an Objective, or (for parametrised names such as latency@pixel3) to a factory of one.
OBJECTIVES: Registry[Objective] = Registry("objective")
OBJECTIVE_FACTORIES: Registry[Callable[[str], Objective]] = Registry("objective family")


def register_objective(objective: Objective, *, overwrite: bool = False) -> Objective:
    return OBJECTIVES.register(objective.name, objective, overwrite=overwrite)


def objective(name: str, *, direction: Direction = "min", scope: Scope = "family", unit: str = "", label: str = "",
              overwrite: bool = False) -> Callable[[Callable[..., float]], Objective]:
    """Decorator registering a function as an objective: ``@objective("worst_nfr", scope="family")``."""

    def wrap(fn: Callable[..., float]) -> Objective:
        return register_objective(Objective(name, fn, direction, scope, unit, (fn.__doc__ or "").strip(), label),
                                  overwrite=overwrite)

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
        module = importlib.import_module(module_name)
    except Exception as error:  # importing runs the user's module: any error in it is bad input, shown in one line
        raise ConfigError(f"cannot load objective {spec!r}: importing {module_name!r} raised {type(error).__name__}: "
                          f"{_short(error)}") from None
    try:
        target = getattr(module, attribute)
    except AttributeError as error:
        raise ConfigError(f"cannot load objective {spec!r}: {error}") from None
    if isinstance(target, Objective):
        return dataclasses.replace(target, fn=_reported(spec, target.fn))
    if callable(target):
        return Objective(spec, _reported(spec, target), "min", "family", "", (target.__doc__ or "").strip())
    raise ConfigError(f"objective {spec!r} is a {type(target).__name__}, not an Objective or a function of a family")


def _reported(spec: str, fn: Callable[..., float]) -> Callable[..., float]:
    """``fn`` named on the command line, whose errors say which objective failed (the original stays chained)."""

    @functools.wraps(fn)
    def call(view):
        try:
            return fn(view)
        except Exception as error:
            raise ConfigError(f"objective {spec!r} raised {type(error).__name__}: {_short(error)}") from error

    return call


def _short(value: object) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= 80 else text[:77] + "..."


# ---- built-ins ----------------------------------------------------------------------------------
def _flip_objective(metric: str, unit: str, doc: str, label: str) -> Objective:
    return Objective(metric, lambda family: family.consecutive(metric), "min", "family", unit, doc, label)


for _objective in (
    Objective("accuracy", lambda m: m.accuracy, "max", "member", "fraction", "top-1 accuracy on the validation split",
              "top-1 accuracy"),
    Objective("error", lambda m: m.error, "min", "member", "fraction", "top-1 error (1 - accuracy) on the validation split",
              "top-1 error"),
    Objective("params", lambda m: m.params, "min", "member", "count", "parameters of the extracted sub-network",
              "parameters"),
    Objective("flops", lambda m: m.flops, "min", "member", "count", "FLOPs of one image through the extracted sub-network",
              "FLOPs"),
    Objective("latency", lambda m: m.latency_ms(), "min", "member", "ms", "latency of each member on its own platform",
              "latency"),
    _flip_objective("nf", "count", "negative flips of consecutive members (sum or max over pairs)", "negative flips"),
    _flip_objective("nfr", "fraction", "negative flip rate NF/N of consecutive members", "negative flip rate"),
    _flip_objective("rel_nfr", "ratio", "NFR relative to independent errors, (1-err_old)*err_new", "relative NFR"),
    _flip_objective("nfi", "fraction", "share of the new member's errors that are negative flips", "negative flip impact"),
    Objective("reward", lambda f: family_reward(f.mean_accuracy(), f.consecutive("nfr"), f.context.reward_lambda),
              "max", "family", "accuracy - λ·NFR", "paper-style scalar reward: mean member accuracy - lambda * NFR", "reward"),
):
    register_objective(_objective)


def _latency_on(platform: str) -> Objective:
    return Objective(f"latency@{platform}", lambda member: member.latency_ms(platform), "min", "member", "ms",
                     f"latency of each member on {platform}", f"latency on {platform}")


OBJECTIVE_FACTORIES.register("latency", _latency_on)

__all__ = ["Objective", "MemberView", "FamilyView", "get_objective", "list_objectives", "objective", "register_objective"]
