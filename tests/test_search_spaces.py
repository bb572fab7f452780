"""Contract suite every registered search space passes, parametrised over the registry."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from regnas.errors import DuplicateNameError, InvalidArchError, UnknownNameError
from search_spaces import get_space, list_spaces, register_space

SPACES = list_spaces()


@pytest.fixture(params=SPACES)
def space(request):
    return get_space(request.param)


def sample_many(space, rng, n=300):
    return [space.sample(rng) for _ in range(n)]


def test_registry_knows_nasbench201_and_rejects_duplicates_and_unknown_names():
    assert "nasbench201" in SPACES
    with pytest.raises(DuplicateNameError, match="nasbench201"):
        register_space(get_space("nasbench201"))
    with pytest.raises(UnknownNameError, match="unknown search space 'nope'; allowed: .*nasbench201"):
        get_space("nope")


def test_strings_round_trip(space, rng):
    for arch in sample_many(space, rng):
        text = space.to_str(arch)
        assert space.from_str(text) == arch
        assert space.to_str(space.from_str(text)) == text
        assert space.decode(space.encode(arch)) == arch


@pytest.mark.parametrize("bad", ["", "garbage", "|x~0|", "+++", "|nor_conv_3x3~0|"])
def test_malformed_strings_raise_one_line_errors(space, bad):
    with pytest.raises(InvalidArchError) as info:
        space.from_str(bad)
    assert "\n" not in str(info.value) and repr(bad) in str(info.value)


def test_sampling_reaches_every_choice_of_every_gene(space, rng):
    seen = [set() for _ in space.genes]
    for arch in sample_many(space, rng, 2000):
        for s, value in zip(seen, arch):
            s.add(value)
    assert [len(s) for s in seen] == [len(g.choices) for g in space.genes]


def test_sampling_is_deterministic_given_the_generator(space):
    a = sample_many(space, np.random.default_rng(7), 50)
    b = sample_many(space, np.random.default_rng(7), 50)
    assert a == b


def test_nesting_is_a_partial_order_on_weight_footprints(space, rng):
    archs = sample_many(space, rng, 60) + [space.largest()]
    for a in archs:
        assert space.is_nested(a, a)
        assert space.is_nested(a, space.largest())
    for a, b in itertools.product(archs, repeat=2):
        if space.is_nested(a, b) and space.is_nested(b, a):
            assert space.footprint(a) == space.footprint(b)
    for a, b, c in itertools.product(archs[:25], repeat=3):
        if space.is_nested(a, b) and space.is_nested(b, c):
            assert space.is_nested(a, c)


@pytest.mark.parametrize("k", [1, 2, 3, 5])
def test_repaired_families_are_nested_and_chains_are_left_alone(space, rng, k):
    for _ in range(100):
        family = [space.sample(rng) for _ in range(k)]
        repaired = space.repair_chain(family, rng)
        assert len(repaired) == k and space.is_chain(repaired)
        assert space.repair_chain(repaired, rng) == repaired
    chain = space.sample_family(k, rng)
    assert space.is_chain(chain)


def test_enumeration_covers_the_space_once(space):
    if space.size > 100_000:
        pytest.skip(f"{space.name} has {space.size} architectures: not enumerated")
    archs = list(space.enumerate())
    assert len(archs) == len(set(archs)) == space.size


def test_functional_key_is_shared_only_by_architectures_of_equal_output(space, rng):
    """Archs with one key give identical logits on the same (untrained) supernet."""
    supernet = space.supernet(**{**space.supernet_defaults, "C": 4, "N": 1}).eval()
    x = torch.randn(4, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    by_key: dict[str, list] = {}
    for arch in sample_many(space, rng, 400):
        by_key.setdefault(space.functional_key(arch), []).append(arch)
    shared = [group for group in by_key.values() if len(group) > 1][:5]
    assert shared, "expected some architectures to differ only in dead ops"
    with torch.no_grad():
        for group in shared:
            outputs = [supernet(x, a) for a in group]
            assert all(torch.equal(outputs[0], o) for o in outputs[1:])
