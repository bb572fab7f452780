"""The GPU paths, skipped without one: training, evaluation against the CPU, a search (AMP: tests/test_amp.py).

A CPU-only machine (CI) skips every test here; benchmarks/bench_device.py runs them on a lent GPU.
"""
from __future__ import annotations

import pytest
import torch

from regnas.evaluate import Evaluator
from regnas.supernet import TrainConfig, load_supernet, read_checkpoint, train_supernet
from search_spaces import get_space

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
SPACE = get_space("nasbench201")


def test_training_on_the_gpu_lowers_the_loss_and_writes_a_checkpoint_the_cpu_reads(small_train_data, tmp_path):
    log = []
    supernet = train_supernet(SPACE.supernet(C=4, N=1), small_train_data, TrainConfig(epochs=3, batch_size=64), progress=False,
                              checkpoint=tmp_path / "gpu.pt", device="cuda", on_epoch_end=log.append)
    assert next(supernet.parameters()).device.type == "cuda"
    assert log[-1]["loss"] < log[0]["loss"]
    saved = read_checkpoint(tmp_path / "gpu.pt")
    assert all(t.device.type == "cpu" for t in saved["state_dict"].values())
    assert load_supernet(tmp_path / "gpu.pt").checksum() == supernet.cpu().checksum()


def test_gpu_predictions_agree_with_the_cpu_up_to_rounding(tiny_supernet, tiny_data, rng):
    """Other kernels round differently: a prediction may change where two logits are within rounding of a tie,
    so on a few images at most, never wholesale."""
    archs = [SPACE.sample(rng) for _ in range(20)] + [SPACE.largest()]
    cpu, gpu = Evaluator(tiny_supernet, tiny_data), Evaluator(tiny_supernet, tiny_data, device="cuda")
    assert cpu.cache_key != gpu.cache_key  # cached apart
    for arch in archs:
        differing = int((cpu.predictions(arch) != gpu.predictions(arch)).sum())
        assert differing <= 0.01 * len(tiny_data.validation), (SPACE.to_str(arch), differing)


def test_a_search_runs_on_the_gpu_and_picks_a_family_within_budget(tmp_path):
    from evolution.search import search
    from regnas.latency import get_platform
    from tests.conftest import tiny_config

    result = search(tiny_config(population=6, generations=2), tmp_path / "run", progress=False, device="cuda")
    assert result.info["supernet"]["checksum"]
    for member, platform in zip(result.family, ("pixel3", "titan_rtx_1")):
        assert get_platform(platform).predict(member["arch"]) <= 10
