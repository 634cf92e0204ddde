"""Jobs in worker processes: a cap on how many run at once, a visible FIFO queue, and a server that only starts,
watches and stops them; where the worker runs is the backend's business (lstm_core.jobs.backends).

A job is generic: a picklable task function, its arguments, and the events it reports while it runs. The task runs
as ``task(*args, channel=..., stop=...)`` in a worker process (``run_task``: a forkserver child on this machine, or a
Ray worker on a cluster); it reports with ``channel.send(event)``, ends soon after ``stop.is_set()`` turns True, and
returns a picklable result. On the server a thread per job waits for its turn, launches it on the pool's backend,
hands its events to ``WorkerJob.on_event`` and its result to ``WorkerJob.on_result``. A crash, an out-of-memory kill
or a bug in one job ends that job with a sentence; the server and every other job go on. What comes back is one
typed message each: ``Started``, an ``Event`` per report, then a ``Result`` or a ``Failure``.
"""

from __future__ import annotations

import atexit
import gc
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
from typing import Any, Protocol

from lstm_core.errors import LabError
from lstm_core.server_settings import setting

POLL_S = 0.2  # how often a watcher looks at its job's stop request, owner and clock when the worker is quiet
OWNER_CHECK_S = 0.5  # how often a running job asks whether anyone is still there to see its result
ABANDONED_KILL_S = 30.0  # a worker still busy this long after its owner left is killed (no one waits for it)
# the least a worker past its time limit gets to finish (a job that measures its evaluation may get longer: see
# WorkerJob.kill_grace_s) before it is killed
TIME_LIMIT_KILL_S = 60.0
JOIN_S = 10.0  # how long a killed worker may take to be gone before the watcher stops waiting for it
DEFAULT_MAX_JOBS = 2  # jobs at once when neither the server (LSTM_LAB_MAX_JOBS) nor the backend says otherwise
# how a worker was lost, said beside the run the server kept from its last best weights (the failures' own sentences
# end with "try again")
KEPT_AFTER = {"err_worker_killed": "kept_worker_killed", "err_worker_exited": "kept_worker_exited",
              "err_worker_lost": "kept_worker_lost", "err_ray_lost": "kept_ray_lost"}


class JobStatus(StrEnum):
    """Where a job is in its life."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"  # stopped, or its owner left, while it waited in the queue


FINISHED = frozenset({JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED})


class BackendKind(StrEnum):
    """Where jobs run: worker processes of this machine, or tasks on a Ray cluster."""

    LOCAL = "local"
    RAY = "ray"


class StopFlag(Protocol):
    def is_set(self) -> bool: ...


class Channel:
    """The worker's end of the line to the server: a task reports its progress with ``send``."""

    def __init__(self, put: Callable[[Message], None]) -> None:
        self._put = put  # a pipe's send, or a queue's put that a Ray task streams from

    def send(self, event: object) -> None:
        self._put(Event(event))


# ---- what comes back from a worker to the server: one typed message each, read by field


@dataclass(frozen=True)
class Started:
    """The worker began the task: where it runs (its process on its host), the job's first message."""

    pid: int
    host: str


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


Message = Started | Event | Result | Failure


@dataclass(frozen=True)
class Ended:
    """What an execution answers once its worker is gone: nothing more will come."""


class KillReason(StrEnum):
    """Why the watcher killed a worker that did not end by itself."""

    ABANDONED = "abandoned"  # its owner left and it did not stop within ABANDONED_KILL_S
    TIME_LIMIT = "time_limit"  # past its time limit by its kill grace (WorkerJob.kill_grace_s)
    LOST = "lost"  # not killed by the watcher: it ended without a last message (killed from outside, its machine gone)


@dataclass(frozen=True)
class WorkerSettings:
    """How a worker process sets itself up before its task runs."""

    nice: int = 10  # steps down in priority, so that the server answers clicks first on a busy CPU (see settle_worker)
    torch_threads: int = 1  # one core per job: jobs run beside each other and beside the server
    memory_cap_mb: float | None = None  # the most heap it may add (RLIMIT_DATA): beyond it an allocation fails cleanly


def settle_worker(settings: WorkerSettings, reused: bool = False) -> Callable[[], None]:
    """Set the calling thread's priority and the process's torch threads, allocator and heap cap for one task;
    returns what lifts the cap again.

    ``reused``: the process outlives the task (a Ray worker, which Ray already runs below its own priority, at nice
    15 by default): the thread is made at least ``settings.nice`` nice rather than that much nicer again.
    """
    if settings.nice > 0:
        current = os.nice(0)
        wanted = max(current, settings.nice) if reused else current + settings.nice
        if wanted > current:
            os.nice(wanted - current)  # on Linux this thread's alone: a task in a thread of its own lowers only itself
    import torch  # preloaded by the forkserver (or by the Ray worker's previous task): no import cost here

    from lstm_core.jobs.memory import tune_malloc

    torch.set_num_threads(settings.torch_threads)
    tune_malloc()  # big training buffers stay in the heap instead of page-faulting back at every step
    if settings.memory_cap_mb is None or not sys.platform.startswith("linux"):
        return lambda: None
    # a wrong estimate then fails this job's allocation instead of waking the host's OOM killer for everyone
    before = resource.getrlimit(resource.RLIMIT_DATA)
    cap = _vm_data_bytes() + int(settings.memory_cap_mb * 2**20)
    soft, hard = before
    resource.setrlimit(resource.RLIMIT_DATA, (cap if hard == resource.RLIM_INFINITY else min(cap, hard), hard))
    return lambda: resource.setrlimit(resource.RLIMIT_DATA, before)


def _vm_data_bytes() -> int:
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmData:"))
    return int(line.split()[1]) * 1024


def peak_rss_mb() -> float:
    """This process's peak resident memory since it started or since ``reset_peak_rss`` (Linux: VmHWM)."""
    if sys.platform.startswith("linux"):
        with open("/proc/self/status") as status:
            line = next((line for line in status if line.startswith("VmHWM:")), None)
        if line is not None:
            return int(line.split()[1]) / 1024
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # Linux reports KB, macOS bytes
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


def reset_peak_rss() -> None:
    """Start counting this process's peak resident memory afresh (Linux), for a worker that runs many tasks."""
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
    except OSError:
        pass  # not Linux, or a kernel without it: the peak then counts from the process's start


def run_task(task: Callable[..., Any], args: tuple, channel: Channel, stop: StopFlag, settings: WorkerSettings,
             reused: bool = False) -> Result | Failure:
    """The body of every worker, here or on a cluster: settle, run the task, and say how it ended.

    ``reused``: the process outlives this task (a Ray worker), so its peak memory is counted from now and its heap cap
    lifted afterwards. A LabError is its sentence; a failed allocation is "out of memory"; a bug is reported as a
    sentence, with its traceback on the worker's stderr (the server's log, or the cluster's).
    """
    if reused:
        reset_peak_rss()
    lift_cap: Callable[[], None] = lambda: None  # noqa: E731
    try:
        lift_cap = settle_worker(settings, reused)
        try:
            return Result(task(*args, channel=channel, stop=stop), peak_rss_mb())
        except LabError as err:
            return Failure(err.key, err.params, peak_rss_mb())
        except MemoryError:
            return Failure("err_job_out_of_memory", {}, peak_rss_mb())
        except RuntimeError as exc:
            if "DefaultCPUAllocator" not in str(exc):  # torch's words for a failed CPU allocation
                raise
            return Failure("err_job_out_of_memory", {}, peak_rss_mb())
    except Exception as exc:  # a bug in a task: report it as a sentence, and its traceback to the log
        traceback.print_exc()
        return Failure("err_internal", {"detail": f"{type(exc).__name__}: {exc}"}, peak_rss_mb())
    finally:
        lift_cap()
        if reused:  # the process waits for its next job: what this one freed goes back to the node
            from lstm_core.jobs.memory import release_heap

            gc.collect()
            release_heap()


def describe_exit(exitcode: int | None) -> LabError:
    """Why a local worker process ended without a last message, from its exit code."""
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = str(-exitcode)
        return LabError("err_worker_killed", signal=name)
    return LabError("err_worker_exited", code=exitcode)


class Execution(Protocol):
    """One job's worker, wherever it runs, as its watcher thread sees it."""

    def receive(self, timeout_s: float) -> Message | Ended | None:
        """The worker's next message; None when none came within ``timeout_s``; Ended once it is gone."""

    def forward_stop(self) -> None:
        """Pass the job's Stop to the worker (its task sees ``stop.is_set()`` within a step)."""

    def kill(self) -> None:
        """End the worker now, whatever it is doing."""

    def close(self) -> LabError:
        """Release the worker (killing it if it still runs); why it ended, for a job that sent no last message."""


class Backend(Protocol):
    """Where a pool's jobs run (lstm_core.jobs.backends): it launches one job's worker and knows its own capacity."""

    kind: BackendKind

    def launch(self, job: WorkerJob) -> Execution:
        """Start ``job``'s task in a worker; its messages follow through the returned execution."""

    def slots(self) -> int | None:
        """How many jobs it runs at once when the server sets no cap; None for no opinion."""

    def check_fits(self, memory_mb: float) -> None:
        """LabError when no worker could hold a job estimated at ``memory_mb``, before the job is queued."""

    def warm_up(self) -> threading.Thread | None:
        """Prepare workers in the background (imports, a connection), so the first job does not wait for it."""


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
    memory_mb: float | None = None  # its estimated peak, declared to a cluster that places jobs by memory
    owner: str | None = None  # who asked (a client address's tag): the queue takes owners in turn; None: its own turn
    status: JobStatus = JobStatus.QUEUED
    result: Any = None
    error: LabError | None = None
    notice: LabError | None = None  # a sentence for its owner beside its progress (it trains elsewhere than asked)
    abandoned: bool = False  # stopped because its owner left
    pid: int | None = None  # the worker's process, on ``host``
    host: str | None = None
    peak_rss_mb: float | None = None  # the worker's, reported with its result
    submitted_at: float = field(default_factory=time.monotonic)
    started_at: float | None = None  # it left the queue for a slot
    began_at: float | None = None  # its worker reported that the task began (a cluster may place it later)
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
        """The worker was killed past its time limit, or ended without a last message (``reason``); True when the job
        made its result from what it had received (server side; may raise LabError). By default nothing can be saved."""
        return False

    def on_result(self, result: object) -> None:
        """The task's return value (server side); may raise LabError."""
        self.result = result

    def _finish(self, status: JobStatus, error: LabError | None = None) -> None:
        with self._lock:
            self.error, self.ended_at = error, time.monotonic()
            self.status = status


class WorkerPool:
    """Runs at most ``max_running`` jobs at once across all sessions, each in a worker of ``backend``; the rest wait,
    their owners taking turns (round robin: an owner's second job waits behind everyone else's first), in arrival order
    among equals.

    The cap is ``max_running`` when given, else LSTM_LAB_MAX_JOBS, else what the backend can run (a cluster's CPUs),
    else DEFAULT_MAX_JOBS.
    """

    def __init__(self, backend: Backend, max_running: int | None = None) -> None:
        self.backend = backend
        self._max_running = max_running or setting("max_jobs")
        self._cond = threading.Condition()  # re-entrant: a stop() from inside a locked check may wake() us
        self._queue: deque[WorkerJob] = deque()
        self._served: dict[str, int] = {}  # jobs started per owner since the queue was last empty
        self._running: set[WorkerJob] = set()
        self._threads: list[threading.Thread] = []
        self._jobs: list[WorkerJob] = []
        self._exit_registered = False

    @property
    def max_running(self) -> int:
        """How many jobs run at once."""
        return max(1, self._max_running or self.backend.slots() or DEFAULT_MAX_JOBS)

    def start(self, job: WorkerJob) -> WorkerJob:
        """Queue ``job`` and start the thread that watches it; returns it."""
        job.pool = self
        thread = threading.Thread(target=self._watch, args=(job,), name=f"watch-{job.name}", daemon=True)
        if not self._exit_registered:
            # at exit, handlers run last-registered first: registered now, after the backend connected (a Ray cluster,
            # when the job was sized), the jobs stop while their backend can still tell them to
            atexit.register(self.shutdown)
            self._exit_registered = True
        with self._cond:
            self._queue.append(job)
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]
            self._jobs = [j for j in self._jobs if not j.finished] + [job]
        thread.start()
        return job

    def warm_up(self) -> threading.Thread | None:
        """Let the backend prepare its workers in the background (the forkserver imports torch once; a cluster
        connects), so the first job does not wait for it."""
        return self.backend.warm_up()

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
            return next((k + 1 for k, queued in enumerate(self._turns()) if queued is job), 0)

    def _turns(self) -> list[WorkerJob]:
        """The queue in the order jobs will start: round robin over owners, each owner's jobs taking the turns after
        those it was already served since the queue was last empty, so that one owner's many jobs cannot all go ahead
        of another's one. Call with the lock held."""
        seen: dict[str, int] = {}
        ranked = []
        for arrival, job in enumerate(self._queue):
            if job.owner is None:
                turn = 0
            else:
                turn = self._served.get(job.owner, 0) + seen.get(job.owner, 0)
                seen[job.owner] = seen.get(job.owner, 0) + 1
            ranked.append((turn, arrival, job))
        return [job for _, _, job in sorted(ranked, key=lambda r: (r[0], r[1]))]

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
                if len(self._running) < self.max_running and self._queue and self._turns()[0] is job:
                    self._queue.remove(job)
                    self._running.add(job)
                    if not self._queue:  # everyone was served: a new round, counting only the jobs still running
                        self._served = {}
                        for running in self._running:
                            if running.owner is not None:
                                self._served[running.owner] = self._served.get(running.owner, 0) + 1
                    elif job.owner is not None:
                        self._served[job.owner] = self._served.get(job.owner, 0) + 1
                    with job._lock:
                        job.status, job.started_at = JobStatus.RUNNING, time.monotonic()
                    self._cond.notify_all()
                    return True
                self._cond.wait(timeout=OWNER_CHECK_S)

    def _watch(self, job: WorkerJob) -> None:
        try:
            if self._acquire(job):
                self._run(job)
            else:
                self._release(job)
                job._finish(JobStatus.CANCELLED)
        except LabError as err:  # its backend could not start it (a cluster gone, with nowhere else to go)
            self._release(job)
            job._finish(JobStatus.FAILED, err)
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

    def _run(self, job: WorkerJob) -> None:
        """Launch ``job`` on the backend and follow it to its end: its messages, its Stop, its owner and its clock."""
        execution = self.backend.launch(job)
        final: Result | Failure | None = None
        killed_because: KillReason | None = None
        killed_at: float | None = None
        stop_forwarded_at: float | None = None
        try:
            while True:
                now = time.monotonic()
                job.check_owner()
                if job.stop_requested and stop_forwarded_at is None:
                    execution.forward_stop()
                    stop_forwarded_at = now
                if killed_because is None:
                    killed_because = self._overdue(job, now, stop_forwarded_at)
                    if killed_because is not None:
                        execution.kill()
                        killed_at = now
                elif now - (killed_at or now) > JOIN_S:
                    break  # killed, and still not gone (a frozen process on a remote node): stop waiting for it
                message = execution.receive(POLL_S)
                if message is None:
                    continue
                if isinstance(message, Ended):
                    break
                if isinstance(message, Started):
                    with job._lock:
                        job.pid, job.host, job.began_at = message.pid, message.host, time.monotonic()
                elif isinstance(message, Event):
                    job.on_event(message.payload)
                else:
                    final = message
        finally:
            lost = execution.close()
        self._release(job)  # its worker has ended: the next job may start while this one's result is built
        self._settle(job, final, lost, killed_because)

    @staticmethod
    def _overdue(job: WorkerJob, now: float, stop_forwarded_at: float | None) -> KillReason | None:
        if job.abandoned and stop_forwarded_at is not None and now - stop_forwarded_at > ABANDONED_KILL_S:
            return KillReason.ABANDONED
        started = job.began_at or job.started_at or now  # a job a cluster has not placed yet is on the clock too
        if job.time_limit_s is not None and now - started > job.time_limit_s + job.kill_grace_s():
            return KillReason.TIME_LIMIT
        return None

    @staticmethod
    def _settle(job: WorkerJob, final: Result | Failure | None, lost: LabError | None,
                killed_because: KillReason | None) -> None:
        """End ``job`` from its last message; without one, from why the watcher killed it, else from how its
        worker was ``lost``."""
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
        else:  # killed past its time limit, or from outside (SIGKILL, the OOM killer, a lost node): keep what it sent
            reason = killed_because or KillReason.LOST
            try:
                salvaged = job.on_killed(reason)
            except LabError as err:
                job._finish(JobStatus.FAILED, err)
                return
            if salvaged:
                if reason is KillReason.LOST and lost is not None:  # why it ended early, beside the run it left
                    job.notice = LabError(KEPT_AFTER[lost.key], **lost.params) if lost.key in KEPT_AFTER else lost
                job._finish(JobStatus.DONE)
            elif reason is KillReason.TIME_LIMIT:
                job._finish(JobStatus.FAILED, LabError("err_job_time_killed", seconds=f"{job.time_limit_s:.0f}"))
            else:
                job._finish(JobStatus.FAILED, lost or LabError("err_worker_exited", code=None))
