"""Settings checked against their declared types and allowed ranges, for dataclasses, config files and flags."""
from __future__ import annotations

import argparse
import dataclasses
import math
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from regnas.errors import ConfigError

MAX_SEED = 2**63 - 1  # numpy and torch seeds are unsigned or signed 64-bit: the range both accept


@dataclass(frozen=True)
class Range:
    """Closed (or, with ``open_low``/``open_high``, open) interval; a bound of None is unbounded."""

    low: float | None = None
    high: float | None = None
    open_low: bool = False
    open_high: bool = False

    def __contains__(self, value: float) -> bool:
        if self.low is not None and (value <= self.low if self.open_low else value < self.low):
            return False
        return self.high is None or (value < self.high if self.open_high else value <= self.high)

    def __str__(self) -> str:
        if self.low is not None and self.high is not None and not (self.open_low or self.open_high):
            return f"between {_number(self.low)} and {_number(self.high)}"
        parts = []
        if self.low is not None:
            parts.append(f"{'>' if self.open_low else '>='} {_number(self.low)}")
        if self.high is not None:
            parts.append(f"{'<' if self.open_high else '<='} {_number(self.high)}")
        return " and ".join(parts) or "any number"


def _number(value: float) -> str:
    if value == MAX_SEED:
        return "2**63-1"
    return f"{value:,}" if isinstance(value, int) else f"{value:g}"


SEED = Range(0, MAX_SEED)
POSITIVE = Range(0, open_low=True)
NON_NEGATIVE = Range(0)
PROBABILITY = Range(0, 1)


def describe(hint: Any) -> str:
    """A type annotation in words: ``list[str]`` -> ``a list of strings``."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(describe(a) for a in args)
    if origin is list:
        return f"a list of {_plural(args[0])}" if args else "a list"
    if origin is dict:
        return f"a mapping of {_plural(args[0])} to {_plural(args[1])}" if args else "a mapping"
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    return {bool: "true or false", int: "an integer", float: "a number", str: "a string", type(None): "null",
            typing.Any: "any value"}.get(hint, f"a {getattr(hint, '__name__', hint)}")


def _plural(hint: Any) -> str:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return " or ".join(_plural(a) for a in typing.get_args(hint))
    return {bool: "booleans", int: "integers", float: "numbers", str: "strings"}.get(hint, describe(hint))


def matches(value: Any, hint: Any) -> bool:
    """Whether ``value`` is of type ``hint`` strictly: a bool is not an int, 1.5 is not an int, "0" is not
    a number; a float field takes an int; containers are checked element by element."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is typing.Any:
        return True
    if hint is None or hint is type(None):
        return value is None
    if origin in (typing.Union, types.UnionType):
        return any(matches(value, a) for a in args)
    if origin is typing.Literal:
        return any(value == a and type(value) is type(a) for a in args)
    if origin is list or origin is tuple:
        if not isinstance(value, origin):
            return False
        if origin is tuple and args and args[-1] is not Ellipsis:
            return len(value) == len(args) and all(matches(v, a) for v, a in zip(value, args))
        return not args or all(matches(v, args[0]) for v in value)
    if origin is dict:
        return isinstance(value, dict) and (not args or all(matches(k, args[0]) and matches(v, args[1]) for k, v in value.items()))
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(hint, type) and isinstance(value, hint)


def check_value(name: str, value: Any, hint: Any, allowed: Range | None = None) -> None:
    """Raise ConfigError naming ``name`` and ``value`` unless the value has the type ``hint``, every number in
    it is finite and (with ``allowed``) inside that range; in a list or mapping each element or value is."""
    wrong = _mismatch(name, value, hint)
    if wrong is not None:
        label, bad, expected = wrong
        raise ConfigError(f"{label} must be {describe(expected)}, got {_show(bad)}")
    for label, number in _numbers(name, value):
        if isinstance(number, float) and not math.isfinite(number):
            raise ConfigError(f"{label} must be a finite number, got {number}")
        if allowed is not None and number not in allowed:
            raise ConfigError(f"{label} must be {allowed}, got {number!r}")


def _mismatch(name: str, value: Any, hint: Any) -> tuple[str, Any, Any] | None:
    """The innermost element of ``value`` that does not match ``hint``: (its label, it, the type it should have)."""
    if matches(value, hint):
        return None
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        containers = [a for a in args if typing.get_origin(a) in (list, tuple, dict)
                      and isinstance(value, typing.get_origin(a))]
        return _mismatch(name, value, containers[0]) if len(containers) == 1 else (name, value, hint)
    if origin in (list, tuple) and isinstance(value, origin) and args and (origin is list or args[-1] is Ellipsis):
        for i, v in enumerate(value):
            if not matches(v, args[0]):
                return _mismatch(f"{name}[{i}]", v, args[0])
    if origin is dict and isinstance(value, dict) and args:
        for k, v in value.items():
            if not matches(k, args[0]):
                return (f"{name} key {k!r}", k, args[0])
            if not matches(v, args[1]):
                return _mismatch(f"{name}[{k!r}]", v, args[1])
    return (name, value, hint)


def _numbers(name: str, value: Any) -> list[tuple[str, float]]:
    if isinstance(value, bool) or value is None:
        return []
    if isinstance(value, (int, float)):
        return [(name, value)]
    if isinstance(value, dict):
        return [n for k, v in value.items() for n in _numbers(f"{name}[{k!r}]", v)]
    if isinstance(value, (list, tuple)):
        return [n for i, v in enumerate(value) for n in _numbers(f"{name}[{i}]", v)]
    return []


def _show(value: Any) -> str:
    text = repr(value)
    return (text if len(text) <= 60 else text[:57] + "...") + f" ({type(value).__name__})"


def check_fields(obj: Any, ranges: Mapping[str, Range]) -> None:
    """Check every field of dataclass ``obj`` against its annotation, and those named in ``ranges`` against
    their range; the first bad field raises ConfigError."""
    hints = typing.get_type_hints(type(obj))
    unknown = set(ranges) - set(hints)
    if unknown:  # a range for a field that no longer exists would silently check nothing
        raise TypeError(f"ranges name fields {sorted(unknown)} that {type(obj).__name__} does not have")
    for f in dataclasses.fields(obj):
        check_value(f.name, getattr(obj, f.name), hints[f.name], ranges.get(f.name))


def arg_type(kind: type, allowed: Range) -> Callable[[str], Any]:
    """An argparse ``type=``: parses ``kind`` (int or float) and refuses a value outside ``allowed``."""

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {describe(kind)}") from None
        if isinstance(value, float) and not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
        if value not in allowed:
            raise argparse.ArgumentTypeError(f"{text} is out of range; allowed: {allowed}")
        return value

    parse.__name__ = kind.__name__
    return parse
