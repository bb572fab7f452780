"""Contract suite every registered search space passes, parametrised over the registry, each space at its own
small test settings and input shape (``SearchSpace.test_settings``, ``SearchSpace.test_input_shape``)."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from regnas.errors import ConfigError, DuplicateNameError, InvalidArchError, UnknownNameError
from search_spaces import SearchSpace, get_space, list_spaces, register_space

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
    archs = sample_many(space, rng, 60) + space.maximal()
    for a in archs:
        assert space.is_nested(a, a)
        assert any(space.is_nested(a, top) for top in space.maximal())
    for a, b in itertools.product(archs, repeat=2):
        if space.is_nested(a, b) and space.is_nested(b, a):
            assert space.footprint(a) == space.footprint(b)
    for a, b, c in itertools.product(archs[:25], repeat=3):
        if space.is_nested(a, b) and space.is_nested(b, c):
            assert space.is_nested(a, c)


def test_nesting_holds_group_by_group(space, rng):
    """``nesting_groups`` partition the genes, and ``a ⊑ b`` iff on every group alone (a's values there, b's
    elsewhere) the result is nested in b: what lets column crossover move whole groups between nested parents."""
    groups = space.nesting_groups
    assert sorted(g for group in groups for g in group) == list(range(space.n_genes))
    pairs = [tuple(space.sample_family(2, rng)) for _ in range(100)] + [(space.sample(rng), space.sample(rng)) for _ in range(200)]
    for a, b in pairs:
        alone = [tuple(a[g] if g in group else b[g] for g in range(space.n_genes)) for group in groups]
        assert space.is_nested(a, b) == all(space.is_nested(x, b) for x in alone), (a, b)


def test_maximal_networks_are_nested_in_no_other(space, rng):
    """``maximal()`` holds ``largest()`` (the network with the most parameters of all sampled here); no
    maximal network is nested in another architecture (another maximal one or a sampled one)."""
    tops = space.maximal()
    assert space.largest() in tops and len(set(tops)) == len(tops)
    for top in tops:
        for other in tops + sample_many(space, rng, 100):
            assert other == top or not space.is_nested(top, other), (top, other)
    supernet = space.supernet(**{**space.supernet_defaults, **space.test_settings, "in_channels": space.test_input_shape[0]})
    size = {arch: sum(p.numel() for p in supernet.extract(arch).parameters()) for arch in tops + sample_many(space, rng, 30)}
    assert max(size.values()) == size[space.largest()]


def hamming(family_a, family_b) -> int:
    return sum(x != y for a, b in zip(family_a, family_b) for x, y in zip(a, b))


def one_gene_changes(space, family):
    """Every family that differs from ``family`` in exactly one gene of one member."""
    for k, arch in enumerate(family):
        for gene, values in enumerate(g.choices for g in space.genes):
            for value in values:
                if value != arch[gene]:
                    yield [*family[:k], arch[:gene] + (value,) + arch[gene + 1:], *family[k + 1:]]


@pytest.mark.parametrize("k", [2, 3])
def test_repair_changes_the_fewest_genes(space, rng, k):
    """Families one or two gene changes away from a random chain: the repair changes no more genes than
    that, and no chain lies closer (every family one change nearer is checked, independently of the repair)."""
    tried = 0
    while tried < 40:
        chain = space.sample_family(k, rng)
        family = [list(a) for a in chain]
        for _ in range(int(rng.integers(1, 3))):
            member, gene = int(rng.integers(k)), int(rng.integers(space.n_genes))
            choices = space.genes[gene].choices
            family[member][gene] = choices[int(rng.integers(len(choices)))]
        family = [tuple(a) for a in family]
        if space.is_chain(family):
            continue
        tried += 1
        repaired = space.repair_chain(family, rng)
        changes = hamming(family, repaired)
        assert space.is_chain(repaired) and 1 <= changes <= hamming(family, chain), (family, repaired)
        if changes == 2:  # then no single change may give a chain
            assert not any(space.is_chain(c) for c in one_gene_changes(space, family)), (family, repaired)


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


def test_settings_are_declared_and_checked(space):
    names = [s.name for s in space.settings]
    assert set(space.test_settings) == set(space.quick_settings) == set(space.reference_settings) == set(names)
    assert space.check_settings(space.test_settings) == space.test_settings
    assert space.parse_settings([f"{k}={v}" for k, v in space.quick_settings.items()]) == space.quick_settings
    with pytest.raises(ConfigError, match=f"unknown {space.name} setting 'no_such_setting'; allowed: {', '.join(names)}"):
        space.parse_settings(["no_such_setting=1"])
    for setting in space.settings:
        with pytest.raises(ConfigError, match=f"{space.name} setting {setting.name}='x' is not an integer; allowed: "):
            space.parse_settings([f"{setting.name}=x"])
        with pytest.raises(ConfigError, match=f"{setting.name}={setting.low - 1} is out of range"):
            space.parse_settings([f"{setting.name}={setting.low - 1}"])


def test_the_learning_rate_a_space_trains_with_is_allowed(space):
    from regnas.supernet import TrainConfig, default_learning_rate

    assert space.learning_rate is None or isinstance(space.learning_rate, float)
    TrainConfig(learning_rate=default_learning_rate(space))  # in TRAIN_RANGES, else a ConfigError


def randomised_supernet(space):
    """An untrained supernet whose BatchNorms have random affine parameters and statistics: every op then
    leaves a trace (a zero BatchNorm shift would hide a convolution that reads an all-zero node)."""
    supernet = space.supernet(**{**space.supernet_defaults, **space.test_settings,
                                 "in_channels": space.test_input_shape[0]}, init_seed=0)
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for module in supernet.modules():
            if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
                module.weight.copy_(0.5 + torch.rand(module.weight.shape, generator=generator))
                module.bias.copy_(torch.randn(module.bias.shape, generator=generator))
                module.running_mean.copy_(0.1 * torch.randn(module.running_mean.shape, generator=generator))
                module.running_var.copy_(0.5 + torch.rand(module.running_var.shape, generator=generator))
    return supernet.eval()


MAX_CHANGES = 24  # single-gene changes tried per architecture (all of NAS-Bench-201's 6 x 4)


def test_functional_key_is_equal_exactly_when_the_extracted_networks_compute_the_same(space, rng):
    """Checked on ``extract(arch)``, the plain network, not on the supernet path (which may use the same
    liveness rule as the key). For each sampled arch and every single-gene change of it (MAX_CHANGES of them,
    drawn at random, where there are more): an unchanged key means an unchanged output (a shared cache entry
    is right), and a changed key a changed output, bar
    a few cases where a key may be conservative (in NAS-Bench-201 a 1x1 and a 3x3 convolution reading an
    all-zero node both add only their BatchNorm shift). The arch of the key, where it parses, computes the same."""
    from regnas.errors import InvalidArchError

    supernet = randomised_supernet(space)
    x = torch.randn(2, *space.test_input_shape, generator=torch.Generator().manual_seed(0))
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
        changes = [(gene, choice) for gene, g in enumerate(space.genes) for choice in g.choices if choice != arch[gene]]
        if len(changes) > MAX_CHANGES:  # a space of many genes: a random subset keeps the test quick
            changes = [changes[i] for i in sorted(rng.choice(len(changes), MAX_CHANGES, replace=False))]
        for gene, choice in changes:
            other = arch[:gene] + (choice,) + arch[gene + 1:]
            if space.functional_key(other) == key:
                assert same(arch, other), f"{arch} and {other} share a key but compute differently"
                kept += 1
            else:
                changed += 1
                if same(arch, other):
                    changed_but_same.append((arch, other))
    assert changed > 20
    if type(space).functional_key is not SearchSpace.functional_key:  # a space with twins: keys were shared
        assert kept > 20
    assert len(changed_but_same) <= 0.02 * changed, f"{len(changed_but_same)} of {changed}: {changed_but_same[:3]}"


def test_extract_equals_the_supernet_path(space, rng):
    supernet = randomised_supernet(space)
    x = torch.randn(3, *space.test_input_shape, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        for arch in sample_many(space, rng, 10) + [space.largest()]:
            assert torch.equal(supernet(x, arch), supernet.extract(arch).eval()(x)), space.to_str(arch)


def is_slice(small: torch.Tensor, large: torch.Tensor) -> bool:
    """Whether ``small`` equals ``large[o_1:o_1+s_1, ...]`` for some offsets."""
    if small.dim() != large.dim() or any(s > l for s, l in zip(small.shape, large.shape)):
        return False
    ranges = [range(l - s + 1) for s, l in zip(small.shape, large.shape)]
    for offsets in itertools.product(*ranges):
        window = large[tuple(slice(o, o + s) for o, s in zip(offsets, small.shape))]
        if torch.equal(window, small):
            return True
    return False


def test_nesting_is_proven_by_weights(space, rng):
    """For random nested pairs a ⊑ b, every tensor (parameter and buffer) of extract(a) is a slice of the tensor
    of the same name in extract(b). A tensor is searchable when some architecture lacks it or has it in
    another shape; every pair must compare at least one, so that a pair of shared trunks proves nothing."""
    supernet = randomised_supernet(space)

    def tensors(arch) -> dict[str, torch.Tensor]:
        return dict(supernet.extract(arch).state_dict())

    probes = [tensors(a) for a in sample_many(space, rng, 30) + [space.largest()]]
    shapes: dict[str, set] = {}
    for probe in probes:
        for name, tensor in probe.items():
            shapes.setdefault(name, set()).add(tuple(tensor.shape))
    fixed = {name for name, seen in shapes.items() if len(seen) == 1 and all(name in p for p in probes)}
    pairs, skipped = 0, 0
    while pairs < 12:
        small, large = space.sample_family(2, rng)
        assert space.is_nested(small, large)
        a, b = tensors(small), tensors(large)
        searchable = [name for name in a if name not in fixed]
        if not searchable:  # e.g. a NAS-Bench-201 cell of parameter-free ops only
            skipped += 1
            assert skipped <= 12, "nested pairs hardly ever use a searchable tensor"
            continue
        pairs += 1
        for name, tensor in a.items():
            assert name in b, f"{space.to_str(small)} has {name}, {space.to_str(large)} not"
            assert is_slice(tensor, b[name]), f"{name} of {space.to_str(small)} is no slice of {space.to_str(large)}'s"


def test_profiling_hooks_price_every_op_of_the_ops_scheme(space, rng):
    hooks = space.profiling_hooks()
    if hooks is None:
        pytest.skip(f"{space.name} gives no profiling hooks")
    settings = {**space.supernet_defaults, **space.test_settings, "in_channels": space.test_input_shape[0]}
    timed = set(hooks.op_keys(settings, space.test_input_shape))
    for arch in sample_many(space, rng, 50) + [space.largest()]:
        assert set(space.layers(arch, settings, space.test_input_shape)) <= timed


def test_key_schemes_are_the_spaces_own(space, rng):
    from regnas.latency.schemes import get_key_scheme, list_key_schemes

    assert {"ops", "arch"} <= set(list_key_schemes(space))
    settings = {**space.supernet_defaults, **space.test_settings}
    for name, scheme in space.key_schemes().items():
        assert scheme.space == space.name and scheme.name == name and get_key_scheme(space, name) is scheme
        codes = np.array([space.encode(a) for a in sample_many(space, rng, 5)])
        vocabulary, counts = scheme.count_matrix(space, codes, settings, space.test_input_shape)
        for row, arch in zip(np.asarray(counts.todense() if hasattr(counts, "todense") else counts), codes):
            keys = scheme.keys(space.decode(arch), settings, space.test_input_shape)
            assert {vocabulary[j]: int(c) for j, c in enumerate(row) if c} == {k: keys.count(k) for k in set(keys)}


def test_the_default_problem_limits_every_member_and_the_largest_network_breaks_the_first(space):
    """``regnas-evolve --space NAME`` with no platforms or budgets poses the space's own problem: two or more
    members, each with a limit, the first one's broken by the largest network (priced as the search prices it:
    its platform's table, or the extracted network of the quick supernet)."""
    from evolution.config import SearchConfig
    from regnas.budgets import make_budgets
    from regnas.latency import get_platform
    from regnas.model_stats import ModelStats

    config = SearchConfig(space=space.name)
    budgets = make_budgets(config.member_names, config.platforms, config.budgets)
    assert config.members >= 2 and [b.member for b in budgets] == list(range(config.members))
    first = budgets[0]
    if first.kind == "latency":
        cost = get_platform(first.platform).predict(space.largest())
    else:
        stats = ModelStats(space.supernet(**{**space.supernet_defaults, **config.supernet_settings}))
        cost = stats.params(space.largest()) if first.kind == "params" else stats.flops(space.largest())
    assert cost > first.limit, (space.name, first.name, cost)


def test_the_tables_a_space_ships_are_platforms_of_its_reference_network(space, rng):
    """A shipped table is registered under its file's name, prices this space's reference network, and prices
    the largest network above every one of 200 random ones."""
    from regnas.latency import get_platform, list_platforms

    tables = space.latency_tables()
    if not tables:
        pytest.skip(f"{space.name} ships no latency table in its folder")
    assert set(tables) <= set(list_platforms())
    others = sample_many(space, rng, 200)
    for name in tables:
        table = get_platform(name)
        assert table.meta["space"] == space.name and table.meta["settings"] == space.reference_settings
        assert table.predict(space.largest()) > max(table.predict(a) for a in others)
