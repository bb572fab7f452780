"""LatencyTable: a JSON lookup table pricing a space's architectures in milliseconds on one device."""
from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from regnas.checks import NON_NEGATIVE, POSITIVE, Range, check_value
from regnas.errors import ConfigError, LatencyTableError
from regnas.io import atomic_write_text
from search_spaces.base import Arch, SearchSpace

FORMAT_VERSION = 1
REQUIRED_META = ("space", "device", "unit", "batch", "input_shape", "settings", "key_scheme")
# What each meta field must hold (type, allowed numbers); checked on load, before any prediction.
META_TYPES: dict[str, tuple[Any, Range | None]] = {
    "space": (str, None),
    "device": (str, None),
    "unit": (str, None),
    "batch": (int, Range(1)),
    "input_shape": (list[int], Range(1)),
    "settings": (dict[str, int | float | str], None),
    "key_scheme": (str, None),
    "resolution_ms": (float, POSITIVE),
    "floor_ms": (float, NON_NEGATIVE),
}


class LatencyTable:
    """``meta`` (space, device, unit ``ms``, batch, input shape, network settings, key scheme, ...)
    and ``entries`` (key -> ms). ``predict(arch)`` sums the entries of the architecture's keys.

    A table prices an architecture at its own network settings (``meta["settings"]``, e.g. C=16,
    N=5) and input, whatever the size of the supernet used in the search. Predictions are rounded
    to ``meta["resolution_ms"]``, the finest step the table's source resolves, and never fall below
    ``meta["floor_ms"]`` (a fitted table: half the fastest network it was fitted on), where a fit's
    adjustments for rare ops could otherwise sum to less than any network takes, even below zero.
    """

    def __init__(self, meta: Mapping[str, Any], entries: Mapping[str, float], source: str | None = None):
        name = repr(source) if source else "latency table"
        if not isinstance(meta, Mapping):
            raise LatencyTableError(f"{name}: meta must be a mapping, got {type(meta).__name__}")
        missing = [k for k in REQUIRED_META if k not in meta]
        if missing:
            raise LatencyTableError(f"latency table {source or ''} lacks meta field(s) {', '.join(missing)}; required: {', '.join(REQUIRED_META)}")
        self.meta = dict(meta)
        self.meta.setdefault("resolution_ms", 1e-6)
        self.meta.setdefault("floor_ms", 0.0)
        try:
            for field, (hint, allowed) in META_TYPES.items():
                check_value(f"meta.{field}", self.meta[field], hint, allowed)
            if len(self.meta["input_shape"]) != 3:
                raise ConfigError(f"meta.input_shape must be [channels, height, width], got {self.meta['input_shape']}")
            if not isinstance(entries, Mapping) or not entries:
                raise ConfigError("entries must be a non-empty mapping of keys to ms")
            for key, value in entries.items():
                check_value(f"entry {key!r}", value, float)  # fitted adjustments may be negative
        except ConfigError as error:
            raise LatencyTableError(f"{name}: {error}") from None
        if meta["unit"] != "ms":
            raise LatencyTableError(f"latency table unit {meta['unit']!r} is not supported; allowed: ms")
        self.entries = {str(k): float(v) for k, v in entries.items()}
        self.source = source
        self._compiled: dict[tuple[str, ...], np.ndarray] = {}

    # ---- identity -----------------------------------------------------------------------------
    @property
    def space(self) -> SearchSpace:
        from search_spaces.registry import get_space

        return get_space(self.meta["space"])

    @property
    def settings(self) -> dict[str, Any]:
        return {**self.space.supernet_defaults, **self.meta["settings"]}

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return tuple(int(v) for v in self.meta["input_shape"])  # type: ignore[return-value]

    @property
    def scheme(self):
        from regnas.latency.schemes import get_key_scheme

        return get_key_scheme(self.space, self.meta["key_scheme"])

    def check_space(self, space: SearchSpace | str) -> None:
        name = space if isinstance(space, str) else space.name
        if name != self.meta["space"]:
            raise LatencyTableError(f"latency table {self.source or self.meta['device']!r} prices space {self.meta['space']!r}, not {name!r}")

    # ---- prediction ---------------------------------------------------------------------------
    def keys(self, arch: Arch | str) -> list[str]:
        """The keys (with repeats) this table sums for ``arch``."""
        return self.scheme.keys(self.space.parse(arch), self.settings, self.input_shape)

    def predict(self, arch: Arch | str) -> float:
        """Latency in ms of ``arch`` (canonical string or gene tuple) at the table's settings."""
        total = 0.0
        for key in self.keys(arch):
            if key not in self.entries:
                raise self._missing(key)
            total += self.entries[key]
        return self._round(total)

    def predict_many(self, archs: Sequence[Arch | str] | np.ndarray) -> np.ndarray:
        """Latencies in ms of many architectures: strings, gene tuples, or an int array of gene indices (n, genes)."""
        from regnas.latency.schemes import codes_of

        codes = codes_of(self.space, archs)
        vocabulary, counts = self.scheme.count_matrix(self.space, codes, self.settings, self.input_shape)
        values = self._values(tuple(vocabulary), counts)
        return self._round(np.asarray(counts @ values, dtype=np.float64).reshape(-1))

    def _values(self, vocabulary: tuple[str, ...], counts) -> np.ndarray:
        if vocabulary not in self._compiled:
            self._compiled[vocabulary] = np.array([self.entries.get(k, np.nan) for k in vocabulary])
        values = self._compiled[vocabulary]
        absent = np.flatnonzero(np.isnan(values))
        if len(absent):
            used = np.asarray(abs(counts[:, absent]).sum(axis=0)).reshape(-1)
            if used.any():
                raise self._missing(vocabulary[absent[np.flatnonzero(used)[0]]])
            values = np.nan_to_num(values)
        return values

    def _round(self, value):
        step, floor = float(self.meta["resolution_ms"]), float(self.meta["floor_ms"])
        # the second rounding drops float noise of the multiplication (0.005791999999999999 -> 0.005792)
        rounded = np.round(np.round(np.maximum(np.asarray(value, dtype=np.float64), floor) / step) * step, 12)
        return rounded if np.ndim(value) else float(rounded)

    def _missing(self, key: str) -> LatencyTableError:
        return LatencyTableError(
            f"latency table {self.source or self.meta['device']!r} has no entry for key {key!r} "
            f"(it has {len(self.entries)} keys of scheme {self.meta['key_scheme']!r} at settings {self.meta['settings']})"
        )

    # ---- files --------------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT_VERSION, "meta": self.meta, "entries": {k: {"ms": v} for k, v in sorted(self.entries.items())}}

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write atomically (a temporary file, then rename), so an interrupted save leaves no half file."""
        path = atomic_write_text(path, json.dumps(self.to_json(), indent=1) + "\n")
        self.source = str(path)
        return path

    @classmethod
    def from_json(cls, data: Any, source: str | None = None) -> LatencyTable:
        if not isinstance(data, dict) or not isinstance(data.get("meta"), dict) or not isinstance(data.get("entries"), dict):
            raise LatencyTableError(f"{source or 'latency table'} is not a latency table: expected a JSON object with 'meta' and 'entries'")
        entries = {}
        for key, value in data["entries"].items():
            ms = value.get("ms") if isinstance(value, dict) else value
            if not isinstance(ms, (int, float)) or isinstance(ms, bool) or not np.isfinite(ms):
                raise LatencyTableError(f"{source or 'latency table'}: entry {key!r} must be a number of ms or {{'ms': number}}, got {value!r}")
            entries[key] = ms
        table = cls(data["meta"], entries, source)
        from search_spaces.registry import list_spaces

        if table.meta["space"] not in list_spaces():
            raise LatencyTableError(f"{source or 'latency table'} prices unknown space {table.meta['space']!r}; allowed: {', '.join(list_spaces())}")
        return table

    @classmethod
    def load(cls, path: str | os.PathLike[str], space: SearchSpace | str | None = None) -> LatencyTable:
        """Read a table; with ``space``, refuse one that prices another space."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise LatencyTableError(f"latency table {str(path)!r} is not a JSON text file") from None
        except FileNotFoundError:
            raise LatencyTableError(f"latency table {str(path)!r} does not exist") from None
        except OSError as error:
            raise LatencyTableError(f"cannot read latency table {str(path)!r}: {error.strerror}") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise LatencyTableError(f"latency table {str(path)!r} is not valid JSON: {error.msg} at line {error.lineno}") from None
        table = cls.from_json(data, str(path))
        if space is not None:
            table.check_space(space)
        return table

    def describe(self) -> str:
        """One line: device, how the table was made, the network it prices."""
        meta = self.meta
        settings = ", ".join(f"{k}={v}" for k, v in meta["settings"].items())
        shape = "x".join(str(v) for v in meta["input_shape"])
        device = f"{meta['device']} ({meta['device_name']})" if meta.get("device_name") else meta["device"]
        text = f"{device}: {meta['space']} ({settings}, input {shape}, batch {meta['batch']}), {meta.get('method', 'unknown method')}"
        if meta.get("source"):
            text += f", source {meta['source']}"
        if "validation" in meta:
            v = meta["validation"]
            against = v.get("against", f"{v['rows']} measurements")
            text += f"; Kendall tau {v['kendall_tau']:.3f}, MAPE {v['mape_percent']:.1f}% against {against}"
        return text

    def __repr__(self) -> str:
        return f"LatencyTable(device={self.meta['device']!r}, space={self.meta['space']!r}, keys={len(self.entries)})"
