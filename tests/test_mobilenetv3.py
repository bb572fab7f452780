"""MobileNetV3 (OFA-style) specifics: its strings, nesting proven by weights on a hand-picked pair, where SE and
h-swish run, parameter counts against a count by hand, and the repair's ties."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.overrides import TorchFunctionMode

from regnas.errors import InvalidArchError
from search_spaces import get_space
from tests.test_search_spaces import randomised_supernet

SPACE = get_space("mobilenetv3")
EXAMPLE = "k3e4-k5e6|k7e3-k3e3-k5e4|k3e3-k3e3|k7e6-k7e6-k7e6-k7e6|k5e4-k3e6"
# OFA's MobileNetV3 (ofa_mbv3.py), 1-based elastic stages: squeeze-excite in 2, 4, 5; h-swish in 3, 4, 5.
SE_STAGES, HSWISH_STAGES = {2, 4, 5}, {3, 4, 5}


def test_the_canonical_string_lists_the_active_layers_of_each_stage():
    arch = SPACE.from_str(EXAMPLE)
    assert arch[:9] == (2, 3, 4, 5, 6, 3, 3, 3, 3)  # depth 2, then (kernel, expand) of 4 slots, idle ones 3, 3
    assert arch[9:18] == (3, 7, 3, 3, 3, 5, 4, 3, 3)
    assert arch[27:36] == (4,) + (7, 6) * 4
    assert SPACE.to_str(arch) == EXAMPLE
    assert SPACE.to_str(SPACE.largest()) == "|".join(["k7e6-k7e6-k7e6-k7e6"] * 5)
    assert SPACE.to_str(SPACE.smallest()) == "|".join(["k3e3-k3e3"] * 5)


def test_genes_of_inactive_layers_are_dropped_from_string_key_and_footprint():
    arch = SPACE.from_str(EXAMPLE)
    idle = arch[:5] + (7, 6, 5, 4) + arch[9:]  # stage 1 has depth 2: slots 3 and 4 are idle
    assert idle != arch
    assert SPACE.to_str(idle) == SPACE.functional_key(idle) == SPACE.functional_key(arch) == EXAMPLE
    assert SPACE.footprint(idle) == SPACE.footprint(arch)
    assert SPACE.is_nested(idle, arch) and SPACE.is_nested(arch, idle)
    assert SPACE.canonical(idle) == arch
    woken = (3,) + idle[1:]  # depth 3 wakes slot 3 (kernel 7, expand 6)
    assert SPACE.to_str(woken).split("|")[0] == "k3e4-k5e6-k7e6"


@pytest.mark.parametrize("bad", [
    "k3e4-k5e6", "k3e4|k3e4-k3e4|k3e3-k3e3|k3e3-k3e3|k3e3-k3e3", "k4e3-k3e3|k3e3-k3e3|k3e3-k3e3|k3e3-k3e3|k3e3-k3e3",
    "k3e5-k3e3|k3e3-k3e3|k3e3-k3e3|k3e3-k3e3|k3e3-k3e3", "-".join(["k3e3"] * 5) + "|k3e3-k3e3" * 4,
    "k3e3,k3e3|k3e3-k3e3|k3e3-k3e3|k3e3-k3e3|k3e3-k3e3",
])
def test_malformed_strings_name_the_string_and_the_format(bad):
    with pytest.raises(InvalidArchError, match="expected five '|'-separated stages") as info:
        SPACE.from_str(bad)
    assert repr(bad) in str(info.value) and "\n" not in str(info.value)


def test_a_3x3_expand3_depth2_stage_is_a_slice_of_a_7x7_expand6_depth4_one():
    """Checked at the offsets the design says (centre taps, first channels), computed here."""
    supernet = randomised_supernet(SPACE)
    rest = "|k3e3-k3e3" * 4
    small, large = SPACE.from_str("k3e3-k5e4" + rest), SPACE.from_str("k7e6-k7e4-k3e3-k5e6" + rest)
    assert SPACE.is_nested(small, large) and not SPACE.is_nested(large, small)
    a, b = supernet.extract(small).state_dict(), supernet.extract(large).state_dict()
    c_in = supernet.settings["C"]  # stage 1 reads the first block's output: C channels at C=4
    mid = 3 * c_in
    assert a["stages.0.0.depthwise.conv.weight"].shape == (mid, 1, 3, 3)
    assert torch.equal(a["stages.0.0.depthwise.conv.weight"], b["stages.0.0.depthwise.conv.weight"][:mid, :, 2:5, 2:5])
    assert torch.equal(a["stages.0.0.expand.conv.weight"], b["stages.0.0.expand.conv.weight"][:mid])
    assert torch.equal(a["stages.0.0.project.conv.weight"], b["stages.0.0.project.conv.weight"][:, :mid])
    for stat in ("weight", "bias", "running_mean", "running_var"):
        assert torch.equal(a[f"stages.0.0.depthwise.bn.{stat}"], b[f"stages.0.0.depthwise.bn.{stat}"][:mid])
    # Slot 2: a 5x5 kernel of expand 4 inside a 7x7 of expand 4; slots 3 and 4 only in the large network.
    assert torch.equal(a["stages.0.1.depthwise.conv.weight"], b["stages.0.1.depthwise.conv.weight"][:, :, 1:6, 1:6])
    assert not any(k.startswith(("stages.0.2.", "stages.0.3.")) for k in a)
    assert any(k.startswith("stages.0.3.") for k in b)


class FunctionCalls(TorchFunctionMode):
    """Counts the torch functions a forward pass really calls (by name)."""

    def __init__(self):
        super().__init__()
        self.counts: dict[str, int] = {}

    def __torch_function__(self, func, types, args=(), kwargs=None):
        name = getattr(func, "__name__", str(func))
        self.counts[name] = self.counts.get(name, 0) + 1
        return func(*args, **(kwargs or {}))


def test_squeeze_excite_and_hswish_run_in_the_stages_ofa_has_them():
    supernet = randomised_supernet(SPACE)
    arch = SPACE.from_str(EXAMPLE)  # depths 2, 3, 2, 4, 2
    net = supernet.extract(arch).eval()
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        h = net.first(net.stem(x))
        for number, stage in enumerate(net.stages, start=1):
            for block in stage:
                with FunctionCalls() as calls:
                    h = block(h)
                assert ("hardsigmoid" in calls.counts) == (number in SE_STAGES), number
                assert ("hardswish" in calls.counts) == (number in HSWISH_STAGES), number
    depths = (2, 3, 2, 4, 2)
    se_layers = sum(d for n, d in enumerate(depths, start=1) if n in SE_STAGES)
    # h-swish after each expand and depthwise of the late stages, plus the stem's and the head's two.
    hswish = 2 * sum(d for n, d in enumerate(depths, start=1) if n in HSWISH_STAGES) + 3
    for model in (lambda t: supernet(t, arch), net):
        with torch.no_grad(), FunctionCalls() as calls:
            model(x)
        assert calls.counts.get("hardsigmoid") == se_layers == 9 and calls.counts.get("hardswish") == hswish == 19


def count_by_hand(depth: int, kernel: int, expand: int, classes: int = 10) -> int:
    """Parameters of the reference (C=16) network with every layer alike, from MobileNetV3's layout in OFA:
    widths 16 | 16 | 24 40 80 112 160 | 960 1280, SE in stages 2, 4, 5 (reduction 4), BN weight and bias."""

    def block(c_in: int, c_out: int, k: int, e: int, se: bool) -> int:
        mid = c_in * e
        n = c_in * mid + 2 * mid + mid * k * k + 2 * mid + mid * c_out + 2 * c_out
        return n + (2 * mid * (mid // 4) + mid // 4 + mid if se else 0)

    total = 3 * 16 * 9 + 2 * 16  # stem
    total += 16 * 9 + 2 * 16 + 16 * 16 + 2 * 16  # first block: depthwise, projection
    widths = (16, 24, 40, 80, 112, 160)
    for stage in range(5):
        c_in, c_out, se = widths[stage], widths[stage + 1], stage + 1 in SE_STAGES
        total += block(c_in, c_out, kernel, expand, se) + (depth - 1) * block(c_out, c_out, kernel, expand, se)
    return total + 160 * 960 + 2 * 960 + 960 * 1280 + 1280 * classes + classes


@pytest.fixture(scope="module")
def reference_supernet():
    return SPACE.supernet(**SPACE.reference_settings)


@pytest.mark.parametrize("arch,layout", [("largest", (4, 7, 6)), ("smallest", (2, 3, 3))])
def test_parameter_counts_of_the_reference_network_match_a_count_by_hand(reference_supernet, arch, layout):
    net = reference_supernet.extract(getattr(SPACE, arch)())
    assert sum(p.numel() for p in net.parameters()) == count_by_hand(*layout)


def test_repair_of_a_one_change_family_changes_one_gene_either_way():
    """Deep small member, shallow large one: shrinking the small or deepening the large costs one change each
    (the large one's idle slots hold 3, 3, no larger than the small one's); the rng decides which."""
    small = SPACE.from_str("-".join(["k3e3"] * 4) + "|k3e3-k3e3" * 4)
    large = SPACE.from_str("k7e6-k7e6" + "|k7e6-k7e6" * 4)
    outcomes = set()
    for seed in range(12):
        repaired = SPACE.repair_chain([small, large], np.random.default_rng(seed))
        assert SPACE.is_chain(repaired)
        changes = sum(x != y for a, b in zip([small, large], repaired) for x, y in zip(a, b))
        assert changes == 1, repaired
        outcomes.add(repaired[0][0] if repaired[0] != small else 10 + repaired[1][0])
    assert outcomes == {2, 14}  # small shrunk to depth 2, or large deepened to 4


def test_recalibrated_supernet_path_equals_the_recalibrated_extracted_network():
    """The evaluator's exactness: BatchNorm statistics gathered along a path of the supernet (sliced, in place)
    are those the standalone network gathers, so the logits agree bit for bit."""
    from regnas.evaluate import recalibrate_module
    from regnas.fast_eval import SubnetEngine

    supernet = randomised_supernet(SPACE)
    generator = torch.Generator().manual_seed(3)
    calibration = [torch.randn(8, 3, 32, 32, generator=generator) for _ in range(3)]
    x = torch.randn(4, 3, 32, 32, generator=generator)
    arch = SPACE.from_str(EXAMPLE)
    plain = recalibrate_module(supernet.extract(arch), calibration)
    engine = SubnetEngine(supernet, calibration, x, batch_size=4)
    engine.take_private_supernet()
    engine.recalibrate(arch)
    with torch.no_grad():
        assert torch.equal(engine.supernet(x, arch), plain(x))
        assert not torch.equal(supernet(x, arch), plain(x))  # the statistics did change


def test_a_checkpoint_carries_the_space_and_its_settings(tmp_path):
    from regnas.errors import CheckpointError
    from regnas.supernet import load_supernet, save_checkpoint

    supernet = randomised_supernet(SPACE)
    path = save_checkpoint(tmp_path / "s.pt", supernet)
    loaded = load_supernet(path, "mobilenetv3", supernet.settings)
    assert loaded.checksum() == supernet.checksum() and loaded.settings["C"] == SPACE.test_settings["C"]
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(loaded.eval()(x, EXAMPLE), supernet(x, EXAMPLE))
    with pytest.raises(CheckpointError, match="settings"):
        load_supernet(path, "mobilenetv3", {**supernet.settings, "C": 8})
    with pytest.raises(CheckpointError, match="holds a 'mobilenetv3' supernet, not 'nasbench201'"):
        load_supernet(path, "nasbench201")
