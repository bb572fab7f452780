"""pymoo algorithms by name, each wired with the nested family operators."""
from __future__ import annotations

from collections.abc import Callable

from pymoo.core.algorithm import Algorithm

from regnas.errors import ConfigError
from regnas.registry import Registry

# Factories take (pop_size, n_obj, operators) where operators holds sampling, crossover, mutation,
# repair and eliminate_duplicates; every algorithm only wires them.
AlgorithmFactory = Callable[[int, int, dict], Algorithm]
ALGORITHMS: Registry[AlgorithmFactory] = Registry("algorithm")


def register_algorithm(name: str, factory: AlgorithmFactory, *, overwrite: bool = False) -> AlgorithmFactory:
    return ALGORITHMS.register(name, factory, overwrite=overwrite)


def list_algorithms() -> list[str]:
    return ALGORITHMS.names()


def make_algorithm(name: str, pop_size: int, n_obj: int, operators: dict) -> Algorithm:
    return ALGORITHMS.get(name)(pop_size, n_obj, operators)


def _reference_directions(n_obj: int, pop_size: int):
    from pymoo.util.ref_dirs import get_reference_directions

    return get_reference_directions("energy", n_obj, pop_size, seed=1)


def _nsga2(pop_size: int, n_obj: int, ops: dict) -> Algorithm:
    from pymoo.algorithms.moo.nsga2 import NSGA2

    return NSGA2(pop_size=pop_size, **ops)


def _nsga3(pop_size: int, n_obj: int, ops: dict) -> Algorithm:
    from pymoo.algorithms.moo.nsga3 import NSGA3

    return NSGA3(ref_dirs=_reference_directions(n_obj, pop_size), pop_size=pop_size, **ops)


def _unsga3(pop_size: int, n_obj: int, ops: dict) -> Algorithm:
    from pymoo.algorithms.moo.unsga3 import UNSGA3

    return UNSGA3(ref_dirs=_reference_directions(n_obj, pop_size), pop_size=pop_size, **ops)


def _spea2(pop_size: int, n_obj: int, ops: dict) -> Algorithm:
    from pymoo.algorithms.moo.spea2 import SPEA2

    return SPEA2(pop_size=pop_size, **ops)


def _smsemoa(pop_size: int, n_obj: int, ops: dict) -> Algorithm:
    from pymoo.algorithms.moo.sms import SMSEMOA

    return SMSEMOA(pop_size=pop_size, **ops)


def _ga(pop_size: int, n_obj: int, ops: dict) -> Algorithm:
    from pymoo.algorithms.soo.nonconvex.ga import GA

    if n_obj != 1:
        raise ConfigError(f"algorithm 'ga' optimises one objective, got {n_obj} columns; use e.g. --objectives reward")
    return GA(pop_size=pop_size, **ops)


for _name, _factory in {"nsga2": _nsga2, "nsga3": _nsga3, "unsga3": _unsga3,
                        "spea2": _spea2, "smsemoa": _smsemoa, "ga": _ga}.items():
    register_algorithm(_name, _factory)
