"""A study's workers as jobs of a WorkerPool: the CLI's processes (on this machine, or tasks on a Ray cluster with
``--ray``), and the Tune page's, which share the training job cap and the server's backend."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import pandas as pd

from lstm_core.basket.data import Basket, is_basket, load_basket_spec
from lstm_core.errors import LabError
from lstm_core.jobs.backends.local import LocalBackend
from lstm_core.jobs.limits import JobLimits, estimate_job_mb
from lstm_core.jobs.workers import Backend, Channel, StopFlag, WorkerJob, WorkerPool, WorkerSettings
from lstm_core.tune.space import largest_config
from lstm_core.tune.storage import journal_path, storage_file
from lstm_core.tune.study import TrialEvent, TuneSpec, data_fingerprint, data_rows, open_study, run_trials


def tune_task(spec: TuneSpec, frame: pd.DataFrame | Basket | None = None, *, channel: Channel, stop: StopFlag) -> int:
    """A worker process's body (lstm_core.jobs.workers): run trials on ``frame`` (default: load ``spec.data``), reporting
    each as a ``TrialEvent``.

    The study was made before its workers start; a worker that cannot find its file (a journal, or SQLite) runs on a
    machine without it, and would otherwise start a study of its own there: that is one sentence instead.
    """
    path = storage_file(spec.storage, spec.study)
    if path is not None and not path.exists():
        raise LabError("err_tune_storage_not_shared", study=spec.study, host=socket.gethostname())
    frame = load_data(spec.data) if frame is None else frame
    return run_trials(spec, frame, stop, on_trial=channel.send)


def load_data(spec: str) -> pd.DataFrame | Basket:
    """What a study's ``data`` spec names: a basket (``basket:default``, ``a,b``) or one series' frame."""
    from lstm_core.data import load_source

    return load_basket_spec(spec) if is_basket(spec) else load_source(spec).frame


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
                   frame: pd.DataFrame | Basket | None = None, data_fingerprint: str | None = None) -> list[TuneWorkerJob]:
    """Queue ``spec.workers`` workers on ``pool`` (so they count against its cap like any training job).

    With ``frame`` each worker is sized by the search's costliest corner, which the pool's backend must have room
    for (LabError before anything starts), and carries the data itself. The study's default journal is named by its
    path here, where it was made, not where a worker runs.
    """
    memory_mb = None
    if frame is not None:
        limits = getattr(pool, "limits", None) or JobLimits.from_env()
        memory_mb = estimate_job_mb(largest_config(spec.base, spec.dims), data_rows(frame), limits)
        pool.backend.check_fits(memory_mb)
    if spec.storage is None:
        spec = replace(spec, storage=str(journal_path(None, spec.study)))
    jobs = [TuneWorkerJob(task=tune_task, args=(spec, frame), name=f"tune-{spec.study[:40]}-{k}", spec=spec,
                          on_trial=on_trial, settings=settings or WorkerSettings(), owner_alive=owner_alive,
                          memory_mb=memory_mb)
            for k in range(spec.workers)]
    for job in jobs:
        pool.start(job)
    return jobs


def run_workers(spec: TuneSpec, on_trial: Callable[[TrialEvent], None] | None = None, backend: Backend | None = None,
                frame: pd.DataFrame | Basket | None = None, opened: bool = False) -> list[TuneWorkerJob]:
    """Run ``spec.workers`` workers against the study until they end (Ctrl-C stops them): processes of this machine,
    or tasks of ``backend`` (a Ray cluster, which gets ``frame`` with each). The study is made (or joined, checked
    against its settings and data) first, so this alone runs a search; ``opened``: the caller did that already (the
    command line, which says so before the workers start)."""
    if not opened:
        open_study(spec, data_fingerprint(frame if frame is not None else load_data(spec.data)))
    pool = WorkerPool(backend or LocalBackend(), max_running=spec.workers)
    jobs = submit_workers(pool, spec, on_trial, WorkerSettings(nice=0), frame=frame)
    try:
        while not all(job.finished for job in jobs):
            time.sleep(0.2)
    except KeyboardInterrupt:
        for job in jobs:
            job.stop()
        pool.shutdown(timeout_s=30)
    return jobs
