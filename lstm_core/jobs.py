"""Background training jobs: one worker thread each, a cap on how many train at once, a visible queue."""

from __future__ import annotations

import atexit
import math
import os
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from lstm_core.config import RunConfig
from lstm_core.errors import LabError
from lstm_core.pipeline import Prepared
from lstm_core.runs import Run, train_run
from lstm_core.trainer import EpochRecord, Trainer

MAX_BATCH_POINTS = 3000  # the live chart's running batch loss is thinned beyond this
TRAIN_NICE = int(os.environ.get("LSTM_LAB_TRAIN_NICE", "10"))  # how far training threads step back for the UI
OWNER_CHECK_S = 1.0  # how often a job asks whether anyone is still there to see its result


def lower_thread_priority(nice: int) -> bool:
    """Raise the calling thread's nice value by ``nice`` so that, on a busy CPU, the server's UI threads run first.

    Linux only: there a thread has its own nice value, named by its native id. Returns whether it changed.
    """
    if nice <= 0 or sys.platform != "linux":
        return False
    tid = threading.get_native_id()
    try:
        os.setpriority(os.PRIO_PROCESS, tid, min(os.getpriority(os.PRIO_PROCESS, tid) + nice, 19))
    except OSError:
        return False
    return True


@dataclass
class Progress:
    """A consistent snapshot of a job, safe to read from the UI thread."""

    status: str  # "queued" | "running" | "done" | "failed" | "cancelled"
    queue_place: int  # 1-based place in the queue, 0 when not queued
    epoch: int
    epochs: int
    batch: int
    n_batches: int
    samples_per_s: float
    seconds_left: float | None
    history: list[EpochRecord]
    batch_steps: list[float]  # x of the batch-loss line, in epochs (fractional)
    batch_losses: list[float]  # running mean of the batch loss
    stop_requested: bool
    error: LabError | None = None


@dataclass
class TrainingJob:
    """One training run in a worker thread that never touches the UI."""

    config: RunConfig
    dataset_name: str
    frame: pd.DataFrame
    prepared: Prepared
    manager: JobManager
    stop_event: threading.Event = field(default_factory=threading.Event)
    owner_alive: Callable[[], bool] | None = None  # False once no one can ever see this job's result
    abandoned: bool = False  # stopped because its owner left
    status: str = "queued"
    run: Run | None = None
    error: LabError | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _epoch: int = 0
    _batch: int = 0
    _n_batches: int = 0
    _started: float = 0.0
    _samples: int = 0
    _history: list[EpochRecord] = field(default_factory=list)
    _batch_steps: list[float] = field(default_factory=list)
    _batch_losses: list[float] = field(default_factory=list)
    _thin: int = 1
    _running_loss: float = math.nan
    _owner_checked: float = 0.0

    def stop(self) -> None:
        """Ask the job to end within one batch (or leave the queue); the best weights are kept."""
        self.stop_event.set()
        self.manager.wake()

    def check_owner(self) -> None:
        """Stop, as abandoned, once ``owner_alive`` says no one is left to see the result (at most once a second)."""
        now = time.monotonic()
        if self.owner_alive is None or self.stop_event.is_set() or now - self._owner_checked < OWNER_CHECK_S:
            return
        self._owner_checked = now
        if not self.owner_alive():
            self.abandoned = True
            self.stop()

    @property
    def finished(self) -> bool:
        return self.status in ("done", "failed", "cancelled")

    def progress(self) -> Progress:
        with self._lock:
            elapsed = time.perf_counter() - self._started if self._started else 0.0
            rate = self._samples / elapsed if elapsed > 0 else 0.0
            total = self.config.epochs * self.prepared.n_samples("train")
            done_samples = (self._epoch - 1) * self.prepared.n_samples("train") + self._batch * self.config.batch
            left = (total - done_samples) / rate if rate > 0 and self.status == "running" else None
            return Progress(
                status=self.status,
                queue_place=self.manager.queue_place(self),
                epoch=self._epoch,
                epochs=self.config.epochs,
                batch=self._batch,
                n_batches=self._n_batches,
                samples_per_s=rate,
                seconds_left=max(left, 0.0) if left is not None else None,
                history=list(self._history),
                batch_steps=list(self._batch_steps),
                batch_losses=list(self._batch_losses),
                stop_requested=self.stop_event.is_set(),
                error=self.error,
            )

    # ---- called from the worker thread

    def _on_batch(self, trainer: Trainer) -> None:
        with self._lock:
            self._epoch, self._batch, self._n_batches = trainer.epoch, trainer.batch, trainer.n_batches
            self._samples = trainer.samples_seen
            loss = trainer.batch_loss  # an exponential running mean: single batches are too noisy to read
            self._running_loss = loss if math.isnan(self._running_loss) else 0.9 * self._running_loss + 0.1 * loss
            if trainer.batch % self._thin == 0:
                self._batch_steps.append(trainer.epoch - 1 + trainer.batch / trainer.n_batches)
                self._batch_losses.append(self._running_loss)
                if len(self._batch_losses) > MAX_BATCH_POINTS:  # keep every other point, and sample half as often
                    self._batch_steps, self._batch_losses = self._batch_steps[::2], self._batch_losses[::2]
                    self._thin *= 2
        self.check_owner()

    def _on_epoch(self, trainer: Trainer) -> None:
        with self._lock:
            self._history = list(trainer.history)

    def _work(self) -> None:
        if not self.manager.acquire(self):
            with self._lock:
                self.status = "cancelled"
            return
        lower_thread_priority(TRAIN_NICE)
        try:
            with self._lock:
                self.status, self._started, self._epoch = "running", time.perf_counter(), 1
            run = train_run(
                self.frame, self.dataset_name, self.config, self.stop_event,
                on_batch_end=self._on_batch, on_epoch_end=self._on_epoch, prepared=self.prepared,
            )
            with self._lock:
                self.run, self.status = run, "done"
        except LabError as err:
            with self._lock:
                self.error, self.status = err, "failed"
        except Exception as exc:  # a bug must not kill the server or lose the session: report it as a sentence
            traceback.print_exc()
            with self._lock:
                self.error, self.status = LabError("err_internal", detail=f"{type(exc).__name__}: {exc}"), "failed"
        finally:
            self.manager.release(self)


class JobManager:
    """Admits at most ``max_running`` jobs at once across all sessions; the rest wait in FIFO order."""

    def __init__(self, max_running: int | None = None) -> None:
        self.max_running = max_running or int(os.environ.get("LSTM_LAB_MAX_JOBS", "2"))
        self._cond = threading.Condition()
        self._queue: deque[TrainingJob] = deque()
        self._running: set[int] = set()
        self._threads: list[tuple[TrainingJob, threading.Thread]] = []
        atexit.register(self.shutdown)

    def submit(
        self, frame: pd.DataFrame, dataset_name: str, config: RunConfig, owner_alive: Callable[[], bool] | None = None
    ) -> TrainingJob:
        """Validate (LabError before anything starts), then queue a job and start its thread.

        ``owner_alive``, called from the job's thread about once a second, returns False once no one can see the
        job's result any more (its browser session is gone): the job then leaves the queue or stops, and frees
        its place for others.
        """
        prepared = Prepared(frame, config)
        job = TrainingJob(config=config, dataset_name=dataset_name, frame=frame, prepared=prepared, manager=self,
                          owner_alive=owner_alive)
        thread = threading.Thread(target=job._work, name=f"train-{dataset_name}", daemon=True)
        with self._cond:
            self._queue.append(job)
            self._threads = [(j, t) for j, t in self._threads if t.is_alive()] + [(job, thread)]
        thread.start()
        return job

    def shutdown(self, timeout_s: float = 5.0) -> None:
        """Stop every job and wait for its thread, so the process never exits in the middle of a torch op."""
        with self._cond:
            threads = list(self._threads)
        for job, _ in threads:
            job.stop_event.set()
        self.wake()
        for _, thread in threads:
            thread.join(timeout=timeout_s)

    def queue_place(self, job: TrainingJob) -> int:
        with self._cond:
            return next((k + 1 for k, queued in enumerate(self._queue) if queued is job), 0)

    def running_count(self) -> int:
        with self._cond:
            return len(self._running)

    def wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def acquire(self, job: TrainingJob) -> bool:
        """Block until ``job`` heads the queue and a slot is free; False if it was stopped while waiting."""
        with self._cond:
            while not (self._queue and self._queue[0] is job and len(self._running) < self.max_running):
                job.check_owner()  # stop() inside only sets an event and notifies: safe under our lock
                if job.stop_event.is_set():
                    self._queue.remove(job)
                    self._cond.notify_all()
                    return False
                self._cond.wait(timeout=1.0)
            self._queue.popleft()
            self._running.add(id(job))
            self._cond.notify_all()
            return True

    def release(self, job: TrainingJob) -> None:
        with self._cond:
            self._running.discard(id(job))
            self._cond.notify_all()


_default_manager: JobManager | None = None
_default_lock = threading.Lock()


def default_manager() -> JobManager:
    """The process-wide manager shared by every browser session."""
    global _default_manager
    with _default_lock:
        if _default_manager is None:
            _default_manager = JobManager()
        return _default_manager


def format_seconds(seconds: float | None) -> str:
    """``75`` -> ``"1:15"``; ``None`` -> ``"–"``."""
    if seconds is None or not math.isfinite(seconds):
        return "–"
    seconds = int(round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"
