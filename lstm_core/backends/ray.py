"""The Ray backend: each job a task on a Ray cluster, for a server whose jobs should not all run on its own machine.

Chosen by LSTM_LAB_RAY_ADDRESS (or ``tune --ray``); Ray itself is imported when a RayBackend first connects, never
before. What goes where: the server connects to the cluster as a Ray driver and sends lstm_core's own source as a
``py_modules`` runtime environment (zipped and content-addressed by Ray, so every node runs the server's version of
it; torch, pandas and the rest must be installed on each node). A job's task function travels pickled by reference
into that module; its price frame is put in Ray's object store once per content (jobs on the same data share one
reference) and its settings travel by value. Each task declares its CPUs and its memory estimate, so Ray places it
on a node with room. The worker is a generator task: it yields ``Started``, the task's events and then its ``Result``
or ``Failure``, which the server reads as a stream; Stop reaches it through one small actor per server that every
task waits on; a kill cancels the task, which ends its worker process.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import logging
import os
import queue
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pandas as pd

from lstm_core.data.dataset import frame_fingerprint
from lstm_core.errors import LabError
from lstm_core.workers import (
    BackendKind,
    Channel,
    Ended,
    Failure,
    Message,
    Result,
    Started,
    WorkerJob,
    WorkerSettings,
    run_task,
)

PACKAGE_DIR = Path(__file__).resolve().parents[1]  # lstm_core: what every node runs, sent with the connection
# settings that a worker reads from its environment; a cluster's workers have the node's environment, not the
# server's, so these go with the connection
FORWARDED_ENV = ("LSTM_LAB_MAX_JOB_MB", "LSTM_LAB_MAX_JOB_S", "LSTM_LAB_TUNE_HEARTBEAT_S")
CONNECT_TIMEOUT_S = 5.0  # Ray's own connect waits for minutes on an address where nothing answers
SLOTS_TTL_S = 5.0  # the cluster's CPUs are read again this often (nodes join and leave)
SHARED_FRAMES = 8  # price frames kept in the object store for jobs to come
# a Ray worker's own memory beyond what the estimate counts for a forkserver child (which shares torch's pages with
# the forkserver): the defaults' job peaked at 530-561 MB in a Ray worker against an estimate of 390 MB
WORKER_EXTRA_MB = 200.0
FORGOTTEN_KEEP = 1024  # jobs whose end the stop board remembers, so a late wait returns at once


def _address_parts(address: str) -> tuple[str, int]:
    host, _, port = address.removeprefix("ray://").rpartition(":")
    try:
        return host or "127.0.0.1", int(port)
    except ValueError as exc:
        raise LabError("err_ray_address", address=address) from exc


def _reachable(address: str) -> None:
    """LabError unless something listens at ``address`` (Ray's own connect would wait for minutes)."""
    host, port = _address_parts(address)
    try:
        with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S):
            pass
    except OSError as exc:
        raise LabError("err_ray_unreachable", address=address, detail=exc.strerror or type(exc).__name__) from exc


_connect_lock = threading.Lock()
_connected_to: str | None = None  # Ray holds one connection per process


def _connect(address: str) -> Any:
    """The ``ray`` module, connected to the cluster at ``address`` (once per process); LabError when it cannot be."""
    global _connected_to
    with _connect_lock:
        try:
            import ray
        except ImportError as exc:
            raise LabError("err_ray_not_installed") from exc
        if ray.is_initialized():
            if _connected_to not in (None, address):
                raise LabError("err_ray_other_cluster", address=address, connected=_connected_to)
            return ray
        _reachable(address)
        env = {name: os.environ[name] for name in FORWARDED_ENV if name in os.environ}
        runtime_env = {"py_modules": [str(PACKAGE_DIR)], "excludes": ["__pycache__"], "env_vars": env}
        try:
            ray.init(address=address, runtime_env=runtime_env, namespace="lstm-lab", logging_level=logging.WARNING,
                     configure_logging=False)
        except (ConnectionError, RuntimeError, ray.exceptions.RayError) as exc:  # refused token, other Ray version
            raise LabError("err_ray_unreachable", address=address, detail=str(exc).splitlines()[0][:200]) from exc
        _connected_to = address
        return ray


# ---------------------------------------------------------------- on the cluster


class StopBoard:
    """Stop requests, one actor per server: each job's task waits here, and the server's Stop releases it."""

    def __init__(self) -> None:
        self._events: dict[str, asyncio.Event] = {}
        self._stopped: set[str] = set()
        self._forgotten: collections.OrderedDict[str, None] = collections.OrderedDict()

    async def wait(self, key: str) -> bool:
        """Returns once job ``key`` is stopped (True) or over (False)."""
        if key in self._forgotten:
            return False
        event = self._events.setdefault(key, asyncio.Event())
        await event.wait()
        return key in self._stopped

    async def stop(self, key: str) -> None:
        self._stopped.add(key)
        self._events.setdefault(key, asyncio.Event()).set()

    async def forget(self, key: str) -> None:
        """Job ``key`` is over: release its waiter and drop it."""
        event = self._events.pop(key, None)
        self._stopped.discard(key)
        self._forgotten[key] = None
        while len(self._forgotten) > FORGOTTEN_KEEP:
            self._forgotten.popitem(last=False)
        if event is not None:
            event.set()


def _set_when_stopped(stopped: Any, stop: threading.Event) -> None:
    import ray

    try:
        if ray.get(stopped):
            stop.set()
    except ray.exceptions.RayError:
        pass  # the server (and its stop board) is gone: Ray ends this task with it


_trainer: ThreadPoolExecutor | None = None


def _trainer_thread() -> ThreadPoolExecutor:
    """The one thread of this worker process that trains, job after job.

    A thread of its own, because the task's events are pushed from trainer callbacks while this generator yields them;
    the same thread every time, because a Ray worker kept about 18 MB of each short-lived thread that had trained
    (measured; a reused thread keeps none).
    """
    global _trainer
    if _trainer is None:
        _trainer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lstm-lab-train")
    return _trainer


def _job_in_ray(task: Callable[..., Any], settings: WorkerSettings, stops: Any, key: str,
                *args: Any) -> Iterator[Message]:
    """A job's worker on a node (a Ray generator task): ``Started``, the task's events, then its Result or Failure."""
    yield Started(os.getpid(), socket.gethostname())
    stop = threading.Event()
    threading.Thread(target=_set_when_stopped, args=(stops.wait.remote(key), stop), name="lstm-lab-stop",
                     daemon=True).start()
    messages: queue.SimpleQueue[Message] = queue.SimpleQueue()

    def body() -> None:
        try:
            messages.put(run_task(task, args, Channel(messages.put), stop, settings, reused=True))
        except BaseException as exc:  # run_task turns an Exception into a Failure; anything else ends the job here
            messages.put(Failure("err_internal", {"detail": f"{type(exc).__name__}: {exc}"}, 0.0))

    trained = _trainer_thread().submit(body)
    while True:
        message = messages.get()
        yield message
        if isinstance(message, Result | Failure):
            break
    trained.result()


def _warm() -> str:
    """Import what a job needs (what the local forkserver preloads), once per worker process, so the first job placed
    on it starts at once. Written out, not looped over names: lstm_core imports nothing from a string, and
    lstm_core.jobs (which imports this module's package) is left to the job's own unpickling, a few ms."""
    import arch.univariate  # noqa: F401
    import torch._dynamo  # noqa: F401

    import lstm_core.runs  # noqa: F401  (with lstm_core.trainer, what lstm_core.jobs imports that takes time)
    import lstm_core.trainer  # noqa: F401

    return socket.gethostname()


@functools.cache
def _remote() -> tuple[Any, Any, Any]:
    """The remote versions of the job task, the stop board and the warm-up task (made once Ray is connected)."""
    import ray

    return ray.remote(_job_in_ray), ray.remote(StopBoard), ray.remote(_warm)


# ---------------------------------------------------------------- on the server


class RayExecution:
    """One job's generator task, as its watcher reads it."""

    def __init__(self, ray: Any, stream: Any, stops: Any, key: str, job: WorkerJob) -> None:
        self._ray, self._stream, self._stops, self._key, self._job = ray, stream, stops, key, job
        self._ended = False
        self._lost: LabError | None = None

    def receive(self, timeout_s: float) -> Message | Ended | None:
        if self._ended:
            return Ended()
        ready, _ = self._ray.wait([self._stream], timeout=timeout_s)
        if not ready:
            return None
        try:
            return self._ray.get(next(self._stream))
        except StopIteration:
            pass
        except self._ray.exceptions.RayError as exc:
            self._lost = self._describe(exc)
        self._ended = True
        return Ended()

    def forward_stop(self) -> None:
        self._stops.stop.remote(self._key)

    def kill(self) -> None:
        self._ray.cancel(self._stream, force=True)

    def close(self) -> LabError:
        if not self._ended:  # the watcher gave up on it: it must not train on unseen
            self.kill()
        self._stops.forget.remote(self._key)
        return self._lost or LabError("err_worker_lost", host=self._job.host or "?")

    def _describe(self, exc: Exception) -> LabError:
        """A sentence for how Ray lost the task: killed for memory, a node that could not run our code, a bug that
        escaped the task, or a worker (or its node) that died."""
        errors = self._ray.exceptions
        if isinstance(exc, errors.OutOfMemoryError):
            return LabError("err_job_out_of_memory")
        if isinstance(exc, errors.RuntimeEnvSetupError):
            return LabError("err_ray_node", detail=str(exc).strip().splitlines()[-1][:200])
        if isinstance(exc, errors.RayTaskError):
            cause = getattr(exc, "cause", None) or exc
            detail = f"{type(cause).__name__}: {cause}"[:200]
            if isinstance(cause, ImportError):
                return LabError("err_ray_node", detail=detail)
            return LabError("err_internal", detail=detail)
        return LabError("err_worker_lost", host=self._job.host or "?")


class RayBackend:
    """Jobs as tasks on the Ray cluster at ``address`` (``host:port`` of its head), which places them by CPU and memory."""

    kind = BackendKind.RAY

    def __init__(self, address: str) -> None:
        self.address = address
        self._lock = threading.Lock()
        self._stops: Any = None
        self._frames: collections.OrderedDict[str, Any] = collections.OrderedDict()
        self._slots: tuple[float, int | None] = (-float("inf"), None)

    def ray(self) -> Any:
        """The connected ``ray`` module; LabError when the cluster cannot be reached."""
        return _connect(self.address)

    def launch(self, job: WorkerJob) -> RayExecution:
        ray = self.ray()
        job_task, board, _ = _remote()
        with self._lock:
            if self._stops is None:
                self._stops = board.options(num_cpus=0).remote()
            stops = self._stops
        options: dict[str, Any] = {"num_returns": "streaming", "num_cpus": job.settings.torch_threads,
                                   "max_retries": 0, "name": f"lstm-lab-{job.name}"[:100]}
        if job.memory_mb is not None:
            options["memory"] = int((job.memory_mb + WORKER_EXTRA_MB) * 2**20)
        key = f"{os.getpid()}-{id(job)}-{time.monotonic_ns()}"
        args = [self.shared(arg) for arg in job.args]
        stream = job_task.options(**options).remote(job.task, job.settings, stops, key, *args)
        return RayExecution(ray, stream, stops, key, job)

    def shared(self, arg: object) -> object:
        """A price frame as a reference in the object store, put once per content; anything else as it is."""
        if not isinstance(arg, pd.DataFrame):
            return arg
        fingerprint = frame_fingerprint(arg)
        with self._lock:
            ref = self._frames.get(fingerprint)
            if ref is None:
                ref = self._frames[fingerprint] = self.ray().put(arg)
            self._frames.move_to_end(fingerprint)
            while len(self._frames) > SHARED_FRAMES:
                self._frames.popitem(last=False)
            return ref

    def nodes(self) -> list[dict[str, float]]:
        """Each live node's resources (``CPU``, ``memory`` in bytes ...)."""
        return [node["Resources"] for node in self.ray().nodes() if node.get("Alive")]

    def slots(self) -> int | None:
        """The cluster's CPUs, read again every SLOTS_TTL_S; None while it cannot be reached."""
        read_at, slots = self._slots
        if time.monotonic() - read_at < SLOTS_TTL_S:
            return slots
        try:
            slots = int(self.ray().cluster_resources().get("CPU", 0)) or None
        except Exception:  # noqa: BLE001 - a LabError, or Ray's own when the head has gone: no slots known now
            slots = None
        self._slots = (time.monotonic(), slots)
        return slots

    def check_fits(self, memory_mb: float) -> None:
        """LabError when no live node with a CPU has memory for a job estimated at ``memory_mb`` in a Ray worker."""
        need_mb = memory_mb + WORKER_EXTRA_MB
        largest = max((node.get("memory", 0.0) for node in self.nodes() if node.get("CPU", 0.0) >= 1), default=0.0)
        if need_mb * 2**20 > largest:
            raise LabError("err_job_memory_cluster", need_mb=f"{need_mb:,.0f}", largest_mb=f"{largest / 2**20:,.0f}")

    def warm_up(self) -> threading.Thread:
        """Connect, and import torch and lstm_core in a worker of every node, in the background."""
        thread = threading.Thread(target=self._warm_nodes, name="ray-warm-up", daemon=True)
        thread.start()
        return thread

    def _warm_nodes(self) -> None:
        try:
            ray = self.ray()
        except LabError:
            return  # said when a job is started
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        _, _, warm = _remote()
        refs = [warm.options(num_cpus=1, scheduling_strategy=NodeAffinitySchedulingStrategy(node["NodeID"], soft=True))
                .remote() for node in ray.nodes() if node.get("Alive") and node["Resources"].get("CPU", 0) >= 1]
        try:
            ray.get(refs)
        except ray.exceptions.RayError:
            pass  # a node that cannot run our code says so with the first job placed on it
