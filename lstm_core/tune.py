"""Hyperparameter search with Optuna: a space generated from RunConfig's table, trials scored on validation loss only,
pruning, a study-wide trial budget and storage that several worker processes (or machines) share.

A study lives in one storage URL: by default a journal file in LSTM Lab's data folder (safe for several processes on
one machine), ``sqlite:///...`` for one worker, or any SQLAlchemy URL such as ``postgresql+psycopg://...`` that every
machine can reach. A worker (``tune_task``) runs trials until the study holds ``budget`` finished trials; a worker
that dies mid-trial stops beating its heartbeat, and the next worker to look marks that trial failed and goes on.
"""

from __future__ import annotations

import math
import os
import socket
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from enum import StrEnum
from pathlib import Path
from typing import Any

import optuna
import pandas as pd
from optuna.trial import FrozenTrial, TrialState

from lstm_core.config import SETTINGS, RunConfig, Target
from lstm_core.errors import LabError
from lstm_core.pipeline import Prepared
from lstm_core.trainer import Trainer
from lstm_core.workers import Channel, StopFlag, WorkerJob, WorkerPool, WorkerSettings

HEARTBEAT_S_DEFAULT = 10  # a live worker touches its running trial this often ...
GRACE_FACTOR = 3  # ... and a trial untouched for this many beats belongs to a dead worker
WAIT_POLL_S = 0.5  # a worker with nothing to start (the budget is taken by running trials) looks again this often
JOURNAL_NAME = "studies.journal"
_HEARTBEAT_ATTR = "lstm_lab:heartbeat"  # a system attr: not among the trial's user-visible attributes

optuna.logging.set_verbosity(optuna.logging.WARNING)  # our own lines say what happened, once


class PrunerKind(StrEnum):
    """How unpromising trials are ended early, from the validation loss they report each epoch."""

    MEDIAN = "median"
    HYPERBAND = "hyperband"
    NONE = "none"


FINISHED_STATES = (TrialState.COMPLETE, TrialState.PRUNED)  # the trials a budget counts
ACTIVE_STATES = (TrialState.RUNNING, TrialState.WAITING)


# ---------------------------------------------------------------- the search space


@dataclass(frozen=True)
class Dim:
    """One searched setting: a number range (``log``: sampled on a log scale) or a set of choices."""

    name: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    is_int: bool = False
    choices: tuple[str, ...] = ()


def _is_int(name: str) -> bool:
    return next(f.type for f in fields(RunConfig) if f.name == name) in ("int", int)


# where a first search starts, inside the table's limits: the table allows 512 hidden units and a learning rate of 1,
# which a newcomer's first study need not spend trials on
FIRST_RANGES: dict[str, tuple[float, float]] = {"hidden": (8, 128), "layers": (1, 3), "lr": (1e-4, 1e-2),
                                                 "batch": (16, 256), "window": (20, 120), "clip_grad": (0.1, 10.0),
                                                 "weight_decay": (0.0, 1e-3), "dropout": (0.0, 0.5)}


def searchable_names() -> list[str]:
    """Settings the search may vary, in the table's order."""
    return [name for name, setting in SETTINGS.items() if setting.searchable]


def table_dim(name: str) -> Dim:
    """The whole range (or every choice) the table allows ``name``; LabError when it cannot be searched."""
    setting = SETTINGS.get(name)
    if setting is None or not setting.searchable:
        raise LabError("err_tune_unknown_setting", name=name, choices=", ".join(searchable_names()))
    if setting.is_choice:
        return Dim(name, choices=setting.choices)
    is_int = _is_int(name)
    low, high = (int(setting.low), int(setting.high)) if is_int else (setting.low, setting.high)
    return Dim(name, low=low, high=high, log=setting.log, is_int=is_int)


def narrowed(name: str, low: float | None = None, high: float | None = None,
             choices: Sequence[str] | None = None) -> Dim:
    """``name``'s table range narrowed to [low, high] (or to some of its choices); LabError outside the table."""
    dim = table_dim(name)
    if dim.choices:
        picked = tuple(choices) if choices else dim.choices
        bad = [c for c in picked if c not in dim.choices]
        if bad:
            raise LabError("err_cfg_choice", name=name, value=bad[0], choices=", ".join(dim.choices))
        return Dim(name, choices=picked)
    low = dim.low if low is None else low
    high = dim.high if high is None else high
    if not (dim.low <= low <= high <= dim.high) or (dim.log and low <= 0):
        raise LabError("err_tune_bad_range", name=name, low=low, high=high, table_low=dim.low, table_high=dim.high)
    if dim.is_int:
        low, high = int(low), int(high)
    return Dim(name, low=low, high=high, log=dim.log, is_int=dim.is_int)


def parse_search(text: str) -> list[Dim]:
    """``"hidden=8:64,lr,cell=lstm|gru"`` -> dims; a bare name searches its whole table range."""
    dims: list[Dim] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        name, _, spec = part.partition("=")
        name = name.strip().replace("-", "_")
        if not spec:
            dims.append(table_dim(name))
        elif "|" in spec or SETTINGS.get(name) is not None and SETTINGS[name].is_choice:
            dims.append(narrowed(name, choices=[c.strip() for c in spec.split("|") if c.strip()]))
        else:
            low_text, sep, high_text = spec.partition(":")
            try:
                low, high = float(low_text), float(high_text if sep else low_text)
            except ValueError as exc:
                raise LabError("err_tune_bad_search", part=part) from exc
            dims.append(narrowed(name, low, high))
    names = [d.name for d in dims]
    if len(set(names)) != len(names) or not dims:
        raise LabError("err_tune_bad_search", part=text)
    return dims


def suggest_config(trial: optuna.Trial, base: RunConfig, dims: Sequence[Dim]) -> RunConfig:
    """The trial's config: ``base`` with every searched setting sampled.

    Two settings depend on others: dropout acts between layers (so a one-layer trial keeps 0) and a volatility
    window cannot be shorter than its horizon (so the window's low end rises to it).
    """
    values: dict[str, Any] = {}
    by_name = {d.name: d for d in dims}
    for dim in dims:
        if dim.name == "dropout":
            continue
        if dim.choices:
            values[dim.name] = trial.suggest_categorical(dim.name, list(dim.choices))
            continue
        low = dim.low
        if dim.name == "window" and base.target == Target.LOGVOL:
            low = max(low, base.horizon)
        suggest = trial.suggest_int if dim.is_int else trial.suggest_float
        values[dim.name] = suggest(dim.name, low, max(low, dim.high), log=dim.log)
    if "dropout" in by_name:
        layers = values.get("layers", base.layers)
        d = by_name["dropout"]
        values["dropout"] = trial.suggest_float("dropout", d.low, d.high) if layers > 1 else 0.0
    elif values.get("layers", base.layers) < 2:
        values["dropout"] = 0.0
    return base.with_(**values)


# ---------------------------------------------------------------- storage


def default_journal() -> Path:
    """The journal file that holds studies when no storage is named."""
    from lstm_core.workspace import data_dir

    return data_dir() / "tune" / JOURNAL_NAME


def mask_url(url: str | None) -> str:
    """``url`` with any password replaced by ``***``: what we print and show."""
    if not url or "://" not in url:
        return url or str(default_journal())
    import sqlalchemy.engine
    from sqlalchemy.exc import ArgumentError

    try:
        return sqlalchemy.engine.make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url.split("://", 1)[0] + "://***"


def heartbeat_s() -> int:
    return max(1, int(os.environ.get("LSTM_LAB_TUNE_HEARTBEAT_S", HEARTBEAT_S_DEFAULT)))


def _is_journal(url: str | None) -> bool:
    return not url or url.startswith("journal:") or "://" not in url


def open_storage(url: str | None, workers: int = 1) -> optuna.storages.BaseStorage:
    """The storage ``url`` names: a journal file (default), ``sqlite:///`` (one worker only) or a SQLAlchemy URL."""
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

    if _is_journal(url):
        from optuna.storages.journal import JournalFileBackend

        path = Path(url.removeprefix("journal:")) if url else default_journal()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # its default lock is a symlink that several processes on one machine take in turn
            return optuna.storages.JournalStorage(JournalFileBackend(str(path)))
        except OSError as exc:
            raise LabError("err_tune_storage_unreachable", url=str(path), detail=type(exc).__name__) from exc
    if url.startswith("sqlite:") and workers > 1:
        raise LabError("err_tune_sqlite_workers", workers=workers)
    beat = heartbeat_s()
    try:
        with warnings.catch_warnings():  # heartbeats are "experimental" in Optuna, and tested here
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.storages.RDBStorage(
                url, heartbeat_interval=beat, grace_period=beat * GRACE_FACTOR,
                engine_kwargs={"pool_pre_ping": True} if not url.startswith("sqlite:") else None,
            )
    except (ArgumentError, NoSuchModuleError, ValueError) as exc:
        raise LabError("err_tune_bad_storage", url=mask_url(url)) from exc
    except (SQLAlchemyError, optuna.exceptions.StorageInternalError) as exc:
        detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0][:200]
        if "://" in url:  # the driver's message may quote the URL it was given
            detail = detail.replace(url, mask_url(url))
        raise LabError("err_tune_storage_unreachable", url=mask_url(url), detail=detail) from exc


def make_pruner(kind: str) -> optuna.pruners.BasePruner:
    try:
        kind = PrunerKind(kind)
    except ValueError as exc:
        raise LabError("err_cfg_choice", name="pruner", value=kind, choices=", ".join(PrunerKind)) from exc
    if kind == PrunerKind.MEDIAN:
        # a trial is compared from its second epoch on, once two others have finished
        return optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=1)
    if kind == PrunerKind.HYPERBAND:
        return optuna.pruners.HyperbandPruner(min_resource=1)
    return optuna.pruners.NopPruner()


# ---------------------------------------------------------------- one study


@dataclass(frozen=True)
class TuneSpec:
    """Everything a worker needs to join a study; picklable, so it travels to worker processes as it is."""

    study: str
    data: str  # a load_source spec: sample:MSFT, synthetic:sine, a CSV path
    base: RunConfig  # the fixed settings (and the seed every trial trains with, so each one reproduces)
    dims: tuple[Dim, ...]
    budget: int = 20  # finished trials the whole study aims at, across every worker
    storage: str | None = None
    pruner: str = PrunerKind.MEDIAN.value
    timeout_s: float | None = None  # no worker starts a trial after this many seconds
    workers: int = 1

    def __post_init__(self) -> None:
        if not self.study.strip() or len(self.study) > 200:
            raise LabError("err_tune_study_name")
        if self.budget < 1:
            raise LabError("err_cfg_range", name="trials", value=self.budget, low=1, high=100000)
        if self.workers < 1:
            raise LabError("err_cfg_range", name="workers", value=self.workers, low=1, high=64)
        make_pruner(self.pruner)


def open_study(spec: TuneSpec) -> optuna.Study:
    """Create the study, or join it if it exists (re-running continues a study)."""
    storage = open_storage(spec.storage, spec.workers)
    try:
        return optuna.create_study(storage=storage, study_name=spec.study, direction="minimize",
                                   pruner=make_pruner(spec.pruner), load_if_exists=True)
    except optuna.exceptions.StorageInternalError as exc:
        raise LabError("err_tune_storage_unreachable", url=mask_url(spec.storage), detail=str(exc)[:200]) from exc


def load_study(storage: str | None, name: str) -> optuna.Study:
    """An existing study, for reading (charts, summary); LabError when it does not exist."""
    try:
        return optuna.load_study(study_name=name, storage=open_storage(storage))
    except KeyError as exc:
        raise LabError("err_tune_no_study", study=name) from exc


class _Stopped(Exception):
    """The worker was asked to stop in the middle of a trial."""


class _OverBudget(Exception):
    """Another worker took the study's last trial a moment before this one."""


@dataclass(frozen=True)
class TrialEvent:
    """What a worker reports after each trial."""

    number: int
    state: str
    value: float | None


def _count(trials: Sequence[FrozenTrial], states: Sequence[TrialState]) -> int:
    return sum(1 for t in trials if t.state in states)


def _has_heartbeat(storage: optuna.storages.BaseStorage) -> bool:
    from optuna.storages._heartbeat import is_heartbeat_enabled

    return is_heartbeat_enabled(storage)


def fail_stale_trials(study: optuna.Study) -> None:
    """Mark failed every running trial whose worker stopped beating its heartbeat (it died)."""
    storage = study._storage
    if _has_heartbeat(storage):  # an RDB storage: Optuna keeps the heartbeats
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            optuna.storages.fail_stale_trials(study)
        return
    grace = heartbeat_s() * GRACE_FACTOR
    now = time.time()
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        beat = trial.system_attrs.get(_HEARTBEAT_ATTR)
        started = trial.datetime_start.timestamp() if trial.datetime_start else now
        if now - (beat if beat is not None else started) > grace:
            try:
                storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
            except (RuntimeError, optuna.exceptions.UpdateFinishedTrialError):
                pass  # another worker marked it first


class _JournalHeartbeat:
    """A thread that touches one running trial every few seconds (the journal storage keeps no heartbeat itself)."""

    def __init__(self, study: optuna.Study, trial_id: int) -> None:
        self.storage, self.trial_id = study._storage, trial_id
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._beat, daemon=True, name="tune-heartbeat")

    def _beat(self) -> None:
        while True:
            try:
                self.storage.set_trial_system_attr(self.trial_id, _HEARTBEAT_ATTR, time.time())
            except (RuntimeError, optuna.exceptions.UpdateFinishedTrialError):
                return  # the trial has ended
            if self.done.wait(heartbeat_s()):
                return

    def __enter__(self) -> _JournalHeartbeat:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.thread.join(timeout=heartbeat_s() + 1)


def objective(trial: optuna.Trial, spec: TuneSpec, frame: pd.DataFrame, stop: StopFlag | None = None) -> float:
    """Train the trial's config and return its best validation loss (the test period is never looked at)."""
    study = trial.study
    earlier = [t for t in study.get_trials(deepcopy=False) if t.number < trial.number]
    if _count(earlier, FINISHED_STATES + ACTIVE_STATES) >= spec.budget:
        trial.set_user_attr("over_budget", True)
        raise _OverBudget
    config = suggest_config(trial, spec.base, spec.dims)
    trial.set_user_attr("config", config.to_dict())
    trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")  # who to blame when it never ends
    prepared = Prepared(frame, config)
    trainer = Trainer(config, prepared, stop, device="cpu")
    val_losses: list[float] = []

    def on_epoch(tr: Trainer) -> None:
        record = tr.history[-1]
        if record.epoch == 0:
            return
        val_losses.append(record.val_loss)
        if not math.isfinite(record.val_loss):
            return  # the trainer stops a diverged run itself; Optuna refuses to store a NaN step
        trial.report(record.val_loss, record.epoch)
        if trial.should_prune():
            trial.set_user_attr("val_losses", val_losses)
            trial.set_user_attr("best_val_loss", min(val_losses))
            raise optuna.TrialPruned

    trainer.add_callback("on_epoch_end", on_epoch)
    beat = _JournalHeartbeat(study, trial._trial_id) if not _has_heartbeat(study._storage) else None
    if beat is not None:
        beat.__enter__()
    try:
        result = trainer.fit()
    finally:
        if beat is not None:
            beat.__exit__()
    if stop is not None and stop.is_set():
        trial.set_user_attr("stopped", True)
        raise _Stopped
    score = result.best_val_loss if math.isfinite(result.best_val_loss) else float("inf")
    trial.set_user_attr("val_losses", [v if math.isfinite(v) else None for v in val_losses])
    trial.set_user_attr("best_val_loss", score)
    trial.set_user_attr("best_epoch", result.best_epoch)
    trial.set_user_attr("stop_reason", str(result.stop_reason))
    trial.set_user_attr("seconds", round(result.seconds, 3))
    return score


def run_trials(spec: TuneSpec, frame: pd.DataFrame, stop: StopFlag | None = None,
               on_trial: Callable[[TrialEvent], None] | None = None) -> int:
    """Join the study and run trials until it holds ``spec.budget`` finished ones (or time is up); returns how many
    this worker ran."""
    study = open_study(spec)
    started = time.monotonic()
    ran = 0

    def report(study: optuna.Study, trial: FrozenTrial) -> None:
        if on_trial is not None:
            on_trial(TrialEvent(trial.number, trial.state.name.lower(), trial.value))

    while stop is None or not stop.is_set():
        if spec.timeout_s is not None and time.monotonic() - started > spec.timeout_s:
            break
        fail_stale_trials(study)
        trials = study.get_trials(deepcopy=False)
        finished, active = _count(trials, FINISHED_STATES), _count(trials, ACTIVE_STATES)
        if finished >= spec.budget:
            break
        if finished + active >= spec.budget:  # the rest is running elsewhere: wait in case a worker dies
            time.sleep(WAIT_POLL_S)
            continue
        study.optimize(lambda trial: objective(trial, spec, frame, stop), n_trials=1,
                       catch=(LabError, _Stopped, _OverBudget), callbacks=[report])
        ran += 1
    return ran


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
    pool = WorkerPool(max_running=spec.workers)
    jobs = submit_workers(pool, spec, on_trial, WorkerSettings(nice=0))
    try:
        while not all(job.finished for job in jobs):
            time.sleep(0.2)
    except KeyboardInterrupt:
        for job in jobs:
            job.stop()
        pool.shutdown(timeout_s=30)
    return jobs


# ---------------------------------------------------------------- reading a study


def best_trial(study: optuna.Study) -> FrozenTrial | None:
    """The complete trial with the lowest validation loss, or None before any trial completed."""
    done = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)) if t.value is not None]
    return min(done, key=lambda t: t.value) if done else None


def best_config(study: optuna.Study) -> RunConfig:
    """The best trial's full config, ready to train as a normal run; LabError before any trial completed."""
    trial = best_trial(study)
    if trial is None:
        raise LabError("err_tune_no_best", study=study.study_name)
    return RunConfig.from_dict(trial.user_attrs["config"])


def summary(study: optuna.Study) -> dict[str, object]:
    """The study in numbers: trial counts by state and the best trial's value, parameters and config."""
    trials = study.get_trials(deepcopy=False)
    best = best_trial(study)
    return {
        "study": study.study_name,
        "n_trials": len(trials),
        "n_complete": _count(trials, (TrialState.COMPLETE,)),
        "n_pruned": _count(trials, (TrialState.PRUNED,)),
        "n_failed": _count(trials, (TrialState.FAIL,)),
        "n_running": _count(trials, (TrialState.RUNNING,)),
        "best_trial": best.number if best else None,
        "best_value": best.value if best else None,
        "best_params": dict(best.params) if best else {},
        "best_config": best.user_attrs.get("config") if best else None,
    }


@dataclass(frozen=True)
class TrialRow:
    """One line of the trials table."""

    number: int
    state: str
    value: float | None
    seconds: float | None
    params: dict[str, Any] = field(default_factory=dict)


def trial_rows(study: optuna.Study) -> list[TrialRow]:
    """Every trial with its state, value and wall time (running ones: so far)."""
    now = None
    rows = []
    for t in study.get_trials(deepcopy=False):
        end = t.datetime_complete
        if end is None and t.datetime_start is not None:
            import datetime as dt

            now = now or dt.datetime.now()
            end = now
        seconds = (end - t.datetime_start).total_seconds() if t.datetime_start and end else None
        rows.append(TrialRow(t.number, t.state.name.lower(), t.value, seconds, dict(t.params)))
    return rows
