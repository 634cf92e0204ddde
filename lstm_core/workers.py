"""Jobs in worker processes: a cap on how many run at once, a visible FIFO queue, and a server that only starts,
watches and stops them.

A job is generic: a picklable task function, its arguments, and the events it reports while it runs. The task runs
as ``task(*args, channel=..., stop=...)`` in a process of its own, forked from a forkserver that has torch and
lstm_core imported already; it reports with ``channel.send(event)``, ends soon after ``stop.is_set()`` turns True,
and returns a picklable result. On the server a thread per job waits for its turn, starts the process, hands its
events to ``WorkerJob.on_event`` and its result to ``WorkerJob.on_result``. A crash, an out-of-memory kill or a bug
in one job ends that job with a sentence; the server and every other job go on. What crosses the pipe is one typed
message each: an ``Event`` per report, then a ``Result`` or a ``Failure``.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import resource
import signal
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from multiprocessing import spawn
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any, Protocol

from lstm_core.errors import LabError

PROCESS_PREFIX = "lstm-lab-job"
# imported once by the forkserver, so that every worker forked from it starts with them loaded and shares their pages;
# torch.optim imports torch._dynamo when an optimizer is built: 2.5 s and 70 MB that each worker would pay again
# arch (and the scipy.stats it imports, 2-3 s) fits every volatility run's GARCH baseline
PRELOAD = ("torch", "torch._dynamo", "lstm_core.jobs", "arch.univariate")
POLL_S = 0.2  # how often a watcher looks at its job's stop request, owner and clock when the worker is quiet
OWNER_CHECK_S = 0.5  # how often a running job asks whether anyone is still there to see its result
ABANDONED_KILL_S = 30.0  # a worker still busy this long after its owner left is killed (no one waits for it)
# the least a worker past its time limit gets to finish (a job that measures its evaluation may get longer: see
# WorkerJob.kill_grace_s) before it is killed
TIME_LIMIT_KILL_S = 60.0
JOIN_S = 10.0


class JobStatus(StrEnum):
    """Where a job is in its life."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"  # stopped, or its owner left, while it waited in the queue


FINISHED = frozenset({JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED})


class StopFlag(Protocol):
    def is_set(self) -> bool: ...


class Channel:
    """The worker's end of the line to the server: a task reports its progress with ``send``."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def send(self, event: object) -> None:
        self._connection.send(Event(event))


# ---- what crosses the pipe from a worker to the server: one typed message each, read by field


@dataclass(frozen=True, eq=False)
class Event:
    """Progress the task reported with ``channel.send``; many per job."""

    payload: object


@dataclass(frozen=True, eq=False)
class Result:
    """The task's return value, the job's last message."""

    value: object
    peak_rss_mb: float


@dataclass(frozen=True)
class Failure:
    """The task ended with a sentence instead of a value, the job's last message."""

    key: str
    params: dict[str, object]
    peak_rss_mb: float

    def error(self) -> LabError:
        return LabError(self.key, **self.params)


Message = Event | Result | Failure


class KillReason(StrEnum):
    """Why the watcher killed a worker that did not end by itself."""

    ABANDONED = "abandoned"  # its owner left and it did not stop within ABANDONED_KILL_S
    TIME_LIMIT = "time_limit"  # past its time limit by its kill grace (WorkerJob.kill_grace_s)


@dataclass(frozen=True)
class WorkerSettings:
    """How a worker process sets itself up before its task runs."""

    nice: int = 10  # steps down in priority, so that the server answers clicks first on a busy CPU
    torch_threads: int = 1  # one core per job: jobs run beside each other and beside the server
    memory_cap_mb: float | None = None  # the most heap it may add (RLIMIT_DATA): beyond it an allocation fails cleanly


def _settle_worker(settings: WorkerSettings) -> None:
    if settings.nice > 0:
        os.nice(settings.nice)
    import torch  # preloaded by the forkserver: no import cost here

    from lstm_core.memory import tune_malloc

    torch.set_num_threads(settings.torch_threads)
    tune_malloc()  # big training buffers stay in the heap instead of page-faulting back at every step
    if settings.memory_cap_mb is not None and sys.platform.startswith("linux"):
        # a wrong estimate then fails this job's allocation instead of waking the host's OOM killer for everyone
        cap = _vm_data_bytes() + int(settings.memory_cap_mb * 2**20)
        _, hard = resource.getrlimit(resource.RLIMIT_DATA)
        resource.setrlimit(resource.RLIMIT_DATA, (cap if hard == resource.RLIM_INFINITY else min(cap, hard), hard))


def _vm_data_bytes() -> int:
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmData:"))
    return int(line.split()[1]) * 1024


def peak_rss_mb() -> float:
    """This process's peak resident memory (Linux reports KB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


def _worker_main(
    task: Callable[..., Any], args: tuple, connection: Connection, stop: StopFlag, settings: WorkerSettings
) -> None:
    """Body of a worker process: run the task, then send its Result or a Failure."""
    try:
        _settle_worker(settings)
        try:
            result = task(*args, channel=Channel(connection), stop=stop)
            message: Result | Failure = Result(result, peak_rss_mb())
        except LabError as err:
            message = Failure(err.key, err.params, peak_rss_mb())
        except MemoryError:
            message = Failure("err_job_out_of_memory", {}, peak_rss_mb())
        except RuntimeError as exc:
            if "DefaultCPUAllocator" not in str(exc):  # torch's words for a failed CPU allocation
                raise
            message = Failure("err_job_out_of_memory", {}, peak_rss_mb())
        connection.send(message)
    except BrokenPipeError:
        pass  # the server went away: no one is left to tell
    except Exception as exc:  # a bug in a task: report it as a sentence, and its traceback to the server's log
        traceback.print_exc()
        connection.send(Failure("err_internal", {"detail": f"{type(exc).__name__}: {exc}"}, peak_rss_mb()))
    finally:
        connection.close()


_context: multiprocessing.context.BaseContext | None = None
_context_lock = threading.Lock()


def worker_context() -> multiprocessing.context.BaseContext:
    """A forkserver context with torch and lstm_core preloaded (spawn where there is no forkserver)."""
    global _context
    with _context_lock:
        if _context is None:
            if "forkserver" in multiprocessing.get_all_start_methods():
                context = multiprocessing.get_context("forkserver")
                context.set_forkserver_preload(list(PRELOAD))
                _put_package_on_forkserver_path()
            else:
                context = multiprocessing.get_context("spawn")
            _install_lean_main()
            _context = context
        return _context


def _put_package_on_forkserver_path() -> None:
    """Let the forkserver import lstm_core whatever the server's working directory.

    Python 3.11's forkserver does not apply the ``sys_path`` it is handed, so its preload finds only what its own
    path (the working directory, site-packages, PYTHONPATH) holds; a failed preload is silent, and every worker
    would then import lstm_core itself. The forkserver reads PYTHONPATH when it starts.
    """
    root = str(Path(__file__).resolve().parent.parent)
    if os.path.realpath(os.getcwd()) == os.path.realpath(root):
        return
    current = os.environ.get("PYTHONPATH", "")
    if root not in current.split(os.pathsep):
        os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (root, current) if p)


def _install_lean_main() -> None:
    """Keep our workers from re-running the server's main script.

    multiprocessing re-imports the parent's ``__main__`` in every child so that functions defined there can be
    unpickled. Our tasks live in lstm_core; under the ``streamlit`` console script that re-import would load all of
    Streamlit into each worker (and under ``pytest`` all of pytest). Only processes named with our prefix skip it.
    """
    original = spawn.get_preparation_data
    if getattr(original, "lean_main", False):
        return

    def preparation_data(name: str) -> dict:
        data = original(name)
        if str(name).startswith(PROCESS_PREFIX):
            data.pop("init_main_from_path", None)
            data.pop("init_main_from_name", None)
        return data

    preparation_data.lean_main = True  # type: ignore[attr-defined]
    spawn.get_preparation_data = preparation_data


def _noop(*args: object, channel: Channel, stop: StopFlag) -> None:
    return None


def _describe_exit(exitcode: int | None) -> tuple[str, dict[str, object]]:
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = str(-exitcode)
        return "err_worker_killed", {"signal": name}
    return "err_worker_exited", {"code": exitcode}


@dataclass(eq=False, kw_only=True)
class WorkerJob:
    """One job: what to run, who waits for it, and where it is. Compared by identity (two equal jobs are two jobs).

    Subclasses turn events into progress (``on_event``) and the task's value into a result (``on_result``); both
    run on the server, in the job's watcher thread.
    """

    task: Callable[..., Any]  # a module-level function, so a worker can unpickle it
    args: tuple = ()
    name: str = "job"
    owner_alive: Callable[[], bool] | None = None  # False once no one can ever see this job's result
    time_limit_s: float | None = None  # the task stops itself at its limit; past this plus a grace period it is killed
    min_kill_grace_s: float = TIME_LIMIT_KILL_S  # that grace period, at least
    settings: WorkerSettings = field(default_factory=WorkerSettings)
    status: JobStatus = JobStatus.QUEUED
    result: Any = None
    error: LabError | None = None
    abandoned: bool = False  # stopped because its owner left
    pid: int | None = None
    peak_rss_mb: float | None = None  # the worker's, reported with its result
    submitted_at: float = field(default_factory=time.monotonic)
    started_at: float | None = None
    ended_at: float | None = None
    pool: WorkerPool | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _owner_checked: float = 0.0

    def stop(self) -> None:
        """Ask the job to end within one step (its best result is kept), or to leave the queue."""
        self._stop.set()
        if self.pool is not None:
            self.pool.wake()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    def check_owner(self, force: bool = False) -> None:
        """Stop, as abandoned, once ``owner_alive`` says no one is left (at most every OWNER_CHECK_S unless forced)."""
        now = time.monotonic()
        if self.owner_alive is None or self._stop.is_set() or (not force and now - self._owner_checked < OWNER_CHECK_S):
            return
        self._owner_checked = now
        if not self.owner_alive():
            self.abandoned = True
            self.stop()

    def kill_grace_s(self) -> float:
        """How long past its time limit the job may take to finish before its worker is killed."""
        return self.min_kill_grace_s

    def on_event(self, event: object) -> None:
        """An event the task sent (server side)."""

    def on_killed(self, reason: KillReason) -> bool:
        """The worker was killed for ``reason``; True when the job made its result from what it had received
        (server side; may raise LabError). By default nothing can be saved."""
        return False

    def on_result(self, result: object) -> None:
        """The task's return value (server side); may raise LabError."""
        self.result = result

    def _finish(self, status: JobStatus, error: LabError | None = None) -> None:
        with self._lock:
            self.error, self.ended_at = error, time.monotonic()
            self.status = status


class WorkerPool:
    """Runs at most ``max_running`` jobs at once across all sessions, each in its own process; the rest wait in FIFO order."""

    def __init__(self, max_running: int | None = None) -> None:
        self.max_running = max_running or int(os.environ.get("LSTM_LAB_MAX_JOBS", "2"))
        self._cond = threading.Condition()  # re-entrant: a stop() from inside a locked check may wake() us
        self._queue: deque[WorkerJob] = deque()
        self._running: set[WorkerJob] = set()
        self._threads: list[threading.Thread] = []
        self._jobs: list[WorkerJob] = []
        atexit.register(self.shutdown)

    def start(self, job: WorkerJob) -> WorkerJob:
        """Queue ``job`` and start the thread that watches it; returns it."""
        job.pool = self
        thread = threading.Thread(target=self._watch, args=(job,), name=f"watch-{job.name}", daemon=True)
        with self._cond:
            self._queue.append(job)
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]
            self._jobs = [j for j in self._jobs if not j.finished] + [job]
        thread.start()
        return job

    def warm_up(self) -> threading.Thread:
        """Start the forkserver (it imports torch once) in the background, so the first job does not wait for it."""
        thread = threading.Thread(target=self._start_noop, name="forkserver-warm-up", daemon=True)
        thread.start()
        return thread

    @staticmethod
    def _start_noop() -> None:
        context = worker_context()
        process = context.Process(target=_noop, name=f"{PROCESS_PREFIX}-warm-up", kwargs={"channel": None, "stop": None})
        process.start()
        process.join()

    def shutdown(self, timeout_s: float = 5.0) -> None:
        """Stop every job and wait for its watcher, so no worker outlives the server."""
        with self._cond:
            jobs, threads = list(self._jobs), list(self._threads)
        for job in jobs:
            job._stop.set()
        self.wake()
        deadline = time.monotonic() + timeout_s
        for thread in threads:
            thread.join(timeout=max(deadline - time.monotonic(), 0.0))

    def queue_place(self, job: WorkerJob) -> int:
        """1-based place of ``job`` in the queue, 0 when it is not waiting."""
        with self._cond:
            return next((k + 1 for k, queued in enumerate(self._queue) if queued is job), 0)

    def running_count(self) -> int:
        with self._cond:
            return len(self._running)

    def wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    # ---- the watcher thread of one job

    def _acquire(self, job: WorkerJob) -> bool:
        """Block until ``job`` heads the queue and a slot is free; False if it was stopped (or abandoned) meanwhile."""
        with self._cond:
            while True:
                job.check_owner(force=True)  # never start a job whose owner has just left
                if job.stop_requested:
                    return False
                if self._queue and self._queue[0] is job and len(self._running) < self.max_running:
                    self._queue.popleft()
                    self._running.add(job)
                    with job._lock:
                        job.status, job.started_at = JobStatus.RUNNING, time.monotonic()
                    self._cond.notify_all()
                    return True
                self._cond.wait(timeout=OWNER_CHECK_S)

    def _watch(self, job: WorkerJob) -> None:
        try:
            if self._acquire(job):
                self._run_process(job)
            else:
                self._release(job)
                job._finish(JobStatus.CANCELLED)
        except Exception as exc:  # a bug here must cost one job, never the slot or the queue
            traceback.print_exc()
            self._release(job)
            job._finish(JobStatus.FAILED, LabError("err_internal", detail=f"{type(exc).__name__}: {exc}"))
        finally:
            self._release(job)

    def _release(self, job: WorkerJob) -> None:
        """Free ``job``'s slot or place in the queue: before it is marked finished, so that whoever sees it
        finished sees the pool without it."""
        with self._cond:
            if any(queued is job for queued in self._queue):
                self._queue.remove(job)  # identity: WorkerJob compares by identity
            self._running.discard(job)
            self._cond.notify_all()

    def _run_process(self, job: WorkerJob) -> None:
        context = worker_context()
        receiver, sender = context.Pipe(duplex=False)
        stop_flag = context.Event()
        process = context.Process(
            target=_worker_main, args=(job.task, job.args, sender, stop_flag, job.settings),
            name=f"{PROCESS_PREFIX}-{job.name}", daemon=True,
        )
        process.start()
        sender.close()  # the worker holds the only writing end now: its exit ends our reads
        job.pid = process.pid
        final: Result | Failure | None = None
        killed_because: KillReason | None = None
        stop_forwarded_at: float | None = None
        try:
            while True:
                now = time.monotonic()
                job.check_owner()
                if job.stop_requested and stop_forwarded_at is None:
                    stop_flag.set()
                    stop_forwarded_at = now
                if killed_because is None:
                    killed_because = self._overdue(job, now, stop_forwarded_at)
                    if killed_because is not None:
                        process.kill()
                ready = wait([receiver, process.sentinel], timeout=POLL_S)
                if receiver in ready:
                    try:
                        message: Message = receiver.recv()
                    except EOFError:  # the worker closed its end: it has ended
                        break
                    if isinstance(message, Event):
                        job.on_event(message.payload)
                    else:
                        final = message
                elif process.sentinel in ready:
                    break
        finally:
            receiver.close()
            process.join(timeout=JOIN_S)
            if process.is_alive():
                process.kill()
                process.join(timeout=JOIN_S)
        self._release(job)  # its process has ended: the next job may start while this one's result is built
        self._settle(job, final, process.exitcode, killed_because)

    @staticmethod
    def _overdue(job: WorkerJob, now: float, stop_forwarded_at: float | None) -> KillReason | None:
        if job.abandoned and stop_forwarded_at is not None and now - stop_forwarded_at > ABANDONED_KILL_S:
            return KillReason.ABANDONED
        started = job.started_at or now
        if job.time_limit_s is not None and now - started > job.time_limit_s + job.kill_grace_s():
            return KillReason.TIME_LIMIT
        return None

    @staticmethod
    def _settle(job: WorkerJob, final: Result | Failure | None, exitcode: int | None,
                killed_because: KillReason | None) -> None:
        if isinstance(final, Result):
            job.peak_rss_mb = final.peak_rss_mb
            try:
                job.on_result(final.value)
            except LabError as err:
                job._finish(JobStatus.FAILED, err)
                return
            job._finish(JobStatus.DONE)
        elif isinstance(final, Failure):
            job.peak_rss_mb = final.peak_rss_mb
            job._finish(JobStatus.FAILED, final.error())
        elif killed_because is KillReason.ABANDONED:
            job._finish(JobStatus.CANCELLED)
        elif killed_because is KillReason.TIME_LIMIT:
            try:
                salvaged = job.on_killed(killed_because)
            except LabError as err:
                job._finish(JobStatus.FAILED, err)
                return
            if salvaged:
                job._finish(JobStatus.DONE)
            else:
                job._finish(JobStatus.FAILED, LabError("err_job_time_killed", seconds=f"{job.time_limit_s:.0f}"))
        else:
            key, params = _describe_exit(exitcode)
            job._finish(JobStatus.FAILED, LabError(key, **params))
