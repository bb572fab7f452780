"""Evaluation on a real Dask LocalCluster: same predictions as one process, the engine sent once per worker,
searches that share a cluster kept apart, --scheduler in the CLI, and no worker left after kill -9."""
from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from distributed import Client, LocalCluster

from regnas import eval_dask
from regnas.cli import evolve
from regnas.cli.bench import main as bench_main
from regnas.eval_dask import DaskPool
from regnas.evaluate import Evaluator
from regnas.fast_eval import EngineOptions, SubnetEngine
from search_spaces import get_space
from tests.conftest import TINY, tiny_config
from tests.test_run_folder import children, kill_9_and_wait_for, kill_what_is_left

SPACE = get_space("nasbench201")


def start_cluster(workers: int) -> tuple[LocalCluster, Client]:
    """A cluster of the test's own (as `dask scheduler` + `dask worker --nthreads 1` would be), not regnas's."""
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0",
                           silence_logs=logging.ERROR)
    return cluster, Client(cluster, set_as_default=False)


@pytest.fixture(scope="module")
def cluster():
    cluster, client = start_cluster(2)
    client.run(count_engine_unpickling)
    yield cluster.scheduler_address, client
    client.close()
    cluster.close()


def count_engine_unpickling() -> None:
    """On a worker: count every SubnetEngine unpickled there, however it arrives (plugin or task)."""
    import regnas.fast_eval as fast_eval

    fast_eval.unpickled_here = 0

    def setstate(engine, state):
        fast_eval.unpickled_here += 1
        engine.__dict__.update(state)

    SubnetEngine.__setstate__ = setstate


def engines_unpickled() -> int:
    import regnas.fast_eval as fast_eval

    return fast_eval.unpickled_here


def resident_names() -> list[str]:
    return sorted({name for name, _ in eval_dask._resident})


def tasks_served(name: str) -> int:
    return eval_dask.served[name]


def plugin_names(dask_scheduler) -> list[str]:
    return list(dask_scheduler.worker_plugins)


def distinct_archs(n: int, rng: np.random.Generator) -> list:
    seen: dict[str, tuple] = {}
    for _ in range(100 * n):  # bounded: nasbench201 has 10,405 functional keys, so a few draws suffice
        arch = SPACE.sample(rng)
        seen.setdefault(SPACE.functional_key(arch), arch)
        if len(seen) == n:
            return list(seen.values())
    raise AssertionError(f"{n} distinct functional keys not found in {100 * n} draws")


@pytest.fixture(scope="module")
def archs():
    return distinct_archs(6, np.random.default_rng(7))


@pytest.fixture(scope="module")
def local(tiny_supernet, tiny_data, archs):
    """The single-process Evaluator's predictions (itself checked against extract + recalibrate)."""
    evaluator = Evaluator(tiny_supernet, tiny_data)
    return evaluator, [evaluator.predictions(a) for a in archs]


@pytest.mark.slow
def test_predictions_equal_one_process_with_1_and_2_workers(cluster, tiny_supernet, tiny_data, archs, local):
    reference, expected = local
    one_cluster, one_client = start_cluster(1)
    try:
        for address in (one_cluster.scheduler_address, cluster[0]):
            with Evaluator(tiny_supernet, tiny_data, scheduler=address) as evaluator:
                assert evaluator.cache_key == reference.cache_key  # the cache does not depend on where it ran
                got = evaluator.evaluate_many([*archs, archs[0]])
                assert all(np.array_equal(g, e) for g, e in zip(got, [*expected, expected[0]]))
                assert evaluator.n_computed == len(archs)
                assert evaluator.n_rechecked == reference.n_rechecked
    finally:
        one_client.close()
        one_cluster.close()


def test_tie_rechecks_done_on_the_workers_come_back(cluster, archs, local):
    reference, expected = local
    engine = reference.engine
    recheck_all = SubnetEngine(engine.supernet, engine.calibration, engine.inputs, batch_size=engine.batch_size,
                               options=EngineOptions(tie_tolerance=float("inf")))  # every sample on the exact path
    pool = DaskPool(recheck_all, reference.cache_key, scheduler=cluster[0])
    try:
        results = list(pool.map(archs))
    finally:
        pool.close()
    assert all(np.array_equal(p, e) for (p, _), e in zip(results, expected))
    assert sum(r for _, r in results) == len(archs) * len(engine.inputs)


def test_the_engine_is_sent_once_per_worker_and_removed_at_close(cluster, tiny_supernet, tiny_data):
    address, client = cluster
    before = client.run(engines_unpickled)
    archs = distinct_archs(8, np.random.default_rng(11))
    with Evaluator(tiny_supernet, tiny_data, scheduler=address) as evaluator:
        evaluator.evaluate_many(archs[:4])
        evaluator.evaluate_many(archs[4:])
        name = evaluator._pool.name
        served = client.run(tasks_served, name)
        assert client.run(engines_unpickled) == {worker: count + 1 for worker, count in before.items()}
        assert sum(served.values()) == len(archs) and all(served.values()), served  # spread over both workers
    assert name not in client.run_on_scheduler(plugin_names)
    assert all(name not in names for names in client.run(resident_names).values())


def test_two_supernets_on_one_cluster_stay_apart(cluster, tiny_supernet, tiny_data, archs, local):
    _, expected = local
    other = SPACE.supernet(**TINY, num_classes=tiny_data.num_classes, in_channels=tiny_data.in_channels, init_seed=1)
    other_expected = [Evaluator(other, tiny_data).predictions(a) for a in archs]
    assert any(not np.array_equal(a, b) for a, b in zip(expected, other_expected))  # the test can tell them apart
    first = Evaluator(tiny_supernet, tiny_data, scheduler=cluster[0])
    with Evaluator(other, tiny_data, scheduler=cluster[0]) as second:
        assert all(np.array_equal(g, e) for g, e in zip(first.evaluate_many(archs[:3]), expected))
        assert all(np.array_equal(g, e) for g, e in zip(second.evaluate_many(archs[:3]), other_expected))
        first.close()  # removes only its own engine
        assert all(np.array_equal(g, e) for g, e in zip(second.evaluate_many(archs[3:]), other_expected[3:]))


@pytest.mark.slow
def test_scheduler_search_gives_the_local_front(cluster, tmp_path, tiny_data):
    from evolution.session import obtain_supernet

    _, path = obtain_supernet(tiny_config(), SPACE, tiny_data, progress=False)  # the tiny supernet, cached
    config = tmp_path / "config.json"
    config.write_text(json.dumps(tiny_config(generations=2, supernet=str(path)).to_dict()))
    runs = {}
    for name, flags in {"local": ["--workers", "1"], "cluster": ["--scheduler", cluster[0]]}.items():
        assert evolve.main(["--config", str(config), "--out", str(tmp_path / name), "--quiet", *flags]) == 0
        runs[name] = json.loads((tmp_path / name / "result.json").read_text())
    assert runs["cluster"]["front"] == runs["local"]["front"] and runs["cluster"]["family"] == runs["local"]["family"]


def test_bad_or_unreachable_scheduler_is_one_line_exit_2(tmp_path, capsys, monkeypatch):
    out = ["--out", str(tmp_path / "run"), "--quiet"]
    cases = {
        "localhost:8786": "is not a Dask scheduler address tcp://HOST:PORT",
        "tcp://127.0.0.1:99999": "is not a Dask scheduler address tcp://HOST:PORT",
    }
    for address, message in cases.items():
        assert evolve.main(["--scheduler", address, *out]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err and repr(address) in err, err
    assert evolve.main(["--scheduler", "tcp://127.0.0.1:8786", "--workers", "2", *out]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "give one of them" in err, err
    monkeypatch.setattr(eval_dask, "CONNECT_TIMEOUT_S", 2)
    start = time.monotonic()
    assert evolve.main(["--scheduler", "tcp://127.0.0.1:9", "--space", "nasbench201", *out]) == 2
    err = capsys.readouterr().err
    assert time.monotonic() - start < 30  # 2 s to connect; the rest is imports and checks on a loaded machine
    assert err.count("\n") == 1 and "cannot reach the Dask scheduler tcp://127.0.0.1:9 within 2 s" in err, err
    assert not (tmp_path / "run").exists()


def test_a_scheduler_without_workers_is_refused_in_bounded_time(monkeypatch):
    monkeypatch.setattr(eval_dask, "WORKER_TIMEOUT_S", 1)
    with LocalCluster(n_workers=0, processes=False, protocol="tcp", dashboard_address=":0", silence_logs=logging.ERROR) as empty:
        with pytest.raises(eval_dask.ConfigError, match="has no worker after 1 s"):
            eval_dask.connect(empty.scheduler_address)


def test_scheduler_may_change_on_resume():
    p = evolve.parser()
    evolve.check_resume_flags(p, p.parse_args(["--resume", "runs/x", "--scheduler", "tcp://127.0.0.1:8786"]))


CHILD = """
import sys

import numpy as np
from regnas.data import load_data
from regnas.eval_dask import DaskPool
from regnas.evaluate import Evaluator
from search_spaces import get_space

if __name__ == "__main__":
    space = get_space("nasbench201")
    data = load_data("default", seed=0, calibration_size=128, validation_size=300, test_size=300)
    supernet = space.supernet(C=4, N=1, num_classes=data.num_classes, in_channels=data.in_channels, init_seed=0)
    evaluator = Evaluator(supernet, data)
    pool = DaskPool(evaluator.engine, evaluator.cache_key, scheduler=sys.argv[1] or None, workers=2)
    rng = np.random.default_rng(0)
    list(pool.map([space.sample(rng) for _ in range(2)]))
    print("evaluating", pool.name, flush=True)
    while True:
        list(pool.map([space.sample(rng) for _ in range(4)]))
"""


def start_child(tmp_path, scheduler: str = "") -> tuple[subprocess.Popen, str]:
    """A process evaluating random cells on a DaskPool, once it runs; and its plugin's name."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    with open(tmp_path / "stdout", "w") as out, open(tmp_path / "stderr", "w") as err:
        process = subprocess.Popen([sys.executable, "-c", CHILD, scheduler], env=env, stdout=out, stderr=err,
                                   start_new_session=True)
    deadline = time.monotonic() + 120
    while "evaluating" not in (tmp_path / "stdout").read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the evaluating child did not start: {(tmp_path / 'stderr').read_text()}")
        time.sleep(0.1)
    return process, (tmp_path / "stdout").read_text().split()[1]


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_kill_9_leaves_no_worker_of_a_local_cluster(tmp_path):
    process, _ = start_child(tmp_path)
    spawned: dict[int, str] = {}
    try:
        spawned = children(process.pid)
        assert sum("spawn_main" in cmd for cmd in spawned.values()) >= 2, spawned  # the two dask workers
        kill_9_and_wait_for(process, spawned)
    finally:
        kill_what_is_left([process.pid, *spawned])


@pytest.mark.slow
def test_kill_9_of_a_search_on_a_cluster_removes_its_engine_there(cluster, tmp_path):
    address, client = cluster
    process, name = start_child(tmp_path, address)
    try:
        assert name in client.run_on_scheduler(plugin_names)
        assert all(name in names for names in client.run(resident_names).values())
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=60)
        deadline = time.monotonic() + 5 * eval_dask.LEASE_CHECK_S + 10
        while name in client.run_on_scheduler(plugin_names) or any(
                name in names for names in client.run(resident_names).values()):
            assert time.monotonic() < deadline, "the engine of a killed search is still installed on the cluster"
            time.sleep(0.2)
    finally:
        if process.poll() is None:
            process.kill()
    assert len(client.scheduler_info()["workers"]) == 2  # the cluster's workers are not ours to stop


@pytest.mark.slow
def test_exact_front_on_a_cluster_is_the_local_one(cluster, tmp_path, tiny_supernet):
    from evolution.exact_run import run_exact_front

    address, client = cluster
    local = run_exact_front(tmp_path / "local", limit=40, progress=False, config=tiny_config())
    before = client.run(engines_unpickled)
    remote = run_exact_front(tmp_path / "cluster", limit=40, progress=False, config=tiny_config(), scheduler=address)
    assert client.run(engines_unpickled) == {worker: count + 1 for worker, count in before.items()}  # it ran there
    assert remote["keys_computed_now"] == local["keys_computed_now"] == 40
    assert remote["hypervolume"] == local["hypervolume"] and remote["front_points"] == local["front_points"]
    assert (tmp_path / "cluster" / "front.json").read_text() == (tmp_path / "local" / "front.json").read_text()


def test_exact_front_refuses_a_scheduler_with_workers(tmp_path, capsys):
    code = bench_main(["exact-front", "--out", str(tmp_path / "x"), "--scheduler", "tcp://127.0.0.1:1", "--workers", "2"])
    assert code == 2
    err = capsys.readouterr().err
    assert "--scheduler tcp://127.0.0.1:1 and --workers 2 both spread the evaluation" in err and err.count("\n") == 1
    assert not (tmp_path / "x").exists()
