"""NAS-Bench-201 specifics: its strings, its nesting relation, minimal repair, its centre-tap weight sharing."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from search_spaces import get_space
from search_spaces.nasbench201.space import OPS, WEIGHT_LEVEL, _repair_edge
from tests.test_search_spaces import is_slice

SPACE = get_space("nasbench201")
PAPER_ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"


def test_canonical_string_is_nasbench201s():
    arch = SPACE.from_str(PAPER_ARCH)
    assert arch == ("nor_conv_3x3", "nor_conv_3x3", "avg_pool_3x3", "skip_connect", "nor_conv_3x3", "skip_connect")
    assert SPACE.to_str(arch) == PAPER_ARCH


def test_all_15625_cells_of_the_benchmark_csv_parse(shared_csv_archs):
    parsed = {SPACE.from_str(s) for s in shared_csv_archs}
    assert len(parsed) == 15625 == SPACE.size
    assert parsed == set(SPACE.enumerate())


@pytest.fixture(scope="module")
def shared_csv_archs(shared_data):
    import csv

    with open(shared_data / "nb201" / "nb201_archs.csv") as handle:
        return [row["arch_str"] for row in csv.DictReader(handle)]


@pytest.mark.parametrize("a,b,nested", [
    ("skip_connect", "none", True), ("none", "nor_conv_1x1", True), ("avg_pool_3x3", "nor_conv_3x3", True),
    ("nor_conv_1x1", "nor_conv_1x1", True), ("nor_conv_1x1", "nor_conv_3x3", True),
    ("nor_conv_3x3", "nor_conv_3x3", True), ("nor_conv_3x3", "nor_conv_1x1", False),
    ("nor_conv_1x1", "skip_connect", False), ("nor_conv_3x3", "avg_pool_3x3", False),
])
def test_nesting_relation_of_design_md(a, b, nested):
    base = ["skip_connect"] * 6
    arch_a, arch_b = tuple(base[:2] + [a] + base[3:]), tuple(base[:2] + [b] + base[3:])
    assert SPACE.is_nested(arch_a, arch_b) is nested


def test_repair_changes_the_fewest_genes(rng):
    """Against brute force over every nested assignment of weight levels, per edge."""
    for k in (2, 3, 4):
        for ops in itertools.product(OPS, repeat=k):
            repaired = _repair_edge(list(ops), rng)
            levels = [WEIGHT_LEVEL[o] for o in repaired]
            assert levels == sorted(levels)
            changes = sum(a != b for a, b in zip(ops, repaired))
            best = min(sum(WEIGHT_LEVEL[o] != t for o, t in zip(ops, targets))
                       for targets in itertools.product(range(3), repeat=k) if list(targets) == sorted(targets))
            assert changes == best, (ops, repaired)


def test_a_conv1x1_is_the_centre_tap_of_the_conv3x3_above_it(tiny_supernet, rng):
    """NAS-Bench-201's own nesting (the contract suite proves nesting by weights for every space): for nested
    a ⊑ b, a conv1x1 edge of a is exactly the centre tap of b's conv3x3 on that edge."""
    checked = 0
    for _ in range(20):
        small, large = SPACE.sample_family(2, rng)
        a, b = dict(tiny_supernet.extract(small).named_parameters()), dict(tiny_supernet.extract(large).named_parameters())
        for name, tensor in a.items():
            if tensor.dim() == 4 and tensor.shape[-1] == 1 and b[name].shape[-1] == 3:
                assert torch.equal(tensor, b[name][:, :, 1:2, 1:2])
                checked += 1
    assert checked > 5


def test_non_nested_pairs_are_not_weight_supersets(tiny_supernet):
    big = SPACE.from_str("|nor_conv_3x3~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|")
    small = SPACE.from_str("|nor_conv_1x1~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|")
    assert not SPACE.is_nested(big, small)
    a, b = dict(tiny_supernet.extract(big).named_parameters()), dict(tiny_supernet.extract(small).named_parameters())
    name = "blocks.0.ops.0.1.weight"
    assert not is_slice(a[name], b[name])


def test_params_of_the_reference_network_match_nasbench201():
    """NAS-Bench-201 reports 1.53 M parameters for the all-conv3x3 cell at C=16, N=5 (CIFAR-10)."""
    net = SPACE.supernet().extract(SPACE.largest())
    assert round(sum(p.numel() for p in net.parameters()) / 1e6, 2) == 1.53


def test_checkpoint_of_other_settings_is_refused(tiny_supernet, tmp_path):
    from regnas.errors import CheckpointError
    from regnas.supernet import load_supernet, save_checkpoint

    path = save_checkpoint(tmp_path / "s.pt", tiny_supernet)
    assert load_supernet(path, "nasbench201", tiny_supernet.settings).checksum() == tiny_supernet.checksum()
    with pytest.raises(CheckpointError, match="settings"):
        load_supernet(path, "nasbench201", {**tiny_supernet.settings, "C": 16})
    with pytest.raises(CheckpointError, match="holds a 'nasbench201' supernet, not 'mobilenetv3'"):
        load_supernet(path, "mobilenetv3")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="junk.pt"):
        load_supernet(tmp_path / "junk.pt")
