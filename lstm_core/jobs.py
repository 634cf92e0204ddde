"""Training jobs: each trains in a worker process (lstm_core.workers) and streams progress back for the live chart.

The worker runs ``train_task`` and sends ``TrainTick`` events; the server turns them into ``Progress`` snapshots
and, at the end, turns the worker's ``TrainOutcome`` (weights as safetensors bytes, history, metrics, test
predictions) into a ``Run``. Limits are checked before anything starts (lstm_core.limits).
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors

from lstm_core.config import RunConfig
from lstm_core.errors import LabError
from lstm_core.evaluate import evaluate
from lstm_core.limits import JobLimits, MemoryEstimate, check_job_fits, eval_chunk_samples
from lstm_core.model import build_model
from lstm_core.pipeline import Prepared
from lstm_core.runs import Run, test_predictions
from lstm_core.trainer import EpochRecord, StopReason, Trainer
from lstm_core.workers import Channel, JobStatus, StopFlag, WorkerJob, WorkerPool, WorkerSettings

__all__ = ["JobManager", "JobStatus", "Progress", "TrainingJob", "default_manager", "format_seconds"]

MAX_BATCH_POINTS = 3000  # the live chart's running batch loss is thinned beyond this
TICK_S = 0.1  # a worker reports at most this often (and at every epoch's end)
RATE_MIN_BATCHES = 3  # no rate, and so no time left, before this many batches have been timed
TRAIN_NICE_DEFAULT = 10


# ---------------------------------------------------------------- in the worker


@dataclass(frozen=True)
class TrainTick:
    """What a worker reports: where training is, the batch losses since the last tick, and the history when it grew."""

    epoch: int
    batch: int
    n_batches: int
    samples: int  # training samples seen so far
    train_seconds: float  # wall time since the first training batch began (validation passes included)
    losses: tuple[float, ...]
    history: tuple[EpochRecord, ...] | None = None


@dataclass(frozen=True)
class TrainOutcome:
    """A finished training run as the worker hands it back: plain values and safetensors bytes, no live objects."""

    weights: bytes
    initial: bytes
    history: list[EpochRecord]
    best_epoch: int
    best_val_loss: float
    stop_reason: StopReason
    seconds: float
    batch_losses: list[float]
    test_prices: np.ndarray  # [S] predicted prices of the test period
    metrics: dict[str, dict[str, float | None]]


class _Reporter:
    """Trainer callbacks that batch progress into ticks, so the pipe carries tens of messages a second, not hundreds."""

    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self.losses: list[float] = []
        self.sent_at = 0.0  # so the first batch goes out at once: it tells the server that training began
        self.training_since: float | None = None

    def on_batch(self, trainer: Trainer) -> None:
        self.losses.append(trainer.batch_loss)
        if time.perf_counter() - self.sent_at >= TICK_S:
            self.send(trainer)

    def on_epoch(self, trainer: Trainer) -> None:
        if trainer.epoch == 0:  # the untrained model is scored: training starts now
            self.training_since = time.perf_counter()
        self.send(trainer, history=True)

    def send(self, trainer: Trainer, history: bool = False) -> None:
        now = time.perf_counter()
        started = self.training_since or now
        self.channel.send(TrainTick(
            epoch=trainer.epoch, batch=trainer.batch, n_batches=trainer.n_batches, samples=trainer.samples_seen,
            train_seconds=now - started, losses=tuple(self.losses),
            history=tuple(trainer.history) if history else None,
        ))
        self.losses, self.sent_at = [], now


def _tensors_bytes(state: dict) -> bytes:
    return save_safetensors({k: v.detach().contiguous().cpu() for k, v in state.items()})


def train_task(frame: pd.DataFrame, config: RunConfig, limits: JobLimits, *, channel: Channel,
               stop: StopFlag) -> TrainOutcome:
    """Train ``config`` on ``frame`` (in a worker process), stopping at ``stop`` or at the time limit."""
    prepared = Prepared(frame, config)
    chunk = eval_chunk_samples(config.window, config.hidden, config.layers, limits.eval_mb)
    trainer = Trainer(config, prepared, stop, max_seconds=limits.max_job_s, eval_chunk=chunk)  # type: ignore[arg-type]
    reporter = _Reporter(channel)
    trainer.add_callback("on_batch_end", reporter.on_batch)
    trainer.add_callback("on_epoch_end", reporter.on_epoch)
    result = trainer.fit()
    reporter.send(trainer, history=True)
    prices = test_predictions(prepared, result.model, chunk)
    return TrainOutcome(
        weights=_tensors_bytes(result.model.state_dict()),
        initial=_tensors_bytes(result.initial_state),
        history=result.history,
        best_epoch=result.best_epoch,
        best_val_loss=result.best_val_loss,
        stop_reason=result.stop_reason,
        seconds=result.seconds,
        batch_losses=result.batch_losses,
        test_prices=prices,
        metrics=evaluate(prepared, prices),
    )


# ---------------------------------------------------------------- on the server


@dataclass
class Progress:
    """A consistent snapshot of a job, safe to read from the UI thread."""

    status: JobStatus
    queue_place: int  # 1-based place in the queue, 0 when not queued
    epoch: int
    epochs: int
    batch: int
    n_batches: int
    samples_per_s: float | None  # None until a few batches have been timed
    seconds_left: float | None  # None until there is a measured rate; never beyond the time limit
    history: list[EpochRecord]
    batch_steps: list[float]  # x of the batch-loss line, in epochs (fractional)
    batch_losses: list[float]  # running mean of the batch loss
    stop_requested: bool
    error: LabError | None = None
    time_limit_s: float | None = None


@dataclass(eq=False, kw_only=True)
class TrainingJob(WorkerJob):
    """One training run in a worker process; the server keeps its data and builds the ``Run`` when it ends."""

    config: RunConfig
    dataset_name: str
    frame: pd.DataFrame
    prepared: Prepared
    estimate: MemoryEstimate | None = None
    run: Run | None = None
    first_batch_at: float | None = None  # monotonic time the first training batch was reported
    _epoch: int = 0
    _batch: int = 0
    _n_batches: int = 0
    _samples: int = 0
    _train_seconds: float = 0.0
    _tick_at: float = 0.0
    _history: list[EpochRecord] = field(default_factory=list)
    _batch_steps: list[float] = field(default_factory=list)
    _batch_losses: list[float] = field(default_factory=list)
    _n_losses: int = 0
    _thin: int = 1
    _running_loss: float = math.nan

    def on_event(self, event: object) -> None:
        if not isinstance(event, TrainTick):
            return
        with self._lock:
            if self.first_batch_at is None and event.batch > 0:
                self.first_batch_at = time.monotonic()
            self._epoch, self._batch, self._n_batches = event.epoch, event.batch, event.n_batches
            self._samples, self._train_seconds, self._tick_at = event.samples, event.train_seconds, time.monotonic()
            if event.history is not None:
                self._history = list(event.history)
            n_batches = max(event.n_batches, 1)
            for loss in event.losses:
                self._n_losses += 1
                # an exponential running mean: single batches are too noisy to read
                self._running_loss = loss if math.isnan(self._running_loss) else 0.9 * self._running_loss + 0.1 * loss
                if self._n_losses % self._thin == 0:
                    self._batch_steps.append(self._n_losses / n_batches)
                    self._batch_losses.append(self._running_loss)
                    if len(self._batch_losses) > MAX_BATCH_POINTS:  # keep every other point, and sample half as often
                        self._batch_steps, self._batch_losses = self._batch_steps[::2], self._batch_losses[::2]
                        self._thin *= 2

    def on_result(self, result: object) -> None:
        assert isinstance(result, TrainOutcome)
        model = build_model(self.config)
        model.load_state_dict(load_safetensors(result.weights))
        run = Run(
            config=self.config,
            dataset_name=self.dataset_name,
            frame=self.frame,
            model=model.eval(),
            initial_state=load_safetensors(result.initial),
            history=result.history,
            metrics=result.metrics,
            best_epoch=result.best_epoch,
            best_val_loss=result.best_val_loss,
            stop_reason=result.stop_reason,
            seconds=result.seconds,
            batch_losses=result.batch_losses,
        )
        run.__dict__["prepared"] = self.prepared  # seed the cached properties: no second preparation or prediction
        run.__dict__["test_predictions"] = result.test_prices
        with self._lock:
            self._history = list(result.history)
            self.run = self.result = run

    def progress(self) -> Progress:
        with self._lock:
            train_samples = self.prepared.n_samples("train")
            rate = None
            if self._samples >= RATE_MIN_BATCHES * min(self.config.batch, train_samples) and self._train_seconds > 0:
                rate = self._samples / self._train_seconds  # measured, validation passes included
            left = None
            if rate is not None and self.status == JobStatus.RUNNING:
                since_tick = time.monotonic() - self._tick_at
                left = max((self.config.epochs * train_samples - self._samples) / rate - since_tick, 0.0)
                if self.time_limit_s is not None and self.started_at is not None:
                    left = min(left, max(self.time_limit_s - (time.monotonic() - self.started_at), 0.0))
            return Progress(
                status=self.status,
                queue_place=self.pool.queue_place(self) if self.pool is not None else 0,
                epoch=self._epoch,
                epochs=self.config.epochs,
                batch=self._batch,
                n_batches=self._n_batches,
                samples_per_s=rate,
                seconds_left=left,
                history=list(self._history),
                batch_steps=list(self._batch_steps),
                batch_losses=list(self._batch_losses),
                stop_requested=self.stop_requested,
                error=self.error,
                time_limit_s=self.time_limit_s,
            )


class JobManager(WorkerPool):
    """The pool that trains: validates and sizes a job before it is queued, then runs it in a worker process."""

    def __init__(self, max_running: int | None = None, limits: JobLimits | None = None,
                 settings: WorkerSettings | None = None) -> None:
        super().__init__(max_running)
        self.limits = limits or JobLimits.from_env()
        nice = int(os.environ.get("LSTM_LAB_TRAIN_NICE", TRAIN_NICE_DEFAULT))
        # a worker may add twice its budget of heap before an allocation fails: the estimate's margin, with room
        self.settings = settings or WorkerSettings(nice=nice, memory_cap_mb=2 * self.limits.max_job_mb)

    def submit(
        self, frame: pd.DataFrame, dataset_name: str, config: RunConfig, owner_alive: Callable[[], bool] | None = None
    ) -> TrainingJob:
        """Validate and check the memory estimate (LabError before anything starts), then queue the job.

        ``owner_alive``, called by the job's watcher about twice a second, returns False once no one can see the
        job's result any more (its browser session is gone): the job then leaves the queue or stops, and frees
        its place for others.
        """
        prepared = Prepared(frame, config)
        estimate = check_job_fits(config, len(frame), self.limits)
        job = TrainingJob(
            task=train_task, args=(frame, config, self.limits), name=dataset_name, owner_alive=owner_alive,
            time_limit_s=self.limits.max_job_s, settings=self.settings,
            config=config, dataset_name=dataset_name, frame=frame, prepared=prepared, estimate=estimate,
        )
        self.start(job)
        return job


_default_manager: JobManager | None = None
_default_lock = threading.Lock()


def default_manager() -> JobManager:
    """The process-wide manager shared by every browser session; its forkserver starts in the background."""
    global _default_manager
    with _default_lock:
        if _default_manager is None:
            _default_manager = JobManager()
            _default_manager.warm_up()
        return _default_manager


def format_seconds(seconds: float | None) -> str:
    """``75`` -> ``"1:15"``; ``None`` -> ``"–"``."""
    if seconds is None or not math.isfinite(seconds):
        return "–"
    seconds = int(round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"
