"""Evaluator against the plain extract + recalibrate path on a real tiny supernet: exactness, cache, workers."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from regnas.evaluate import Evaluator, recalibrate_module
from regnas.fast_eval import EngineOptions, SubnetEngine, chunk_bounds, intra_op_threads
from search_spaces import get_space

SPACE = get_space("nasbench201")
C3, C1, SKIP, POOL, NONE = "nor_conv_3x3", "nor_conv_1x1", "skip_connect", "avg_pool_3x3", "none"
ARCHS = [
    SPACE.largest(),
    (NONE,) * 6,
    (C3, SKIP, NONE, C1, NONE, NONE),  # nodes 1 and 2 never reach the output: edges 0 and 1 are dead
    (NONE, NONE, POOL, SKIP, NONE, SKIP),  # parameter-free ops reading the zero node 1: dead
    (NONE, NONE, C3, SKIP, NONE, SKIP),  # a convolution reading a zero node still adds its BN shift: live
    (C1, POOL, C3, SKIP, C1, POOL),
]


_NAIVE: dict[tuple[str, str], np.ndarray] = {}


def naive_predictions(supernet, data, arch, split="validation") -> np.ndarray:
    """The reference: extract the subnet, recalibrate its BatchNorms, evaluate it in batches of 500.

    One thread only to keep the suite quick on shared cores (the thread count changes no logit; the
    two-thread engine test checks that); memoised per tiny supernet, which is one per session."""
    key = (SPACE.to_str(arch), split)
    if key not in _NAIVE:
        module = recalibrate_module(supernet.extract(arch), [x for x, _ in data.batches(data.calibration, len(data.calibration))])
        with torch.inference_mode(), intra_op_threads(1):
            logits = [module(x) for x, _ in data.batches(getattr(data, split), 500)]
        _NAIVE[key] = torch.cat(logits).argmax(dim=1).numpy()
    return _NAIVE[key]


@pytest.fixture(scope="module")
def evaluator(tiny_supernet, tiny_data):
    return Evaluator(tiny_supernet, tiny_data)


@pytest.mark.parametrize("arch", ARCHS, ids=lambda a: SPACE.to_str(a))
def test_predictions_equal_the_extracted_subnet(evaluator, tiny_supernet, tiny_data, arch):
    assert np.array_equal(evaluator.predictions(arch), naive_predictions(tiny_supernet, tiny_data, arch))


def test_random_archs_on_the_test_split_equal_the_extracted_subnet(tiny_supernet, tiny_data, rng):
    evaluator = Evaluator(tiny_supernet, tiny_data, split="test", batch_size=64)
    for _ in range(4):
        arch = SPACE.sample(rng)
        expected = naive_predictions(tiny_supernet, tiny_data, arch, split="test")
        assert np.array_equal(evaluator.predictions(arch), expected), SPACE.to_str(arch)
        assert evaluator.accuracy(arch) == pytest.approx(np.mean(expected == tiny_data.test.labels.numpy()))


@pytest.mark.parametrize("options", [
    EngineOptions(channels_last=False, chunk_size=500),
    EngineOptions(chunk_size=3),
    EngineOptions(tie_tolerance=float("inf")),  # every sample goes through the exact recheck
    EngineOptions(threads=2),
], ids=["contiguous", "chunks-of-3", "recheck-all", "two-threads"])
def test_engine_options_change_no_prediction(evaluator, tiny_supernet, tiny_data, options):
    engine = SubnetEngine(evaluator.supernet, evaluator.engine.calibration, evaluator.engine.inputs,
                          batch_size=500, options=options)
    archs = ARCHS[-1:] if options.threads > 1 else ARCHS[:3] + ARCHS[-1:]  # two threads crawl on shared cores
    for arch in archs:
        assert np.array_equal(engine.predictions(arch), naive_predictions(tiny_supernet, tiny_data, arch))
    if options.tie_tolerance == float("inf"):
        assert engine.n_rechecked == len(archs) * len(tiny_data.validation)


def test_a_single_rechecked_sample_is_exact(evaluator, tiny_supernet, tiny_data):
    arch = ARCHS[-1]
    engine = evaluator.engine
    with torch.inference_mode():
        engine.recalibrate(arch)
        for index in (0, 17, len(tiny_data.validation) - 1):
            got = engine._recompute(arch, torch.tensor([index]))
            assert got.tolist() == [naive_predictions(tiny_supernet, tiny_data, arch)[index]]


def test_chunks_never_leave_a_single_image():
    assert chunk_bounds(10, 3) == [(0, 3), (3, 6), (6, 10)]
    assert chunk_bounds(9, 3) == [(0, 3), (3, 6), (6, 9)]
    assert chunk_bounds(1, 4) == [(0, 1)]
    for n in range(1, 40):
        bounds = chunk_bounds(n, 4)
        assert bounds[0][0] == 0 and bounds[-1][1] == n and all(a[1] == b[0] for a, b in zip(bounds, bounds[1:]))
        assert n == 1 or min(b - a for a, b in bounds) >= 2


def test_archs_that_differ_only_in_dead_ops_share_one_entry(tiny_supernet, tiny_data):
    evaluator = Evaluator(tiny_supernet, tiny_data)
    first, second = (C3, SKIP, NONE, C1, NONE, NONE), (POOL, C1, C3, C1, NONE, NONE)  # edges 0-2 dead in both
    assert evaluator.key(first) == evaluator.key(second) != evaluator.key(SPACE.largest())
    predictions = evaluator.predictions(first)
    assert evaluator.is_cached(second) and not evaluator.is_cached(SPACE.largest())
    assert evaluator.predictions(second) is predictions
    assert evaluator.n_computed == 1
    assert np.array_equal(predictions, naive_predictions(tiny_supernet, tiny_data, second))


def test_cache_file_round_trips_and_is_tied_to_the_supernet(tiny_supernet, tiny_data, tmp_path):
    evaluator = Evaluator(tiny_supernet, tiny_data, cache_dir=tmp_path)
    expected = [evaluator.predictions(a) for a in ARCHS[:3]]
    evaluator.save_cache()
    assert evaluator.cache_file.exists()
    reloaded = Evaluator(tiny_supernet, tiny_data, cache_dir=tmp_path)
    assert all(reloaded.is_cached(a) for a in ARCHS[:3])
    assert all(np.array_equal(reloaded.predictions(a), e) for a, e in zip(ARCHS[:3], expected))
    assert reloaded.n_computed == 0
    other = get_space("nasbench201").supernet(**tiny_supernet.settings)
    assert not Evaluator(other, tiny_data, cache_dir=tmp_path).is_cached(ARCHS[0])
    assert not Evaluator(tiny_supernet, tiny_data, split="test", cache_dir=tmp_path).is_cached(ARCHS[0])


def test_the_cache_is_keyed_by_the_exact_images_of_the_split_and_of_the_calibration(tiny_supernet, tiny_data, tmp_path):
    """Another data seed (other validation images) or other calibration images never reuse cached predictions."""
    import dataclasses
    import warnings

    from regnas.data import load_data

    first = Evaluator(tiny_supernet, tiny_data, cache_dir=tmp_path)
    first.predictions(ARCHS[-1])
    first.save_cache()
    seed1 = load_data("default", seed=1, calibration_size=128, validation_size=300, test_size=300)
    recalibrated = dataclasses.replace(tiny_data, calibration=tiny_data.calibration.subset(np.arange(64)))
    for data in (seed1, recalibrated):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a clean miss: another file name, not a refused file
            other = Evaluator(tiny_supernet, data, cache_dir=tmp_path)
        assert other.cache_file != first.cache_file and not other.is_cached(ARCHS[-1])
        assert np.array_equal(other.predictions(ARCHS[-1]), naive_predictions_on(tiny_supernet, data, ARCHS[-1]))
    # A file renamed to another run's name is refused by the key stored inside it.
    other = Evaluator(tiny_supernet, seed1, cache_dir=tmp_path)
    other.cache_file.write_bytes(first.cache_file.read_bytes())
    with pytest.warns(UserWarning, match="written for other inputs"):
        assert not Evaluator(tiny_supernet, seed1, cache_dir=tmp_path).is_cached(ARCHS[-1])


@pytest.mark.parametrize("damage", ["truncated", "garbage", "wrong-shape"])
def test_a_damaged_cache_file_is_ignored_with_a_warning_and_recomputed(tiny_supernet, tiny_data, tmp_path, damage):
    evaluator = Evaluator(tiny_supernet, tiny_data, cache_dir=tmp_path)
    expected = evaluator.predictions(ARCHS[-1])
    evaluator.save_cache()
    path = evaluator.cache_file
    if damage == "truncated":
        path.write_bytes(path.read_bytes()[:200])
    elif damage == "garbage":
        path.write_bytes(b"\x93NUMPY garbage" * 10)
    else:
        entries = dict(np.load(path))
        entries = {k: (v[:-1] if k.startswith("|") else v) for k, v in entries.items()}
        np.savez(path, **entries)
    with pytest.warns(UserWarning, match=f"ignoring prediction cache '{path}'"):
        reloaded = Evaluator(tiny_supernet, tiny_data, cache_dir=tmp_path)
    assert not reloaded.is_cached(ARCHS[-1])
    assert np.array_equal(reloaded.predictions(ARCHS[-1]), expected)


def naive_predictions_on(supernet, data, arch) -> np.ndarray:
    module = recalibrate_module(supernet.extract(arch), [x for x, _ in data.batches(data.calibration, len(data.calibration))])
    with torch.inference_mode(), intra_op_threads(1):
        return torch.cat([module(x) for x, _ in data.batches(data.validation, 500)]).argmax(dim=1).numpy()


def test_the_callers_supernet_and_thread_setting_are_left_alone(tiny_supernet, tiny_data):
    before = {k: v.clone() for k, v in tiny_supernet.state_dict().items()}
    training = tiny_supernet.training
    threads = torch.get_num_threads()
    evaluator = Evaluator(tiny_supernet, tiny_data)
    for arch in ARCHS:
        evaluator.predictions(arch)
    after = tiny_supernet.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert tiny_supernet.training == training
    assert torch.get_num_threads() == threads
    with intra_op_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == threads


def test_same_inputs_give_the_same_predictions(tiny_supernet, tiny_data, rng):
    archs = [SPACE.sample(rng) for _ in range(3)]
    first = Evaluator(tiny_supernet, tiny_data, batch_size=7).evaluate_many(archs)
    second = Evaluator(tiny_supernet, tiny_data, batch_size=500).evaluate_many(archs)
    assert all(np.array_equal(a, b) for a, b in zip(first, second))


def test_worker_processes_give_the_same_predictions(evaluator, tiny_supernet, tiny_data):
    archs = ARCHS + [(POOL, C1, C3, C1, NONE, NONE)]  # the last shares its key with ARCHS[2]
    with Evaluator(tiny_supernet, tiny_data, workers=2) as parallel:
        got = parallel.evaluate_many([SPACE.to_str(a) for a in archs])
        assert parallel.n_computed == len(ARCHS)
        assert all(parallel.is_cached(a) for a in archs)
    assert all(np.array_equal(g, evaluator.predictions(a)) for g, a in zip(got, archs))
    assert np.array_equal(got[2], got[-1])


@pytest.mark.parametrize("kwargs, message", [
    ({"split": "valid"}, "unknown split 'valid'; allowed: validation, test, calibration, train"),
    ({"batch_size": 0}, "must be positive"),
    ({"workers": 0}, "must be positive"),
])
def test_bad_arguments_are_refused(tiny_supernet, tiny_data, kwargs, message):
    with pytest.raises(ValueError, match=message):
        Evaluator(tiny_supernet, tiny_data, **kwargs)
