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


def randomised_supernet(space):
    """An untrained supernet whose BatchNorms have random affine parameters and statistics: every op then
    leaves a trace (a zero BatchNorm shift would hide a convolution that reads an all-zero node)."""
    supernet = space.supernet(**{**space.supernet_defaults, "C": 4, "N": 1}, init_seed=0)
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for module in supernet.modules():
            if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
                module.weight.copy_(0.5 + torch.rand(module.weight.shape, generator=generator))
                module.bias.copy_(torch.randn(module.bias.shape, generator=generator))
                module.running_mean.copy_(0.1 * torch.randn(module.running_mean.shape, generator=generator))
                module.running_var.copy_(0.5 + torch.rand(module.running_var.shape, generator=generator))
    return supernet.eval()


def test_functional_key_is_equal_exactly_when_the_extracted_networks_compute_the_same(space, rng):
    """Checked on ``extract(arch)``, the plain network, not on the supernet path (which may use the same
    liveness rule as the key). For each sampled arch and every single-gene change of it: an unchanged key
    means an unchanged output (a shared cache entry is right), and a changed key a changed output, bar
    a few cases where a key may be conservative (in NAS-Bench-201 a 1x1 and a 3x3 convolution reading an
    all-zero node both add only their BatchNorm shift). The arch of the key, where it parses, computes the same."""
    from regnas.errors import InvalidArchError

    supernet = randomised_supernet(space)
    x = torch.randn(2, supernet.settings["in_channels"], 32, 32, generator=torch.Generator().manual_seed(0))
    outputs: dict[str, torch.Tensor] = {}

    def output(arch) -> torch.Tensor:
        text = space.to_str(arch)
        if text not in outputs:
            with torch.no_grad():
                outputs[text] = supernet.extract(arch).eval()(x)
        return outputs[text]

    def same(a, b) -> bool:
        difference = (output(a) - output(b)).abs().max().item()
        assert not 1e-6 < difference < 1e-4, f"ambiguous difference {difference} between {a} and {b}"
        return difference <= 1e-6

    kept, changed, changed_but_same = 0, 0, []
    for arch in sample_many(space, rng, 30):
        key = space.functional_key(arch)
        try:
            assert same(arch, space.from_str(key)), (arch, key)
        except InvalidArchError:
            pass  # a space whose keys are not architecture strings
        for gene, choices in enumerate(g.choices for g in space.genes):
            for choice in choices:
                if choice == arch[gene]:
                    continue
                other = arch[:gene] + (choice,) + arch[gene + 1:]
                if space.functional_key(other) == key:
                    assert same(arch, other), f"{arch} and {other} share a key but compute differently"
                    kept += 1
                else:
                    changed += 1
                    if same(arch, other):
                        changed_but_same.append((arch, other))
    assert kept > 20 and changed > 20  # both directions were really exercised
    assert len(changed_but_same) <= 0.02 * changed, f"{len(changed_but_same)} of {changed}: {changed_but_same[:3]}"
