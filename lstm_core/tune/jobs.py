"""A study's workers as jobs of a WorkerPool: the CLI's local processes, and the Tune page's, which share the
training job cap."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from lstm_core.backends.local import LocalBackend
from lstm_core.tune.study import TrialEvent, TuneSpec, run_trials
from lstm_core.workers import Channel, StopFlag, WorkerJob, WorkerPool, WorkerSettings


def tune_task(spec: TuneSpec, frame: pd.DataFrame | None = None, *, channel: Channel, stop: StopFlag) -> int:
    """A worker process's body (lstm_core.workers): run trials on ``frame`` (default: load ``spec.data``), reporting
    each as a ``TrialEvent``."""
    from lstm_core.data import load_source

    frame = load_source(spec.data).frame if frame is None else frame
    return run_trials(spec, frame, stop, on_trial=channel.send)


@dataclass(eq=False, kw_only=True)
class TuneWorkerJob(WorkerJob):
    """One tuning worker process; it hands each finished trial to ``on_trial`` (on the server, in its watcher)."""

    spec: TuneSpec
    on_trial: Callable[[TrialEvent], None] | None = None
    trials: list[TrialEvent] = field(default_factory=list)

    def on_event(self, event: object) -> None:
        if isinstance(event, TrialEvent):
            with self._lock:
                self.trials.append(event)
            if self.on_trial is not None:
                self.on_trial(event)


def submit_workers(pool: WorkerPool, spec: TuneSpec, on_trial: Callable[[TrialEvent], None] | None = None,
                   settings: WorkerSettings | None = None, owner_alive: Callable[[], bool] | None = None,
                   frame: pd.DataFrame | None = None) -> list[TuneWorkerJob]:
    """Queue ``spec.workers`` worker processes on ``pool`` (so they count against its cap like any training job)."""
    jobs = [TuneWorkerJob(task=tune_task, args=(spec, frame), name=f"tune-{spec.study[:40]}-{k}", spec=spec,
                          on_trial=on_trial, settings=settings or WorkerSettings(), owner_alive=owner_alive)
            for k in range(spec.workers)]
    for job in jobs:
        pool.start(job)
    return jobs


def run_workers(spec: TuneSpec, on_trial: Callable[[TrialEvent], None] | None = None) -> list[TuneWorkerJob]:
    """Run ``spec.workers`` local worker processes against the study until they end (Ctrl-C stops them)."""
    pool = WorkerPool(LocalBackend(), max_running=spec.workers)
    jobs = submit_workers(pool, spec, on_trial, WorkerSettings(nice=0))
    try:
        while not all(job.finished for job in jobs):
            time.sleep(0.2)
    except KeyboardInterrupt:
        for job in jobs:
            job.stop()
        pool.shutdown(timeout_s=30)
    return jobs
