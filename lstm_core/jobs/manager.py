"""Training jobs: each trains in a worker process (lstm_core.jobs.workers: on this machine, or on a Ray cluster) and
streams progress back for the live chart.

The worker runs ``train_task``, which is ``train_run`` with its progress sent as ``TrainTick`` messages; it returns
the run as a ``SavedRun`` (record and safetensors bytes), which the server turns into a ``Run`` with ``Run.restore``,
as it does a bundle. Limits are checked before anything starts (lstm_core.jobs.limits).
"""

from __future__ import annotations

import collections
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import pandas as pd

from lstm_core.basket.data import Basket
from lstm_core.basket.run import PooledData, SavedBasket, prepare_basket, score_basket, train_basket
from lstm_core.config import RunConfig
from lstm_core.data.dataset import frame_fingerprint
from lstm_core.errors import LabError
from lstm_core.jobs.backends import backend_for, ray_address
from lstm_core.jobs.backends.local import LocalBackend
from lstm_core.jobs.limits import JobLimits, MemoryEstimate, check_job_fits, eval_chunk
from lstm_core.jobs.workers import (
    TIME_LIMIT_KILL_S,
    Backend,
    Channel,
    JobStatus,
    KillReason,
    StopFlag,
    WorkerJob,
    WorkerPool,
    WorkerSettings,
)
from lstm_core.pipeline import Cutoffs, Prepared
from lstm_core.runs.record import EpochRecord, StopReason
from lstm_core.runs.run import Checkpoint, Run, SavedRun, finish_run, train_run
from lstm_core.server_settings import setting, spec
from lstm_core.trainer import Trainer, TrainTick

__all__ = ["BasketJob", "JobManager", "JobStatus", "JobTicket", "Progress", "TrainTick", "TrainingJob", "default_manager",
           "format_seconds"]

MAX_BATCH_POINTS = 3000  # the live chart's running batch loss is thinned beyond this
TICK_S = 0.1  # a worker reports at most this often (and at every epoch's end)
RATE_MIN_BATCHES = 3  # no rate, and so no time left, before this many batches have been timed
TRAIN_NICE_DEFAULT = spec("train_nice").default
# a worker sends its best weights whenever they improve (a large model at most every CHECKPOINT_EVERY_S) and when
# training ends, so that a kill past the time limit still leaves a run
CHECKPOINT_EVERY_S = 2.0
CHECKPOINT_FREE_BYTES = 256 * 1024  # weights this small go every time they improve
# a job past its time limit gets this many times its measured final evaluation (timed on the same host, under the
# same load) before it is killed, and never less than TIME_LIMIT_KILL_S
EVAL_GRACE_FACTOR = 10.0
# identical requests share one job; its run is kept this long for those who ask after it ended (and this many runs)
SHARED_RUN_KEEP_S = 1800.0
SHARED_RUNS = 8
SHAREABLE = frozenset({StopReason.COMPLETED, StopReason.EARLY_STOPPED})  # a run another Start would reproduce


# ---------------------------------------------------------------- in the worker


class _Reporter:
    """Trainer callbacks that batch progress into ticks, so the pipe carries tens of messages a second, not hundreds."""

    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self.losses: list[float] = []
        self.sent_at = 0.0  # so the first batch goes out at once: it tells the server that training began
        self.checkpoint_epoch: int | None = None  # the best epoch of the checkpoint last sent
        self.checkpoint_at = -math.inf

    def on_batch(self, trainer: Trainer) -> None:
        self.losses.append(trainer.batch_loss)
        if time.perf_counter() - self.sent_at >= TICK_S:
            self.send(trainer)

    def on_epoch(self, trainer: Trainer) -> None:
        self.send(trainer, history=True)
        if trainer.best_epoch == self.checkpoint_epoch:
            return
        size = sum(4 * tensor.numel() for tensor in trainer.best_state.values())
        if size <= CHECKPOINT_FREE_BYTES or time.perf_counter() - self.checkpoint_at >= CHECKPOINT_EVERY_S:
            self.send_checkpoint(trainer)

    def on_fit_end(self, trainer: Trainer) -> None:
        """Training is over: the best weights and the whole history go to the server before the final evaluation."""
        self.send_checkpoint(trainer)

    def send_checkpoint(self, trainer: Trainer) -> None:
        self.channel.send(Checkpoint.of(trainer))
        self.checkpoint_epoch, self.checkpoint_at = trainer.best_epoch, time.perf_counter()

    def send(self, trainer: Trainer, history: bool = False) -> None:
        self.channel.send(trainer.tick(tuple(self.losses), with_history=history))
        self.losses, self.sent_at = [], time.perf_counter()


def train_task(frame: pd.DataFrame, dataset_name: str, config: RunConfig, limits: JobLimits, *, channel: Channel,
               stop: StopFlag) -> SavedRun:
    """Train ``config`` on ``frame`` (in a worker process), stopping at ``stop`` or at the time limit."""
    reporter = _Reporter(channel)
    run = train_run(frame, dataset_name, config, stop, on_batch_end=reporter.on_batch, on_epoch_end=reporter.on_epoch,
                    on_fit_end=reporter.on_fit_end, max_seconds=limits.max_job_s,
                    eval_chunk=eval_chunk(config, limits))  # type: ignore[arg-type]
    return run.saved(with_outputs=True)


def basket_task(names: tuple[str, ...], config: RunConfig, limits: JobLimits, *frames: pd.DataFrame, channel: Channel,
                stop: StopFlag) -> SavedBasket:
    """Train ``config`` on a basket's series pooled (in a worker process), stopping at ``stop`` or at the time limit;
    the run comes back scored per series and as a panel, as plain values. Each frame is an argument of its own, so
    that a cluster keeps one copy of each series for every job that reads it."""
    reporter = _Reporter(channel)
    run = train_basket(Basket.of_frames(names, frames), config, stop, on_epoch_end=reporter.on_epoch,  # type: ignore[arg-type]
                       on_batch_end=reporter.on_batch, on_fit_end=reporter.on_fit_end, max_seconds=limits.max_job_s)
    return run.saved()


# ---------------------------------------------------------------- on the server


@dataclass
class Progress:
    """A consistent snapshot of a job, safe to read from the UI thread."""

    status: JobStatus
    queue_place: int  # 1-based place in the queue, 0 when not queued
    tick: TrainTick  # the worker's latest report
    epochs: int
    samples_per_s: float | None  # None until a few batches have been timed
    seconds_left: float | None  # None until there is a measured rate; never beyond the time limit
    history: tuple[EpochRecord, ...]
    batch_steps: list[float]  # x of the batch-loss line, in epochs (fractional)
    batch_losses: list[float]  # running mean of the batch loss
    stop_requested: bool
    error: LabError | None = None
    time_limit_s: float | None = None
    notice: LabError | None = None  # where it trains instead of the cluster, or why its worker ended early

    @property
    def epoch(self) -> int:
        """The epoch in progress: 1 while epoch 0 (the untrained model) is scored, as the first to train is then next."""
        return max(self.tick.epoch, 1)

    @property
    def done_fraction(self) -> float:
        return min((self.epoch - 1 + self.tick.batch / max(self.tick.n_batches, 1)) / self.epochs, 1.0)


@dataclass
class _LossCurve:
    """The live chart's batch-loss line: an exponential running mean, thinned as it grows."""

    steps: list[float] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    seen: int = 0
    thin: int = 1
    running: float = math.nan

    def add(self, losses: tuple[float, ...], n_batches: int) -> None:
        for loss in losses:
            self.seen += 1
            # single batches are too noisy to read
            self.running = loss if math.isnan(self.running) else 0.9 * self.running + 0.1 * loss
            if self.seen % self.thin == 0:
                self.steps.append(self.seen / max(n_batches, 1))
                self.losses.append(self.running)
                if len(self.losses) > MAX_BATCH_POINTS:  # keep every other point, and sample half as often
                    self.steps, self.losses = self.steps[::2], self.losses[::2]
                    self.thin *= 2


_NO_TICK = TrainTick(epoch=0, batch=0, n_batches=0, samples=0, train_seconds=0.0, losses=())


@dataclass(eq=False, kw_only=True)
class TrainingJob(WorkerJob):
    """One training run in a worker process; the server keeps its data and restores the ``Run`` when it ends."""

    config: RunConfig
    dataset_name: str
    frame: pd.DataFrame
    prepared: Prepared
    estimate: MemoryEstimate | None = None
    run: Run | None = None
    first_batch_at: float | None = None  # monotonic time the first training batch was reported
    salvaged: bool = False  # its worker was killed (time limit, or from outside): the server finished the run from its checkpoint
    watchers: Watchers | None = None  # the visitors sharing it (JobManager.request)
    _checkpoint: Checkpoint | None = None
    _tick: TrainTick = _NO_TICK
    _tick_at: float = 0.0
    _history: tuple[EpochRecord, ...] = ()
    _curve: _LossCurve = field(default_factory=_LossCurve)

    def on_event(self, event: object) -> None:
        if isinstance(event, Checkpoint):
            with self._lock:
                self._checkpoint = event
            return
        if not isinstance(event, TrainTick):
            return
        with self._lock:
            if self.first_batch_at is None and event.batch > 0:
                self.first_batch_at = time.monotonic()
            self._tick, self._tick_at = event, time.monotonic()
            if event.history is not None:
                self._history = event.history
            self._curve.add(event.losses, event.n_batches)

    def kill_grace_s(self) -> float:
        """At least ``min_kill_grace_s``; more for a job whose evaluation, timed on this host, is slow."""
        measured = self._tick.eval_seconds
        return max(self.min_kill_grace_s, EVAL_GRACE_FACTOR * measured if measured is not None else 0.0)

    def on_killed(self, reason: KillReason) -> bool:
        """Killed past its time limit (in its final evaluation, or a stalled epoch) or from outside (SIGKILL, the OOM
        killer, a lost node): the last best weights it reported become the run, scored here. False when it never
        reported any."""
        with self._lock:
            checkpoint = self._checkpoint
        if checkpoint is None:
            return False
        stop_reason = StopReason.TIME_LIMIT if reason is KillReason.TIME_LIMIT else StopReason.WORKER_LOST
        result = checkpoint.result(self.config, stop_reason)
        run = finish_run(self.frame, self.dataset_name, self.prepared, result)
        with self._lock:
            self._history, self.run, self.result, self.salvaged = run.history, run, run, True
        return True

    def on_result(self, result: object) -> None:
        assert isinstance(result, SavedRun)
        run = Run.restore(result, self.frame, self.prepared)
        with self._lock:
            self._history = run.history
            self.run = self.result = run

    def progress(self) -> Progress:
        # the pool's lock is never taken inside the job's: a watcher that starts a job holds the pool's and then takes
        # the job's, so a snapshot that waited for the pool while holding the job froze every queue of the server
        place = self.pool.queue_place(self) if self.pool is not None else 0
        with self._lock:
            tick = self._tick
            train_samples = self.prepared.n_samples("train")
            rate = None
            if tick.samples >= RATE_MIN_BATCHES * min(self.config.batch, train_samples) and tick.train_seconds > 0:
                rate = tick.samples / tick.train_seconds  # measured, validation passes included
            left = None
            if rate is not None and self.status == JobStatus.RUNNING:
                since_tick = time.monotonic() - self._tick_at
                left = max((self.config.epochs * train_samples - tick.samples) / rate - since_tick, 0.0)
                began = self.began_at or self.started_at
                if self.time_limit_s is not None and began is not None:
                    left = min(left, max(self.time_limit_s - (time.monotonic() - began), 0.0))
            return Progress(
                status=self.status,
                queue_place=place if self.status == JobStatus.QUEUED else 0,
                tick=tick,
                epochs=self.config.epochs,
                samples_per_s=rate,
                seconds_left=left,
                history=self._history,
                batch_steps=list(self._curve.steps),
                batch_losses=list(self._curve.losses),
                stop_requested=self.stop_requested,
                error=self.error,
                time_limit_s=self.time_limit_s,
                notice=self.notice,
            )


@dataclass(eq=False, kw_only=True)
class BasketJob(TrainingJob):
    """One network trained on a basket's series in a worker process: its progress as a training job's (``prepared``
    is the pooled data), its result a ``SavedBasket``; the server keeps the series to score a salvaged checkpoint."""

    basket: Basket
    cutoffs: Cutoffs
    parts: list[Prepared]
    saved: SavedBasket | None = None

    def on_killed(self, reason: KillReason) -> bool:
        """Killed past its time limit or from outside: the last best weights it reported, scored here on every series
        and the panel. False when it never reported any."""
        with self._lock:
            checkpoint = self._checkpoint
        if checkpoint is None:
            return False
        stop_reason = StopReason.TIME_LIMIT if reason is KillReason.TIME_LIMIT else StopReason.WORKER_LOST
        saved = score_basket(self.basket, self.cutoffs, self.parts, checkpoint.result(self.config, stop_reason)).saved()
        with self._lock:
            self._history, self.saved, self.result, self.salvaged = saved.history, saved, saved, True
        return True

    def on_result(self, result: object) -> None:
        assert isinstance(result, SavedBasket)
        with self._lock:
            self._history = result.history
            self.saved = self.result = result


class Watchers:
    """The visitors holding tickets to one job: it lives while any of them is here and has not left it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.tickets: list[JobTicket] = []
        self.job: TrainingJob | None = None  # set once the job is made

    def join(self, owner_alive: Callable[[], bool] | None, shared: bool) -> JobTicket:
        ticket = JobTicket(self, owner_alive, shared)
        with self._lock:
            self.tickets.append(ticket)
        return ticket

    def anyone_here(self) -> bool:
        """The job's owner check: some ticket holder has not left and is still connected."""
        with self._lock:
            tickets = list(self.tickets)
        return any(t.here() for t in tickets)

    def others_here(self, ticket: JobTicket) -> int:
        with self._lock:
            tickets = [t for t in self.tickets if t is not ticket]
        return sum(t.here() for t in tickets)


@dataclass(eq=False)
class JobTicket:
    """One visitor's hold on a training job that others may share: the job's progress and run, and a Stop of its own,
    which ends the job (keeping its best weights) only when no one else still watches it, and otherwise lets this
    visitor go while the others' run trains on."""

    watchers: Watchers
    owner_alive: Callable[[], bool] | None
    shared: bool  # it joined a job another visitor started (queued, training, or finished and kept)
    left: bool = False  # stopped while others watched: the job is no longer this visitor's

    @property
    def job(self) -> TrainingJob:
        assert self.watchers.job is not None
        return self.watchers.job

    def here(self) -> bool:
        return not self.left and (self.owner_alive is None or self.owner_alive())

    def stop(self) -> None:
        if self.watchers.others_here(self):
            self.left = True
        else:
            self.job.stop()

    @property
    def status(self) -> JobStatus:
        return JobStatus.CANCELLED if self.left else self.job.status

    @property
    def finished(self) -> bool:
        return self.left or self.job.finished

    @property
    def run(self) -> Run | None:
        return None if self.left else self.job.run

    @property
    def basket(self) -> SavedBasket | None:
        """A basket job's result (None for a one-series job, or while it trains)."""
        return None if self.left or not isinstance(self.job, BasketJob) else self.job.saved

    @property
    def error(self) -> LabError | None:
        return None if self.left else self.job.error

    @property
    def notice(self) -> LabError | None:
        return self.job.notice

    @property
    def config(self) -> RunConfig:
        return self.job.config

    def sharing(self) -> int:
        """How many visitors asked for this job, this one included."""
        return len(self.watchers.tickets)

    def progress(self) -> Progress:
        p = self.job.progress()
        return replace(p, status=JobStatus.CANCELLED, queue_place=0, error=None) if self.left else p


class JobManager(WorkerPool):
    """The pool that trains: validates and sizes a job before it is queued, then runs it in a worker process of
    ``backend`` (default: this machine's)."""

    def __init__(self, max_running: int | None = None, limits: JobLimits | None = None,
                 settings: WorkerSettings | None = None, min_kill_grace_s: float = TIME_LIMIT_KILL_S,
                 backend: Backend | None = None) -> None:
        super().__init__(backend or LocalBackend(), max_running)
        self._share_lock = threading.Lock()
        self._live: dict[tuple, TrainingJob] = {}  # requests queued or training, by (data, name, config)
        self._finished: collections.OrderedDict[tuple, tuple[TrainingJob, float]] = collections.OrderedDict()
        self._by_workspace: dict[str, TrainingJob] = {}
        self.limits = limits or JobLimits.from_env()
        self.min_kill_grace_s = min_kill_grace_s
        nice = setting("train_nice")
        # a worker may add twice its budget of heap before an allocation fails: the estimate's margin, with room
        self.settings = settings or WorkerSettings(nice=nice, memory_cap_mb=2 * self.limits.max_job_mb)

    def submit(
        self, frame: pd.DataFrame, dataset_name: str, config: RunConfig, owner_alive: Callable[[], bool] | None = None,
        owner: str | None = None,
    ) -> TrainingJob:
        """Validate and check the memory estimate (LabError before anything starts), then queue a new job.

        ``owner_alive``, called by the job's watcher about twice a second, returns False once no one can see the
        job's result any more (its browser session is gone): the job then leaves the queue or stops, and frees
        its place for others. ``owner``: who asked (the queue takes owners in turn).
        """
        prepared = Prepared(frame, config)
        estimate = check_job_fits(config, len(frame), self.limits)
        self.backend.check_fits(estimate.total_mb)  # a cluster: some node must have that much memory to give
        job = TrainingJob(
            task=train_task, args=(frame, dataset_name, config, self.limits), name=dataset_name, owner_alive=owner_alive,
            time_limit_s=self.limits.max_job_s, min_kill_grace_s=self.min_kill_grace_s, settings=self.settings,
            memory_mb=estimate.total_mb, config=config, dataset_name=dataset_name, frame=frame, prepared=prepared,
            estimate=estimate, owner=owner,
        )
        self.start(job)
        return job

    # ---- one job for identical requests, one job per workspace

    def request(self, frame: pd.DataFrame, dataset_name: str, config: RunConfig, *,
                owner_alive: Callable[[], bool] | None = None, workspace: str | None = None,
                visitor: str | None = None) -> JobTicket:
        """A visitor's Start: the job training exactly this (the same data, by content, the same name, settings and
        seed) if one runs or recently finished, else a new one; the visitor's ticket to it.

        The same request gives the same weights bit for bit, so a class pressing Start on the defaults trains once.
        A workspace has one job at a time: a different request while it has one is LabError ``err_job_workspace_busy``
        (another tab of it gets that job's ticket with ``ticket_for``). ``visitor`` (a client address's tag) takes its
        turn in the queue with the others'.
        """
        key = (frame_fingerprint(frame), dataset_name, config)
        with self._share_lock:
            now = time.monotonic()
            for old in [k for k, (_, at) in self._finished.items() if now - at > SHARED_RUN_KEEP_S]:
                del self._finished[old]
            job = self._live.get(key)
            if job is not None and job.finished:  # finished since it was last asked for: kept if others may ask again
                del self._live[key]
                if job.status == JobStatus.DONE and job.run is not None and job.run.stop_reason in SHAREABLE:
                    self._finished[key] = (job, now)
                    while len(self._finished) > SHARED_RUNS:
                        self._finished.popitem(last=False)
                job = None
            if job is None and key in self._finished:
                job = self._finished[key][0]
                self._finished.move_to_end(key)
            self._by_workspace = {w: j for w, j in self._by_workspace.items() if not j.finished}
            busy = self._by_workspace.get(workspace) if workspace is not None else None
            if busy is not None and not busy.finished and busy is not job:
                raise LabError("err_job_workspace_busy")
            if job is not None and job.watchers is not None and not job.stop_requested:
                ticket = job.watchers.join(owner_alive, shared=True)
            else:
                watchers = Watchers()
                ticket = watchers.join(owner_alive, shared=False)
                job = self.submit(frame, dataset_name, config, owner_alive=watchers.anyone_here, owner=visitor)
                job.watchers, watchers.job = watchers, job
                self._live[key] = job
            if workspace is not None and not job.finished:
                self._by_workspace[workspace] = job
            return ticket

    def request_basket(self, basket: Basket, config: RunConfig, *, owner_alive: Callable[[], bool] | None = None,
                       workspace: str | None = None, visitor: str | None = None) -> JobTicket:
        """A visitor's Start on a basket: LabError before anything is queued when a series does not fit the settings at
        the one calendar, the estimate is over the server's limit, or the workspace has a job; else a new job (a
        basket's jobs are not shared) and its ticket."""
        with self._share_lock:  # cheap refusals first: preparing up to 12 series is not
            busy = self._by_workspace.get(workspace) if workspace is not None else None
            if busy is not None and not busy.finished:
                raise LabError("err_job_workspace_busy")
        estimate = check_job_fits(config, basket.rows, self.limits)
        self.backend.check_fits(estimate.total_mb)
        cutoffs, parts = prepare_basket(basket, config)
        name = ", ".join(basket.names)
        with self._share_lock:
            self._by_workspace = {w: j for w, j in self._by_workspace.items() if not j.finished}
            if workspace is not None and workspace in self._by_workspace:
                raise LabError("err_job_workspace_busy")
            watchers = Watchers()
            ticket = watchers.join(owner_alive, shared=False)
            job = BasketJob(
                task=basket_task, args=(tuple(basket.names), config, self.limits, *(ds.frame for ds in basket.datasets)),
                name="basket", owner_alive=watchers.anyone_here, time_limit_s=self.limits.max_job_s,
                min_kill_grace_s=self.min_kill_grace_s, settings=self.settings, memory_mb=estimate.total_mb,
                config=config, dataset_name=name, frame=basket.datasets[0].frame, prepared=PooledData(parts),  # type: ignore[arg-type]
                estimate=estimate, owner=visitor, basket=basket, cutoffs=cutoffs, parts=parts,
            )
            job.watchers, watchers.job = watchers, job
            self.start(job)
            if workspace is not None and not job.finished:
                self._by_workspace[workspace] = job
            return ticket

    def ticket_for(self, workspace: str, owner_alive: Callable[[], bool] | None = None) -> JobTicket | None:
        """A ticket to the job the workspace has queued or training (started in another tab, or before a refresh)."""
        with self._share_lock:
            job = self._by_workspace.get(workspace)
            if job is None or job.finished or job.stop_requested or job.watchers is None:
                return None
            return job.watchers.join(owner_alive, shared=False)


_default_manager: JobManager | None = None
_default_lock = threading.Lock()


def default_manager() -> JobManager:
    """The process-wide manager shared by every browser session, on the Ray cluster at LSTM_LAB_RAY_ADDRESS (on this
    machine while the cluster cannot be reached) or else on this machine; its workers get ready in the background (a
    forkserver imports torch; a cluster's driver connects)."""
    global _default_manager
    with _default_lock:
        if _default_manager is None:
            _default_manager = JobManager(backend=backend_for(ray_address(), local_fallback=True))
            _default_manager.warm_up()
        return _default_manager


def format_seconds(seconds: float | None) -> str:
    """``75`` -> ``"1:15"``; ``None`` -> ``"–"``."""
    if seconds is None or not math.isfinite(seconds):
        return "–"
    seconds = int(round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"
