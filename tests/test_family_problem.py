"""The family problem is well posed: every member has a cost limit, limits order the members, the degenerate family loses."""
from __future__ import annotations

import numpy as np
import pytest

from evolution.config import SearchConfig
from evolution.search import search
from evolution.session import build_session, check_config
from regnas.budgets import Budget, parse_limit
from regnas.errors import ConfigError
from regnas.latency import get_platform
from search_spaces import get_space
from tests.conftest import tiny_config

SPACE = get_space("nasbench201")
# The default problem as README and DESIGN state it: Pixel 3 <= 10 ms for the device member, Titan RTX <= 10 ms.
DEFAULT_PLATFORMS = ("pixel3", "titan_rtx_1")
DEFAULT_BUDGETS = {"pixel3": "10ms", "titan_rtx_1": "10ms"}


def _nb201_best(shared_data) -> str:
    import csv

    with open(shared_data / "nb201" / "nb201_archs.csv") as handle:
        rows = list(csv.DictReader(handle))
    return max(rows, key=lambda r: float(r["test_acc_cifar10"]))["arch_str"]


def test_the_default_is_a_two_member_problem_with_a_limit_per_member():
    config = SearchConfig()
    assert config.platforms == list(DEFAULT_PLATFORMS) and config.budgets == DEFAULT_BUDGETS and config.members == 2
    check_config(config)  # ordered and feasible
    # Latency on the small member's platform, by the shipped table (not through the search code).
    pixel3, limit = get_platform(DEFAULT_PLATFORMS[0]), float(DEFAULT_BUDGETS[DEFAULT_PLATFORMS[0]].removesuffix("ms"))
    assert pixel3.predict(SPACE.largest()) > limit


def test_the_best_network_of_the_space_is_infeasible_for_the_small_member(shared_data):
    best = _nb201_best(shared_data)
    small = DEFAULT_PLATFORMS[0]
    assert get_platform(small).predict(best) > float(DEFAULT_BUDGETS[small].removesuffix("ms"))


def test_the_degenerate_family_violates_the_default_and_never_reaches_the_front(tmp_path, tiny_supernet, shared_data):
    session = build_session(tiny_config(skip_over_budget=False), None, progress=False)  # evaluate (a, a) anyway
    problem = session.problem()
    best, largest = SPACE.from_str(_nb201_best(shared_data)), SPACE.largest()
    small = SPACE.from_str("|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|none~0|none~1|skip_connect~2|")
    X = np.array([session.genome.encode(f) for f in ([best, best], [largest, largest], [small, best])])
    out = problem.evaluate(X, return_as_dictionary=True)
    assert (out["G"][:2, 0] > 0).all()  # member 1 over its pixel3 budget
    assert (out["G"][2] <= 0).all()  # a family of two different networks meets both
    # Unconstrained, (a, a) has NF 0 and both members' errors at their best: nothing could dominate it.
    assert out["F"][0, 2] == 0 and out["F"][0, 0] == out["F"][0, 1]
    result = search(tiny_config(), tmp_path / "run", progress=False)
    fronts = {tuple(row["members"]) for row in result.front}
    assert all(len(set(members)) == 2 or get_platform("pixel3").predict(members[0]) <= 10 for members in fronts)
    for member, platform in zip(result.family, DEFAULT_PLATFORMS):
        assert get_platform(platform).predict(member["arch"]) <= float(DEFAULT_BUDGETS[platform].removesuffix("ms"))
    assert (SPACE.to_str(best), SPACE.to_str(best)) not in fronts


def test_params_limits_constrain_members_without_platforms(tmp_path, tiny_supernet):
    limits = {"m1": 9_000, "m2": 14_000}
    result = search(tiny_config(budgets={k: f"{v / 1000:g}kparams" for k, v in limits.items()}, generations=3),
                    tmp_path / "params", progress=False)
    assert result.info["platforms"] == [] and [m["name"] for m in result.family] == ["m1", "m2"]
    for member, limit in zip(result.family, limits.values()):
        counted = sum(p.numel() for p in tiny_supernet.extract(member["arch"]).parameters())  # independent count
        assert counted <= limit


@pytest.mark.parametrize("text,expected", [("12ms", ("latency", 12.0)), ("80kparams", ("params", 80_000.0)),
                                           ("2.5Mflops", ("flops", 2.5e6)), ("1e3params", ("params", 1000.0)),
                                           (" 0.5 ms ", ("latency", 0.5))])
def test_limits_parse_with_their_units(text, expected):
    assert parse_limit(text) == expected


@pytest.mark.parametrize("text", ["12", "-1ms", "0ms", "infms", "nanms", "1e999ms", "12 s", "abc", "kms"])
def test_bad_limits_are_refused_naming_the_value(text):
    with pytest.raises(ConfigError, match="is not a positive number with a unit"):
        parse_limit(text)


def test_a_relative_violation_weighs_limits_of_any_unit_alike(tiny_supernet):
    session = build_session(tiny_config(budgets={"m1": "10kparams", "m2": "20kparams"}), None, progress=False)
    family = session.context.family([SPACE.largest(), SPACE.largest()])
    params = sum(p.numel() for p in tiny_supernet.extract(SPACE.largest()).parameters())
    budget = Budget(0, "params", 10_000.0)
    assert budget.violation(family) == pytest.approx(params / 10_000 - 1)
