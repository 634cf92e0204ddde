"""The Ray backend: each job a task on a Ray cluster, for a server whose jobs should not all run on its own machine.

Chosen by LSTM_LAB_RAY_ADDRESS (or ``tune --ray``). The server never imports Ray: a driver process of its own holds the
connection (lstm_core.jobs.backends.ray_driver), started in the background and started again when it is lost, so a cluster
that dies, hangs or refuses the server's token costs the jobs it ran (each with a sentence, and its best weights kept
where the server holds them), never the server. While the cluster cannot be reached, jobs go to the ``fallback``
backend (the server's: this machine's worker processes) with a sentence that says so, or fail with that sentence
where there is none (the command line, which asked for the cluster).

What goes where: the driver sends lstm_core's own source as a ``py_modules`` runtime environment (zipped and
content-addressed by Ray, so every node runs the server's version; torch, pandas and the rest must be installed on each
node). A job's task and arguments are cloudpickled here (a task from a module no node has, such as a test's, can be
registered to travel by value), its price frames pickled apart and put in Ray's object store once per content. Each
task declares its CPUs and memory, so Ray places it on a node with room.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import pickle
import queue
import threading
import time
from typing import Any

import pandas as pd

from lstm_core.data.dataset import frame_fingerprint
from lstm_core.errors import LabError
from lstm_core.jobs.backends.local import PROCESS_PREFIX, install_lean_main
from lstm_core.jobs.backends.ray_driver import address_parts, driver_main, reachable
from lstm_core.jobs.backends.ray_wire import (
    Action,
    Answer,
    Ask,
    Connected,
    Control,
    FrameBlob,
    FrameSlot,
    Heartbeat,
    JobBlob,
    JobGone,
    Launch,
    Node,
    Question,
    ToDriver,
)
from lstm_core.jobs.workers import Backend, BackendKind, Ended, Execution, Message, WorkerJob

# a Ray worker's own memory beyond what the estimate counts for a forkserver child (which shares torch's pages with
# the forkserver): the defaults' job peaked at 530-561 MB in a Ray worker against an estimate of 390 MB
WORKER_EXTRA_MB = 200.0
LOST_AFTER_S = 8.0  # a cluster whose driver heard nothing from it for this long is lost: its jobs end, with a sentence
CONNECT_WAIT_S = 15.0  # a job that gets its slot while the driver connects waits this long before it goes elsewhere
KEEP_S = 0.5  # how often the keeper looks at its driver
# while nothing listens at the address the keeper looks every RETRY_MIN_S; after a driver that failed (a refused token,
# a lost cluster) it starts the next one twice as late each time, up to RETRY_MAX_S
RETRY_MIN_S, RETRY_MAX_S = 2.0, 30.0
CONNECT_LIMIT_S = 90.0  # a driver still connecting after this long is ended (a head that accepts and never answers)
ANSWER_S = 120.0  # the longest the server waits for the driver to answer a question (a warm-up imports torch)


class _DriverLink:
    """One driver process as the server sees it: the pipe to it, the jobs waiting on it and the cluster it last saw."""

    def __init__(self, address: str) -> None:
        self.address = address
        context = multiprocessing.get_context("spawn")  # a clean process: no torch, no copy of the server's heap
        install_lean_main()  # and without re-running the server's main script
        self._connection, child = context.Pipe(duplex=True)
        self.process = context.Process(target=driver_main, args=(address, child), name=f"{PROCESS_PREFIX}-ray-driver",
                                       daemon=True)
        self.process.start()
        child.close()
        self.started_at = time.monotonic()
        self.connected = threading.Event()  # set once it said whether it connected
        self.error: LabError | None = None  # why it could not connect, or why it was lost
        self.heartbeat_at = time.monotonic()
        self.nodes: tuple[Node, ...] = ()
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._inboxes: dict[str, queue.SimpleQueue] = {}
        self._answers: dict[int, queue.SimpleQueue] = {}
        self._numbers = itertools.count()
        self._gone = False
        threading.Thread(target=self._read, name="ray-driver-reader", daemon=True).start()

    @property
    def up(self) -> bool:
        return self.connected.is_set() and self.error is None and not self._gone

    @property
    def gone(self) -> bool:
        return self._gone

    def send(self, message: ToDriver) -> None:
        """LabError once the driver is gone."""
        with self._send_lock:
            if self._gone:
                raise self.error or LabError("err_ray_lost", address=self.address)
            try:
                self._connection.send(message)
            except (OSError, ValueError) as exc:  # its end closed: it is going
                raise LabError("err_ray_lost", address=self.address) from exc

    def launch(self, key: str, launch: Launch) -> queue.SimpleQueue:
        inbox: queue.SimpleQueue = queue.SimpleQueue()
        with self._lock:
            if self._gone:
                raise self.error or LabError("err_ray_lost", address=self.address)
            self._inboxes[key] = inbox
        self.send(launch)
        return inbox

    def done_with(self, key: str) -> None:
        with self._lock:
            self._inboxes.pop(key, None)
        try:
            self.send(Control(key, Action.FORGET))
        except LabError:
            pass  # the driver is gone, and its tasks with it

    def ask(self, question: Question, timeout_s: float = ANSWER_S) -> object:
        """The driver's answer; LabError when it has none within ``timeout_s`` or is gone."""
        number = next(self._numbers)
        box: queue.SimpleQueue = queue.SimpleQueue()
        with self._lock:
            self._answers[number] = box
        try:
            self.send(Ask(number, question))
            answer = box.get(timeout=timeout_s)
        except queue.Empty:
            raise LabError("err_ray_lost", address=self.address) from None
        finally:
            with self._lock:
                self._answers.pop(number, None)
        if answer.error is not None:
            raise answer.error
        return answer.value

    def _read(self) -> None:
        while True:
            try:
                message = self._connection.recv()
            except (EOFError, OSError):
                break
            if isinstance(message, JobBlob | JobGone):
                with self._lock:
                    inbox = self._inboxes.get(message.key)
                if inbox is not None:
                    inbox.put(message)
            elif isinstance(message, Heartbeat):
                self.nodes, self.heartbeat_at = message.nodes, time.monotonic()
            elif isinstance(message, Answer):
                with self._lock:
                    box = self._answers.get(message.number)
                if box is not None:
                    box.put(message)
            elif isinstance(message, Connected):
                self.error, self.nodes, self.heartbeat_at = message.error, message.nodes, time.monotonic()
                self.connected.set()
        self.close(self.error or LabError("err_ray_lost", address=self.address))

    def close(self, error: LabError) -> None:
        """End the driver (and with it every task it launched); each job still waiting on it ends with ``error``."""
        with self._lock:
            if self._gone:
                return
            self._gone = True
            self.error = self.error or error
            inboxes, answers = list(self._inboxes.items()), list(self._answers.items())
            self._inboxes.clear()
        self.connected.set()
        for key, inbox in inboxes:
            inbox.put(JobGone(key, error))
        for number, box in answers:
            box.put(Answer(number, error=error))
        if self.process.is_alive():
            self.process.kill()
        self._connection.close()
        self.process.join(timeout=5)


class RayExecution:
    """One job's task on the cluster, as its watcher reads it. A job the cluster lost before it began goes to the
    backend's fallback instead, when there is one."""

    def __init__(self, backend: RayBackend, link: _DriverLink, job: WorkerJob) -> None:
        import cloudpickle  # with Ray's requirements (requirements-ray.txt): only a server on a cluster needs it

        self._backend, self._link, self._job = backend, link, job
        self._key = f"{os.getpid()}-{id(job)}-{time.monotonic_ns()}"
        frames, args = [], []
        for arg in job.args:  # each price frame apart, so that jobs on the same data share one copy on the cluster
            if isinstance(arg, pd.DataFrame):
                args.append(FrameSlot(len(frames)))
                frames.append(FrameBlob(frame_fingerprint(arg), pickle.dumps(arg, protocol=5)))
            else:
                args.append(arg)
        memory = None if job.memory_mb is None else int((job.memory_mb + WORKER_EXTRA_MB) * 2**20)
        launch = Launch(key=self._key, payload=cloudpickle.dumps((job.task, tuple(args)), protocol=5),
                        frames=tuple(frames), settings=job.settings, cpus=job.settings.torch_threads,
                        memory_bytes=memory, name=f"lstm-lab-{job.name}"[:100])
        self._inbox = link.launch(self._key, launch)
        self._ended = False
        self._heard = False  # a message came from its worker: it began on the cluster
        self._lost: LabError | None = None
        self._instead: Execution | None = None  # where it went when the cluster was lost before it began

    def receive(self, timeout_s: float) -> Message | Ended | None:
        if self._instead is not None:
            return self._instead.receive(timeout_s)
        if self._ended:
            return Ended()
        try:
            item = self._inbox.get(timeout=timeout_s)
        except queue.Empty:
            return None
        if isinstance(item, JobBlob):
            self._heard = True
            return pickle.loads(item.blob)
        if not self._heard and item.error is not None and item.error.key == "err_ray_lost":
            self._instead = self._backend.elsewhere(self._job, item.error)
            if self._instead is not None:
                self._link.done_with(self._key)
                return None
        self._lost, self._ended = item.error, True
        return Ended()

    def forward_stop(self) -> None:
        if self._instead is not None:
            self._instead.forward_stop()
        else:
            self._control(Action.STOP)

    def kill(self) -> None:
        if self._instead is not None:
            self._instead.kill()
        else:
            self._control(Action.KILL)

    def _control(self, action: Action) -> None:
        try:
            self._link.send(Control(self._key, action))
        except LabError:
            pass  # the driver is gone, and the task with it

    def close(self) -> LabError:
        if self._instead is not None:
            return self._instead.close()
        if not self._ended:  # the watcher gave up on it: it must not train on unseen
            self.kill()
        self._link.done_with(self._key)
        return self._lost or LabError("err_worker_lost", host=self._job.host or "?")


class RayBackend:
    """Jobs as tasks on the Ray cluster at ``address`` (``host:port`` of its head), which places them by CPU and memory.

    A keeper thread starts the driver process, watches its heartbeat, ends it when the cluster stops answering for
    LOST_AFTER_S, and starts a new one when the cluster can be reached again. While there is no connected driver, jobs
    run on ``fallback`` (with a sentence on the job), or fail with the reason where there is none.
    """

    kind = BackendKind.RAY

    def __init__(self, address: str, fallback: Backend | None = None) -> None:
        address_parts(address)  # a malformed address is one sentence, now
        self.address, self.fallback = address, fallback
        self._lock = threading.Lock()
        self._link: _DriverLink | None = None
        self._retry_at, self._retry_s = 0.0, RETRY_MIN_S
        self._last_error: LabError | None = None
        self._keeper: threading.Thread | None = None
        self._closed = threading.Event()

    # ---- the connection

    def _keep(self) -> None:
        while True:
            self._tend()
            if self._closed.wait(KEEP_S):
                return

    def _tend(self) -> None:
        """One look at the driver: end one the cluster stopped answering (or that cannot connect), start one when there
        is none and it is time."""
        with self._lock:
            link, now = self._link, time.monotonic()
        if link is not None:
            if link.up and now - link.heartbeat_at <= LOST_AFTER_S:
                self._retry_s = RETRY_MIN_S
                return
            if link.up:
                link.close(LabError("err_ray_lost", address=self.address))
            elif not link.gone and not link.connected.is_set():
                if now - link.started_at <= CONNECT_LIMIT_S:
                    return  # still connecting
                link.close(LabError("err_ray_unreachable", address=self.address, detail="no answer"))
            with self._lock:  # lost, or refused: a new driver later, twice as late each time one fails
                self._last_error, self._link = link.error, None
                self._retry_at = now + self._retry_s
                self._retry_s = min(self._retry_s * 2, RETRY_MAX_S)
            return
        if now < self._retry_at or self._closed.is_set():
            return
        try:
            reachable(self.address)  # a cheap look first: no driver process to start while nothing listens there
        except LabError as err:
            with self._lock:
                self._last_error, self._retry_at = err, time.monotonic() + RETRY_MIN_S
            return
        with self._lock:
            if self._link is None and not self._closed.is_set():
                self._link = _DriverLink(self.address)

    def _start_keeper(self) -> None:
        with self._lock:
            if self._keeper is None and not self._closed.is_set():
                self._keeper = threading.Thread(target=self._keep, name="ray-keeper", daemon=True)
                self._keeper.start()

    def _current(self, wait_s: float = 0.0) -> _DriverLink | None:
        """The connected driver; None when there is none, after waiting up to ``wait_s`` for one being connected."""
        self._start_keeper()
        deadline = time.monotonic() + wait_s
        while True:
            with self._lock:
                link, tried = self._link, self._last_error is not None
            if link is not None and link.up:
                return link
            connecting = link is not None and not link.gone and not link.connected.is_set()
            if not (connecting or (link is None and not tried)) or time.monotonic() >= deadline:
                return None
            time.sleep(0.05)

    def connect(self, timeout_s: float = 60.0) -> None:
        """Wait until the driver is connected; LabError (why not) when it is not within ``timeout_s``."""
        if self._current(timeout_s) is None:
            raise self.down_error()

    def down_error(self) -> LabError:
        """Why jobs cannot go to the cluster now."""
        with self._lock:
            link = self._link
            error = link.error if link is not None and link.error is not None else self._last_error
        return error or LabError("err_ray_unreachable", address=self.address, detail="connecting")

    @property
    def up(self) -> bool:
        with self._lock:
            return self._link is not None and self._link.up

    @property
    def connecting(self) -> bool:
        """A driver is connecting (at the server's start, or again after the cluster came back)."""
        with self._lock:
            link = self._link
        return (link is None and self._last_error is None and not self._closed.is_set()) or (
            link is not None and not link.gone and not link.connected.is_set())

    def close(self) -> None:
        """End the keeper and the driver (and so every task it launched)."""
        self._closed.set()
        with self._lock:
            link, self._link = self._link, None
        if link is not None:
            link.close(LabError("err_ray_lost", address=self.address))

    # ---- the Backend protocol

    def launch(self, job: WorkerJob) -> Execution:
        link = self._current(CONNECT_WAIT_S)
        if link is not None:
            try:
                return RayExecution(self, link, job)
            except LabError:
                pass  # lost just now: as if it had been gone
        reason = self.down_error()
        execution = self.elsewhere(job, reason)
        if execution is None:
            raise reason
        return execution

    def elsewhere(self, job: WorkerJob, reason: LabError) -> Execution | None:
        """``job`` launched on the fallback, with a sentence on the job that says why; None where there is none."""
        if self.fallback is None:
            return None
        job.notice = LabError("job_on_fallback", address=self.address, detail=reason.params.get("detail", "no answer"))
        return self.fallback.launch(job)

    def nodes(self) -> list[dict[str, Any]]:
        """Each live node's resources as the driver last saw them (``CPU``, ``memory`` in bytes, ``host``)."""
        link = self._current()
        if link is None:
            return []
        return [{"CPU": n.cpus, "memory": n.memory_bytes, "host": n.host, "NodeID": n.node_id} for n in link.nodes]

    def slots(self) -> int | None:
        """The cluster's CPUs as last seen; the fallback's while the cluster cannot be reached. Never waits."""
        with self._lock:
            link = self._link
        if link is not None and link.up:
            return int(sum(n.cpus for n in link.nodes)) or None
        return self.fallback.slots() if self.fallback is not None else None

    def check_fits(self, memory_mb: float) -> None:
        """LabError when no live node with a CPU has memory for a job estimated at ``memory_mb`` in a Ray worker.

        While the cluster cannot be reached, the fallback's check (or the reason, where there is no fallback).
        """
        link = self._current()
        if link is None:
            if self.fallback is None:
                raise self.down_error()
            self.fallback.check_fits(memory_mb)
            return
        need_mb = memory_mb + WORKER_EXTRA_MB
        largest = max((n.memory_bytes for n in link.nodes if n.cpus >= 1), default=0.0)
        if need_mb * 2**20 > largest:
            raise LabError("err_job_memory_cluster", need_mb=f"{need_mb:,.0f}", largest_mb=f"{largest / 2**20:,.0f}")

    def warm_up(self) -> threading.Thread:
        """Connect, then import torch and lstm_core in a worker of every node, in the background (and warm the
        fallback too, so that it is ready if the cluster goes)."""
        if self.fallback is not None:
            self.fallback.warm_up()
        thread = threading.Thread(target=self._warm_nodes, name="ray-warm-up", daemon=True)
        thread.start()
        return thread

    def _warm_nodes(self) -> None:
        link = self._current(ANSWER_S)
        if link is None:
            return  # said when a job is started
        try:
            link.ask(Question.WARM)
        except LabError:
            pass  # a node that cannot run our code says so with the first job placed on it

    def stats(self) -> dict[str, Any]:
        """The driver's own counts (frames put in the object store), for tests and benchmarks."""
        link = self._current()
        if link is None:
            raise self.down_error()
        return dict(link.ask(Question.STATS, timeout_s=10))  # type: ignore[arg-type]

    def driver_pid(self) -> int | None:
        with self._lock:
            return self._link.process.pid if self._link is not None else None
