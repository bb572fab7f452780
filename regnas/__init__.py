"""regnas: regression-free neural architecture families for diverse compute platforms (REG-NAS)."""
from __future__ import annotations

__version__ = "0.1.0"
