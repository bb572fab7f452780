"""Per-platform latency: lookup tables (load, predict, save), profiling, fitting, platform registry."""
from __future__ import annotations

from regnas.latency.bounds import min_latency
from regnas.latency.measurements import Measurements, read_measurements
from regnas.latency.platforms import describe_platform, get_platform, list_platforms, register_platform, unregister_platform
from regnas.latency.schemes import KeyScheme, get_key_scheme, list_key_schemes, register_key_scheme
from regnas.latency.table import LatencyTable, LatencyTableError
from regnas.latency.validate import ValidationReport, compare, validate

__all__ = [
    "KeyScheme",
    "LatencyTable",
    "LatencyTableError",
    "Measurements",
    "ValidationReport",
    "compare",
    "fit_table",
    "measure_networks",
    "profile_table",
    "describe_platform",
    "get_key_scheme",
    "get_platform",
    "list_key_schemes",
    "list_platforms",
    "min_latency",
    "read_measurements",
    "register_key_scheme",
    "register_platform",
    "unregister_platform",
    "validate",
]


def __getattr__(name: str):
    # Fitting and profiling need torch; import them on first use so table look-ups stay light.
    if name == "fit_table":
        from regnas.latency.fit import fit_table

        return fit_table
    if name in ("profile_table", "measure_networks"):
        from regnas.latency import profile

        return getattr(profile, name)
    raise AttributeError(f"module 'regnas.latency' has no attribute {name!r}")
