"""The nats-size space's own facts: NATS-Bench's strings and parameter counts, its skeleton, nesting and repair."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from regnas.errors import ConfigError, InvalidArchError
from search_spaces import get_space

SPACE = get_space("nats-size")


def test_strings_are_natsbenchs_and_round_trip():
    assert SPACE.from_str("64:32:48:16:8") == (64, 32, 48, 16, 8)
    assert SPACE.to_str((64, 32, 48, 16, 8)) == "64:32:48:16:8"
    assert SPACE.size == 8**5 == 32768
    for bad, named in (("64:32:48:16", "C0:C1:C2:C3:C4"), ("64:32:48:16:12", "C4=12"), ("64-32-48-16-8", "64-32-48-16-8")):
        with pytest.raises(InvalidArchError, match=named) as info:
            SPACE.from_str(bad)
        assert "\n" not in str(info.value)


@pytest.mark.parametrize("arch, millions", [
    ("8:8:8:8:8", 0.011714), ("8:8:8:16:32", 0.049202), ("8:8:8:16:40", 0.067378), ("8:8:40:32:40", 0.144834),
])
def test_parameter_counts_are_natsbenchs(arch, millions):
    """NATS-Bench's published CIFAR-10 counts (its benchmark files), to the parameter: every parameter of the
    network, BatchNorm's affine weight and bias included (running statistics are buffers, not counted)."""
    net = SPACE.supernet(div=1).extract(arch)
    assert sum(p.numel() for p in net.parameters()) == round(millions * 1e6)


def test_the_skeleton_is_natsbenchs_size_network():
    """64:32:48:16:8 block by block (InferTinyCellNet): stem and first cell at C0, a stride-2 residual block to
    C1, a cell C1 -> C2 with a projecting skip_connect, a residual block to C3, a cell C3 -> C4, classifier on C4."""
    net = SPACE.supernet(div=1).extract("64:32:48:16:8").eval()
    shapes = {name: tuple(t.shape) for name, t in net.state_dict().items() if name.endswith("weight")}
    assert shapes["stem.conv.weight"] == (64, 3, 3, 3)
    assert [shapes[f"blocks.0.edges.{i}.conv.weight"] for i in range(5)] == [(64, 64, 3, 3)] * 5
    assert "blocks.0.skip.conv.weight" not in shapes  # C0 -> C0: the identity
    assert (shapes["blocks.1.conv_a.conv.weight"], shapes["blocks.1.downsample.conv.weight"]) == ((32, 64, 3, 3), (32, 64, 1, 1))
    assert [shapes[f"blocks.2.edges.{i}.conv.weight"] for i in range(5)] == [(48, 32, 3, 3)] * 2 + [(48, 48, 3, 3)] * 3
    assert shapes["blocks.2.skip.conv.weight"] == (48, 32, 1, 1) and shapes["blocks.4.skip.conv.weight"] == (8, 16, 1, 1)
    assert shapes["head.classifier.weight"] == (10, 8)
    outputs = []
    hooks = [block.register_forward_hook(lambda m, i, o: outputs.append(tuple(o.shape[1:]))) for block in (net.stem, *net.blocks)]
    with torch.no_grad():
        logits = net(torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0)))
    for hook in hooks:
        hook.remove()
    assert outputs == [(64, 32, 32), (64, 32, 32), (32, 16, 16), (48, 16, 16), (16, 8, 8), (8, 8, 8)]
    assert logits.shape == (2, 10)


@pytest.fixture(scope="module")
def supernet():
    return SPACE.supernet(div=1, init_seed=3)


def test_a_nested_pair_is_a_prefix_of_every_tensor(supernet):
    small, large = "8:16:24:16:32", "16:24:32:24:40"  # both project in the second and third cells
    assert SPACE.is_nested(SPACE.from_str(small), SPACE.from_str(large))
    a, b = supernet.extract(small).state_dict(), supernet.extract(large).state_dict()
    assert any(name.endswith("skip.conv.weight") for name in a)
    for name, tensor in a.items():
        assert torch.equal(tensor, b[name][tuple(slice(0, n) for n in tensor.shape)]), name


def test_a_projection_is_not_contained_in_an_identity(supernet):
    """8:8:16:8:8 projects 8 -> 16 in the second cell; 64:64:64:64:64 has the identity there and holds no weights
    for it, so it is not a superset although every channel count is larger: the relation says so too."""
    small, large = SPACE.from_str("8:8:16:8:8"), SPACE.largest()
    assert all(x <= y for x, y in zip(small, large)) and not SPACE.is_nested(small, large)
    assert "blocks.2.skip.conv.weight" in supernet.extract(small).state_dict()
    assert "blocks.2.skip.conv.weight" not in supernet.extract(large).state_dict()
    assert SPACE.is_nested(small, SPACE.from_str("64:56:64:64:64"))


def _fewest_changes(family) -> int:
    """By brute force over every chain of the parts (C0), (C1, C2), (C3, C4), with ``is_nested`` as the judge."""
    total = 0
    for genes in ((0,), (1, 2), (3, 4)):
        best = None
        for states in itertools.product(itertools.product(SPACE.genes[0].choices, repeat=len(genes)), repeat=len(family)):
            chain = [list(family[0]) for _ in family]  # the other genes equal in every member: they never break nesting
            for arch, state in zip(chain, states):
                for g, v in zip(genes, state):
                    arch[g] = v
            if SPACE.is_chain([tuple(a) for a in chain]):
                changes = sum(v != a[g] for state, a in zip(states, family) for g, v in zip(genes, state))
                best = changes if best is None else min(best, changes)
        total += best
    return total


def test_repair_is_exact_against_brute_force(rng):
    for _ in range(6):
        family = [SPACE.sample(rng) for _ in range(2)]
        repaired = SPACE.repair_chain(family, rng)
        assert SPACE.is_chain(repaired)
        assert sum(x != y for a, b in zip(family, repaired) for x, y in zip(a, b)) == _fewest_changes(family)


def test_repair_breaks_ties_with_the_generator():
    family = [(8, 8, 16, 8, 8), (8, 16, 16, 8, 8)]  # one change fixes it, in three ways
    seen = {tuple(SPACE.repair_chain(family, np.random.default_rng(seed))) for seed in range(30)}
    assert len(seen) > 1
    for repaired in seen:
        assert SPACE.is_chain(list(repaired)) and sum(x != y for a, b in zip(family, repaired) for x, y in zip(a, b)) == 1


def test_divisor_setting_must_divide_the_channels():
    assert SPACE.parse_settings(["div=2"]) == {"div": 2}
    with pytest.raises(ConfigError, match="div=3 does not divide the channel counts; allowed: 1, 2, 4, 8"):
        SPACE.parse_settings(["div=3"])
    assert SPACE.supernet(div=4).extract(SPACE.largest()).head.classifier.weight.shape == (10, 16)


def test_recalibrated_statistics_equal_those_of_the_extracted_network(supernet):
    """The supernet's sliced BatchNorm follows nn.BatchNorm2d's cumulative averaging (momentum None), as the
    Evaluator's recalibration sets it: the statistics it leaves are those of recalibrating extract(arch)."""
    from regnas.evaluate import recalibrate_module

    arch = SPACE.from_str("24:8:40:16:32")
    batches = [torch.randn(4, 3, 16, 16, generator=torch.Generator().manual_seed(s)) for s in range(3)]
    expected = recalibrate_module(supernet.extract(arch), batches).state_dict()
    shared = SPACE.supernet(div=1, init_seed=3).eval()
    for norm in (m for m in shared.modules() if isinstance(m, torch.nn.BatchNorm2d)):
        norm.reset_running_stats()
        norm.momentum = None
        norm.train()
    with torch.no_grad():
        for x in batches:
            shared(x, arch)
    got = shared.extract(arch).state_dict()
    assert all(torch.equal(got[name], expected[name]) for name in expected if "running" in name)


def test_default_problem_bounds_both_members_below_the_largest_network():
    from evolution.config import SearchConfig

    config = SearchConfig(space="nats-size")
    assert config.members == 2 and set(config.budgets) == {"m1", "m2"} and config.platforms == []
    net = SPACE.supernet(**config.supernet_settings).extract(SPACE.largest())
    params = sum(p.numel() for p in net.parameters())
    limits = [float(config.budgets[m].removesuffix("kparams")) * 1e3 for m in ("m1", "m2")]
    assert limits[0] < limits[1] < params


def test_a_checkpoint_carries_the_space_and_its_settings(tmp_path):
    from regnas.errors import CheckpointError
    from regnas.supernet import load_supernet, save_checkpoint

    supernet = SPACE.supernet(div=8, init_seed=1)
    path = save_checkpoint(tmp_path / "s.pt", supernet)
    loaded = load_supernet(path, "nats-size", supernet.settings)
    assert loaded.checksum() == supernet.checksum() and loaded.settings == {"div": 8, "num_classes": 10, "in_channels": 3}
    with pytest.raises(CheckpointError, match="settings"):
        load_supernet(path, "nats-size", {**supernet.settings, "div": 4})
    with pytest.raises(CheckpointError, match="holds a 'nats-size' supernet, not 'nasbench201'"):
        load_supernet(path, "nasbench201")
