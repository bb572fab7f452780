"""The import layers, checked from the source: lower layers never import higher ones, and nothing above
search_spaces names a space."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("regnas", "search_spaces", "evolution")
# Bottom to top (README, "Architecture"). `regnas` itself is the public facade: it imports nothing of ours
# when imported (its names load lazily), so the base modules inside it stay importable on their own.
BASE = {"regnas", "regnas.errors", "regnas.registry", "regnas.io"}
LAYERS = ("base", "search_spaces", "library", "evolution", "entry points")


def layer_of(module: str) -> int:
    if module in BASE:
        return 0
    top = module.split(".")[0]
    if top == "search_spaces":
        return 1
    if top == "evolution":
        return 3
    if module == "regnas.cli" or module.startswith("regnas.cli."):
        return 4
    return 2


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def our_modules() -> dict[str, Path]:
    return {module_name(p): p for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))}


def imports_of(path: Path, modules: dict[str, Path]) -> set[str]:
    """Every module of ours that ``path`` imports, at the top or inside a function (a lazy import is an import)."""
    found = set()
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            # `from regnas import metrics` imports the module regnas.metrics
            found.update(f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in modules)
    return {name for name in found if name.split(".")[0] in PACKAGES}


def space_packages() -> set[str]:
    return {f"search_spaces.{p.parent.name}" for p in (ROOT / "search_spaces").glob("*/__init__.py")}


def test_the_check_sees_every_package_and_a_known_import():
    modules = our_modules()
    assert {"regnas.errors", "search_spaces.base", "evolution.search", "regnas.cli.evolve"} <= set(modules)
    assert "search_spaces.nasbench201" in space_packages()
    # an independent look at one file: evolution/search.py imports regnas and evolution modules
    assert {m for m in imports_of(modules["evolution.search"], modules) if m.startswith("evolution.")}


def test_no_module_imports_a_higher_layer():
    modules = our_modules()
    upward = [f"{name} ({LAYERS[layer_of(name)]}) imports {target} ({LAYERS[layer_of(target)]})"
              for name, path in modules.items() for target in sorted(imports_of(path, modules))
              if layer_of(target) > layer_of(name)]
    assert not upward, "\n".join(upward)


def test_nothing_above_search_spaces_names_a_space():
    """A space plugs in by registering; regnas and evolution reach it through the registry only."""
    modules = our_modules()
    spaces = space_packages()
    named = [f"{name} imports {target}" for name, path in modules.items() if layer_of(name) >= 2
             for target in sorted(imports_of(path, modules)) if any(target == s or target.startswith(s + ".") for s in spaces)]
    assert not named, "\n".join(named)


def test_the_facade_imports_nothing_of_ours():
    modules = our_modules()
    assert not imports_of(modules["regnas"], modules)


@pytest.mark.parametrize("package", ["search_spaces", "regnas.errors", "regnas.registry", "regnas.io"])
def test_a_lower_layer_loads_no_library_module(package):
    """Importing the spaces (every module of every space) loads nothing of regnas but the base."""
    spaces = [m for m in our_modules() if m.startswith("search_spaces")] if package == "search_spaces" else [package]
    code = ("import importlib, sys\n"
            f"for name in {spaces!r}: importlib.import_module(name)\n"
            "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in ('regnas', 'evolution'))))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout.split()
    assert set(loaded) <= BASE, sorted(set(loaded) - BASE)
