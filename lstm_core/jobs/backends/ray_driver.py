"""The Ray driver: a process of the server's own that holds its connection to the cluster, and what runs on the cluster.

Ray ends a driver process that loses its cluster's head for a minute ("Failed to connect to GCS within 60 seconds"),
and a refused token or a hung head blocks it for as long. So the server never connects itself: it starts this process
(``driver_main``) and talks to it through a pipe (lstm_core.jobs.backends.ray_wire); when the cluster goes, this process goes
(Ray kills its tasks with it) and the server carries on. Every HEARTBEAT_S the driver reads the cluster's live nodes and
tells the server, which knows from the silence when the head has stopped answering; a job whose node has died is ended
here with a sentence naming its host, rather than left to train unseen.

On the cluster, a job is a generator task (``_job_in_ray``): it yields the id of the node it runs on, then each of its
worker's messages pickled, ending with its Result or Failure. Stop reaches it through one small actor per driver
(``StopBoard``); a kill cancels the task, which ends its worker process; a worker whose node manager has died exits.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import logging
import os
import pickle
import queue
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from lstm_core.errors import LabError
from lstm_core.jobs.backends.ray_wire import (
    Action,
    Answer,
    Ask,
    Connected,
    Control,
    FrameBlob,
    FrameSlot,
    FromDriver,
    Heartbeat,
    JobBlob,
    JobGone,
    Launch,
    Node,
    Question,
)
from lstm_core.jobs.workers import Channel, Failure, Message, Result, Started, WorkerSettings, run_task
from lstm_core.server_settings import as_set

PACKAGE_DIR = Path(__file__).resolve().parents[2]  # lstm_core: what every node runs, sent with the connection
# settings that a worker reads from its environment; a cluster's workers have the node's environment, not the
# server's, so these go with the connection
FORWARDED = ("max_job_mb", "max_job_s", "tune_heartbeat_s")  # the settings a job on the cluster reads
CONNECT_TIMEOUT_S = 5.0  # Ray's own connect waits for minutes on an address where nothing answers
HEARTBEAT_S = 1.0  # how often the driver reads the cluster's nodes and tells the server
PUMP_WAIT_S = 0.5  # how long a job's pump waits for its next message before it looks at its node again
SHARED_FRAMES = 8  # price frames kept in the object store for jobs to come
FORGOTTEN_KEEP = 1024  # jobs whose end the stop board remembers, so a late wait returns at once
RAYLET_CHECK_S = 1.0  # how often a worker on the cluster checks that its node manager is still there


def address_parts(address: str) -> tuple[str, int]:
    """``host:port`` (or ``ray://host:port``) as a pair; LabError ``err_ray_address`` otherwise."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    try:
        return host or "127.0.0.1", int(port)
    except ValueError as exc:
        raise LabError("err_ray_address", address=address) from exc


def reachable(address: str, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
    """LabError unless something listens at ``address`` (Ray's own connect would wait for minutes)."""
    host, port = address_parts(address)
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            pass
    except OSError as exc:
        raise LabError("err_ray_unreachable", address=address, detail=exc.strerror or type(exc).__name__) from exc


def connect(address: str) -> Any:
    """The ``ray`` module, connected to the cluster at ``address``; LabError when it cannot be."""
    try:
        import ray
    except ImportError as exc:
        raise LabError("err_ray_not_installed") from exc
    reachable(address)
    env = as_set(*FORWARDED)
    runtime_env = {"py_modules": [str(PACKAGE_DIR)], "excludes": ["__pycache__"], "env_vars": env}
    try:
        ray.init(address=address, runtime_env=runtime_env, namespace="lstm-lab", logging_level=logging.WARNING,
                 configure_logging=False)
    except (ConnectionError, RuntimeError, ray.exceptions.RayError) as exc:  # refused token, other Ray version
        detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0].split(". ")[0][:200]  # its first sentence
        raise LabError("err_ray_unreachable", address=address, detail=detail) from exc
    return ray


# ---------------------------------------------------------------- on the cluster


class StopBoard:
    """Stop requests, one actor per driver, on the head node: each job's task waits here, and the server's Stop
    releases it."""

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
        pass  # the driver (and its stop board) is gone: Ray ends this task with it


_trainer: ThreadPoolExecutor | None = None
_raylet_watch: threading.Thread | None = None


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


def _exit_without_raylet(check_s: float = RAYLET_CHECK_S) -> None:
    """End this worker process once its node manager (its parent, the raylet) is gone.

    A worker whose raylet was killed keeps training and streaming to its driver, unseen by the cluster, until it
    notices on its own, minutes later; meanwhile new jobs wait for a node that no longer exists.
    """
    global _raylet_watch
    if _raylet_watch is not None:
        return
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(check_s)
        os._exit(1)

    _raylet_watch = threading.Thread(target=watch, name="lstm-lab-raylet-watch", daemon=True)
    _raylet_watch.start()


def _job_in_ray(payload: bytes, settings: WorkerSettings, stops: Any, key: str, *frames: bytes) -> Iterator[object]:
    """A job's worker on a node (a Ray generator task): the node's id, then ``Started``, the task's events and its
    Result or Failure, each pickled."""
    import ray

    _exit_without_raylet()
    yield ray.get_runtime_context().get_node_id()
    yield pickle.dumps(Started(os.getpid(), socket.gethostname()), protocol=5)
    task, args = pickle.loads(payload)  # made by cloudpickle on the server: a task pickled by value loads here too
    args = tuple(pickle.loads(frames[arg.index]) if isinstance(arg, FrameSlot) else arg for arg in args)
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
        yield pickle.dumps(message, protocol=5)
        if isinstance(message, Result | Failure):
            break
    trained.result()


def _warm() -> str:
    """Import what a job needs (what the local forkserver preloads), once per worker process, so the first job placed
    on it starts at once. Written out, not looped over names: lstm_core imports nothing from a string, and
    lstm_core.jobs.manager (which imports this module's package) is left to the job's own unpickling, a few ms."""
    import arch.univariate  # noqa: F401
    import torch._dynamo  # noqa: F401

    import lstm_core.runs.run  # noqa: F401  (with lstm_core.trainer, what lstm_core.jobs.manager imports that takes time)
    import lstm_core.trainer  # noqa: F401

    return socket.gethostname()


@functools.cache
def _remote() -> tuple[Any, Any, Any]:
    """The remote versions of the job task, the stop board and the warm-up task (made once Ray is connected)."""
    import ray

    return ray.remote(_job_in_ray), ray.remote(StopBoard), ray.remote(_warm)


# ---------------------------------------------------------------- the driver process


class _Line:
    """The driver's end of the pipe: sends from many threads take turns."""

    def __init__(self, connection: Connection) -> None:
        self._connection, self._lock = connection, threading.Lock()

    def send(self, message: FromDriver) -> None:
        with self._lock:
            self._connection.send(message)

    def recv(self) -> object:
        return self._connection.recv()


class Driver:
    """The connected driver: it launches jobs, pumps their messages to the server and watches the cluster's nodes."""

    def __init__(self, ray: Any, line: _Line) -> None:
        self.ray, self.line = ray, line
        self._lock = threading.Lock()
        self._streams: dict[str, Any] = {}
        self._node_of: dict[str, str] = {}  # job key -> the node it runs on
        self._hosts: dict[str, str] = {}  # node id -> host name
        self._dead: set[str] = set()  # nodes the cluster reports dead
        self._deaths = 0  # how many it has reported so far
        self._frames: collections.OrderedDict[str, Any] = collections.OrderedDict()
        self.frames_put = 0
        job_task, board, _ = _remote()
        self._job_task = job_task
        # on the head, which the cluster cannot lose without losing everything; restarted (and its calls retried) if
        # it fails anyway, so that a Stop always reaches the jobs still running
        self._stops = board.options(num_cpus=0, resources={"node:__internal_head__": 0.001}, max_restarts=-1,
                                    max_task_retries=-1).remote()

    def serve(self) -> None:
        """Answer the server until it closes the pipe."""
        threading.Thread(target=self._watch_nodes, name="ray-nodes", daemon=True).start()
        while True:
            try:
                message = self.line.recv()
            except (EOFError, OSError):
                return
            if isinstance(message, Launch):
                self._launch(message)
            elif isinstance(message, Control):
                self._control(message)
            elif isinstance(message, Ask):
                threading.Thread(target=self._answer, args=(message,), daemon=True).start()

    def _launch(self, launch: Launch) -> None:
        try:
            stream = self._submit(launch)
        except self.ray.exceptions.RayError as exc:
            self._send(JobGone(launch.key, self._describe(exc, launch.key)))
            return
        threading.Thread(target=self._pump, args=(launch, stream), name=f"pump-{launch.key}", daemon=True).start()

    def _submit(self, launch: Launch) -> Any:
        refs = [self._frame_ref(frame) for frame in launch.frames]
        options: dict[str, Any] = {"num_returns": "streaming", "num_cpus": launch.cpus, "max_retries": 0,
                                   "name": launch.name}
        if launch.memory_bytes is not None:
            options["memory"] = launch.memory_bytes
        stream = self._job_task.options(**options).remote(launch.payload, launch.settings, self._stops, launch.key,
                                                         *refs)
        with self._lock:
            self._streams[launch.key] = stream
        return stream

    def _frame_ref(self, frame: FrameBlob) -> Any:
        """A frame as a reference in the object store, put once per content."""
        with self._lock:
            ref = self._frames.get(frame.fingerprint)
            if ref is None:
                ref = self._frames[frame.fingerprint] = self.ray.put(frame.blob)
                self.frames_put += 1
            self._frames.move_to_end(frame.fingerprint)
            while len(self._frames) > SHARED_FRAMES:
                self._frames.popitem(last=False)
            return ref

    def _pump(self, launch: Launch, stream: Any) -> None:
        """Hand a job's messages to the server as they come, then say how it ended.

        A job not yet begun when a node dies is submitted again: Ray may have leased it to that node, and would hold it
        there until the lease times out (a minute), long after the cluster marked the node dead.
        """
        key, error = launch.key, None
        deaths = self._deaths
        try:
            while True:
                lost_on = self._lost_host(key)
                if lost_on is not None:
                    self._cancel(stream)
                    error = LabError("err_worker_lost", host=lost_on)
                    break
                if self._deaths != deaths and key not in self._node_of:
                    deaths = self._deaths
                    self._cancel(stream)
                    stream = self._submit(launch)
                ready, _ = self.ray.wait([stream], timeout=PUMP_WAIT_S)
                if not ready:
                    continue
                try:
                    value = self.ray.get(next(stream))
                except StopIteration:
                    break
                if isinstance(value, str):  # the task's first yield: where it runs
                    with self._lock:
                        self._node_of[key] = value
                    continue
                self._send(JobBlob(key, value))
        except self.ray.exceptions.RayError as exc:
            error = self._describe(exc, key)
        finally:
            with self._lock:
                self._streams.pop(key, None)
                self._node_of.pop(key, None)
        self._send(JobGone(key, error))

    def _lost_host(self, key: str) -> str | None:
        with self._lock:
            node = self._node_of.get(key)
            return self._hosts.get(node, node) if node in self._dead else None

    def _cancel(self, stream: Any) -> None:
        try:
            self.ray.cancel(stream, force=True)
        except self.ray.exceptions.RayError:
            pass  # already over

    def _control(self, control: Control) -> None:
        try:
            if control.action is Action.STOP:
                self._stops.stop.remote(control.key)
            elif control.action is Action.FORGET:
                self._stops.forget.remote(control.key)
            else:
                with self._lock:
                    stream = self._streams.get(control.key)
                if stream is not None:
                    self._cancel(stream)
        except self.ray.exceptions.RayError:
            pass  # the cluster is going: the heartbeat's silence says so

    def live_nodes(self) -> tuple[Node, ...]:
        """The cluster's live nodes now, noting the dead ones for the jobs that ran there; Ray's errors pass up."""
        nodes = self.ray.nodes()
        alive = []
        with self._lock:
            for node in nodes:
                node_id, host = node.get("NodeID", ""), str(node.get("NodeManagerHostname", "?"))
                self._hosts[node_id] = host
                if node.get("Alive"):
                    resources = node.get("Resources", {})
                    alive.append(Node(node_id, host, float(resources.get("CPU", 0.0)), float(resources.get("memory", 0.0))))
                elif node_id not in self._dead:
                    self._dead.add(node_id)
                    self._deaths += 1
        return tuple(alive)

    def _watch_nodes(self) -> None:
        """Every HEARTBEAT_S: the live nodes to the server, and the dead ones noted for the jobs that ran there."""
        while True:
            time.sleep(HEARTBEAT_S)
            try:
                alive = self.live_nodes()
            except Exception:  # noqa: BLE001 - Ray's own errors while the head is away: the server hears silence
                continue
            if not self._send(Heartbeat(alive)):
                return

    def _answer(self, ask: Ask) -> None:
        try:
            if ask.question is Question.WARM:
                value: object = self._warm_nodes()
            else:
                value = {"frames_put": self.frames_put}
            self._send(Answer(ask.number, value))
        except self.ray.exceptions.RayError as exc:
            self._send(Answer(ask.number, error=LabError("err_ray_node", detail=str(exc).strip().splitlines()[-1][:200])))

    def _warm_nodes(self) -> list[str]:
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        _, _, warm = _remote()
        refs = [warm.options(num_cpus=1, scheduling_strategy=NodeAffinitySchedulingStrategy(node["NodeID"], soft=True))
                .remote() for node in self.ray.nodes() if node.get("Alive") and node["Resources"].get("CPU", 0) >= 1]
        return sorted(self.ray.get(refs))

    def _send(self, message: FromDriver) -> bool:
        """False once the server has gone."""
        try:
            self.line.send(message)
        except (OSError, EOFError):
            return False
        return True

    def _describe(self, exc: Exception, key: str) -> LabError:
        """A sentence for how Ray lost the task: killed for memory, a node that could not run our code, a bug that
        escaped the task, or a worker (or its node) that died."""
        errors = self.ray.exceptions
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
        with self._lock:
            node = self._node_of.get(key)
            host = self._hosts.get(node, "?") if node else "?"
        return LabError("err_worker_lost", host=host)


def driver_main(address: str, connection: Connection) -> None:
    """The driver process's body: connect, say how that went, then serve the server until it closes the pipe.

    Ending the process ends every task it launched (Ray shares a task's fate with its owner).
    """
    line = _Line(connection)
    try:
        ray = connect(address)
    except LabError as err:
        line.send(Connected(err))
        return
    driver = Driver(ray, line)
    try:
        nodes = driver.live_nodes()
    except ray.exceptions.RayError as exc:
        line.send(Connected(LabError("err_ray_unreachable", address=address, detail=type(exc).__name__)))
        return
    line.send(Connected(nodes=nodes))  # with the nodes: a job sized right after connecting sees the cluster
    driver.serve()
    os._exit(0)  # the server is gone: no orderly shutdown that waits on a cluster which may be gone too
