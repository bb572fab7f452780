"""Sub-network evaluation on a Dask cluster: the engine resident on each worker (a worker plugin), tasks carry archs."""
from __future__ import annotations

import contextlib
import ctypes
import functools
import logging
import re
import sys
import threading
from collections import Counter
from collections.abc import Iterator, Sequence

import numpy as np
import torch
from distributed import Client, LocalCluster, WorkerPlugin, get_worker
from tornado.ioloop import PeriodicCallback

from regnas import __version__
from regnas.errors import ConfigError
from regnas.fast_eval import SubnetEngine
from search_spaces.base import Arch

CONNECT_TIMEOUT_S = 10  # to reach the scheduler
WORKER_TIMEOUT_S = 10  # then for a first worker to be there
CLOSE_TIMEOUT_S = 10
LEASE_CHECK_S = 2  # how often a worker asks whether the search that installed an engine is still there
PLUGIN_PREFIX = "regnas-engine-"
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc malloc.h
MMAP_THRESHOLD_BYTES = 32 << 20  # glibc's largest (DEFAULT_MMAP_THRESHOLD_MAX on 64 bits)
_ADDRESS = re.compile(r"^tcp://(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9][A-Za-z0-9.\-]*):(\d{1,5})$")

# On a worker: the engines its plugins installed, by (plugin name, worker address); several workers may share
# a process (a threaded cluster), so the address is part of the key.
_resident: dict[tuple[str, str], tuple[SubnetEngine, threading.Lock]] = {}
served: Counter[str] = Counter()  # tasks this process ran, by plugin name (tests count them)


def check_scheduler_address(address: str) -> str:
    """``address`` if it is ``tcp://HOST:PORT``, else a one-line ConfigError."""
    match = _ADDRESS.match(address) if isinstance(address, str) else None
    if match is None or not 0 < int(match.group(2)) < 65536:
        raise ConfigError(f"--scheduler {address!r} is not a Dask scheduler address tcp://HOST:PORT "
                          "(PORT 1-65535), e.g. tcp://10.0.0.5:8786")
    return address


def connect(address: str) -> Client:
    """A client of the scheduler at ``address`` whose cluster runs this regnas, or a one-line ConfigError within
    ``CONNECT_TIMEOUT_S + 2 * WORKER_TIMEOUT_S`` seconds."""
    check_scheduler_address(address)
    try:
        client = Client(address, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
    except (OSError, TimeoutError) as error:
        raise ConfigError(f"cannot reach the Dask scheduler {address} within {CONNECT_TIMEOUT_S} s "
                          f"({type(error).__name__}); start one with `dask scheduler` or fix --scheduler") from None
    try:
        client.wait_for_workers(1, timeout=WORKER_TIMEOUT_S)
    except (OSError, TimeoutError):
        client.close(timeout=CLOSE_TIMEOUT_S)
        raise ConfigError(f"the Dask scheduler {address} has no worker after {WORKER_TIMEOUT_S} s; start some with "
                          f"`dask worker {address} --nthreads 1`") from None
    try:  # the scheduler unpickles our tasks, a worker runs them: both need this regnas
        version = client.submit(regnas_version, pure=False).result(timeout=WORKER_TIMEOUT_S)
        problem = None if version == __version__ else f"its workers run regnas {version}, this is {__version__}"
    except Exception as error:  # whatever the cluster sends back; the message says what to fix
        first_line = (str(error).splitlines() or [""])[0]
        problem = f"it cannot run a regnas task ({type(error).__name__}: {first_line})"
    if problem is not None:
        client.close(timeout=CLOSE_TIMEOUT_S)
        raise ConfigError(f"the Dask cluster at {address} does not fit: {problem}; its scheduler and workers need "
                          "this regnas (and torch) installed")
    return client


def regnas_version() -> str:
    """A task: the regnas version a worker imports."""
    return __version__


def local_cluster(workers: int) -> LocalCluster:
    """A Dask cluster of ``workers`` spawned processes with one thread each, owned by this process. Its
    workers end when this process does, kill -9 included: each reads a pipe from its parent and exits when
    the pipe closes (``distributed.process.AsyncProcess``; ``tests/test_dask_eval.py`` checks it)."""
    return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0",
                        silence_logs=logging.ERROR)


class EnginePlugin(WorkerPlugin):
    """Installs one ``SubnetEngine`` on every worker of a cluster, once per worker: it travels pickled in the
    plugin (through the scheduler, which also hands it to workers that join later), never with a task.

    ``lease`` is the key of a task the installing client holds; the scheduler forgets it when that client
    goes, however it goes (kill -9 included). Each worker checks it every ``LEASE_CHECK_S`` and, once it is
    gone, removes the plugin from the cluster, so no engine of a dead search stays resident.
    """

    def __init__(self, engine: SubnetEngine, name: str, lease: str):
        self.engine, self.name, self.lease = engine, name, lease

    def setup(self, worker) -> None:
        # Each worker unpickles its own engine, so its BatchNorm buffers are its own; one intra-op
        # thread, as the local workers run (the thread count changes no logit, only the speed).
        torch.set_num_threads(self.engine.options.threads)
        keep_freed_memory()
        _resident[(self.name, worker.address)] = (self.engine, threading.Lock())
        self._watch = PeriodicCallback(functools.partial(self._check_lease, worker), LEASE_CHECK_S * 1000)
        self._watch.start()  # setup runs on the worker's event loop

    def teardown(self, worker) -> None:
        if getattr(self, "_watch", None) is not None:
            self._watch.stop()
        _resident.pop((self.name, worker.address), None)

    async def _check_lease(self, worker) -> None:
        try:
            status = await worker.scheduler.get_task_status(keys=[self.lease])
        except OSError:  # the scheduler does not answer now: ask again next time
            return
        if status.get(self.lease) is None:
            self._watch.stop()
            with contextlib.suppress(Exception):  # another worker may have removed it first
                await worker.scheduler.unregister_worker_plugin(name=self.name)


def keep_freed_memory() -> None:
    """Let malloc keep freed activations for reuse, as it does by default. A Dask nanny starts its worker
    with ``MALLOC_TRIM_THRESHOLD_`` set, which also fixes the mmap threshold at 128 KiB: every activation
    is then a fresh mmap and page faults, and an evaluation took 1.6 to 3.7 times as long as in a plain
    process (``benchmarks/RESULTS.md``). Linux with glibc only; elsewhere nothing changes."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None)
        libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)
        libc.mallopt(M_TRIM_THRESHOLD, 2 * MMAP_THRESHOLD_BYTES)
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        pass


def predict_on_worker(name: str, arch: Arch) -> tuple[np.ndarray, int]:
    """A task: predictions of ``arch`` by this worker's resident engine ``name``, and its tie rechecks."""
    try:
        engine, lock = _resident[(name, get_worker().address)]
    except KeyError:
        raise RuntimeError(f"worker has no regnas engine {name!r} (unregistered, or its setup failed)") from None
    with lock:  # a worker with several threads shares one engine, whose BatchNorm buffers each call rewrites
        before = engine.n_rechecked
        predictions = engine.predictions(arch)
        served[name] += 1
        return predictions, engine.n_rechecked - before


class DaskPool:
    """The ``WorkerPool`` interface (``map``, ``close``) on a Dask cluster: the scheduler at ``scheduler``
    (not ours: only our plugin is removed at ``close``), else a local cluster of ``workers`` processes.

    The plugin's name holds ``key`` (the evaluator's cache key: supernet checksum, inputs) and this client's
    id, so searches sharing a cluster never mix engines, and one closing removes only its own.
    """

    def __init__(self, engine: SubnetEngine, key: str, *, scheduler: str | None = None, workers: int = 2):
        self._cluster = None
        if scheduler is None:
            self._cluster = local_cluster(workers)
            self.client = Client(self._cluster, set_as_default=False)
        else:
            self.client = connect(scheduler)
        self.name = f"{PLUGIN_PREFIX}{key[:16]}-{self.client.id}"
        try:
            self._lease = self.client.submit(regnas_version, pure=False)
            self._lease.result(timeout=WORKER_TIMEOUT_S)  # known to the scheduler before any worker checks it
            self.client.register_plugin(EnginePlugin(engine, self.name, self._lease.key), name=self.name)
        except BaseException as error:
            self.close()
            if isinstance(error, Exception):
                raise ConfigError(f"the Dask workers could not install the regnas engine ({type(error).__name__}: "
                                  f"{error}); they need this regnas, torch and dask installed") from None
            raise

    def map(self, archs: Sequence[Arch]) -> Iterator[tuple[np.ndarray, int]]:
        """Results in the order of ``archs``, yielded as they complete in that order."""
        if self.client is None:
            raise RuntimeError("dask pool is closed")
        futures = self.client.map(predict_on_worker, [self.name] * len(archs), list(archs), pure=False)
        return self._in_order(futures)

    def _in_order(self, futures: list) -> Iterator[tuple[np.ndarray, int]]:
        try:
            for future in futures:
                yield future.result()
        finally:
            if self.client is not None:
                self.client.cancel(futures)

    def close(self) -> None:
        if self.client is None:
            return
        client, self.client = self.client, None
        try:
            client.unregister_worker_plugin(self.name)
        except (OSError, TimeoutError, ValueError):
            pass  # the scheduler is gone (and our plugin with it), or the plugin never got there
        finally:
            client.close(timeout=CLOSE_TIMEOUT_S)
            if self._cluster is not None:
                self._cluster.close(timeout=CLOSE_TIMEOUT_S)
                self._cluster = None
