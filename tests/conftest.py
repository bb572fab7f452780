"""Shared fixtures: small real data, a small real supernet trained on it, and a finished tiny search run."""
from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from evolution.config import SearchConfig
from regnas.data import load_data


def _shared_data_folder() -> Path:
    """$REGNAS_SHARED_DATA, else ../shared/data beside the checkout, else the workplace's /work/shared/data."""
    candidates = [Path(os.environ["REGNAS_SHARED_DATA"])] if "REGNAS_SHARED_DATA" in os.environ else []
    candidates += [Path(__file__).resolve().parents[2] / "shared" / "data", Path("/work/shared/data")]
    return next((c for c in candidates if c.is_dir()), candidates[0])


SHARED_DATA = _shared_data_folder()
TINY = {"C": 4, "N": 1}


def sigint_as_in_a_terminal() -> None:
    """``Popen(preexec_fn=...)`` for tests that press Ctrl-C: a background job of a shell (CI started with
    ``&``) inherits SIGINT ignored, and Python then never raises KeyboardInterrupt; a terminal has the default."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def tiny_config(**overrides: object) -> SearchConfig:
    """A real search on the embedded data, small enough for tests: C=4, N=1, one training epoch."""
    values = dict(supernet_settings=dict(TINY), train_epochs=1, population=8, generations=4,
                  calibration_size=128, validation_size=300, test_size=300, seed=0)
    values.update(overrides)
    return SearchConfig(**values)


@pytest.fixture(scope="session", autouse=True)
def one_thread() -> Iterator[None]:
    """One intra-op thread: results do not depend on the machine's core count, and a busy machine does not
    slow the suite down by the factor oversubscribed OpenMP threads cost. Restored after the session."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="session", autouse=True)
def regnas_cache(tmp_path_factory) -> Iterator[Path]:
    """Quick supernets are cached here, not in the user's ~/.cache; $REGNAS_CACHE is restored afterwards."""
    path = tmp_path_factory.mktemp("regnas-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REGNAS_CACHE", str(path))
        yield path


@pytest.fixture(scope="session")
def tiny_data():
    return load_data("default", seed=0, calibration_size=128, validation_size=300, test_size=300)


@pytest.fixture(scope="session")
def small_train_data(tiny_data):
    """``tiny_data`` with only its first 256 training images: a few steps of supernet training."""
    import dataclasses

    return dataclasses.replace(tiny_data, train=tiny_data.train.subset(np.arange(256)))


@pytest.fixture(scope="session")
def tiny_supernet(tiny_data):
    """A real NAS-Bench-201 supernet (C=4, N=1) trained for one epoch on the embedded images."""
    from evolution.session import obtain_supernet
    from search_spaces import get_space

    supernet, _ = obtain_supernet(tiny_config(), get_space("nasbench201"), tiny_data, progress=False)
    return supernet


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, tiny_supernet) -> Path:
    """A finished tiny search run folder (config.json, history.jsonl, result.json, pareto.csv, pareto.png)."""
    from evolution.search import search

    run_dir = tmp_path_factory.mktemp("runs") / "tiny"
    search(tiny_config(), run_dir, progress=False)
    return run_dir


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The workplace's real data (full CIFAR-10, NAS-Bench-201 table); tests that need it skip without it."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data folder {SHARED_DATA} is not present (set REGNAS_SHARED_DATA)")
    return SHARED_DATA


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)
