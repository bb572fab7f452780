"""Search spaces by name: ``get_space``, ``list_spaces``, ``register_space`` (a duplicate name raises)."""
from __future__ import annotations

from regnas.registry import Registry
from search_spaces.base import SearchSpace

SPACES: Registry[SearchSpace] = Registry("search space")


def register_space(space: SearchSpace, *, overwrite: bool = False) -> SearchSpace:
    return SPACES.register(space.name, space, overwrite=overwrite)


def get_space(name: str) -> SearchSpace:
    return SPACES.get(name)


def list_spaces() -> list[str]:
    return SPACES.names()
