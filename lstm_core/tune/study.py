"""One study: its spec, the objective a trial trains, the worker loop that keeps to the study-wide budget, and what
a study says when read."""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import optuna
import pandas as pd
from optuna.trial import FrozenTrial, TrialState

from lstm_core.basket.data import Basket
from lstm_core.basket.run import PooledData, prepare_basket
from lstm_core.bounds import Bound
from lstm_core.config import SETTINGS, RunConfig
from lstm_core.data.dataset import frame_fingerprint
from lstm_core.errors import LabError
from lstm_core.features import Normalization
from lstm_core.jobs.workers import StopFlag
from lstm_core.pipeline import Prepared
from lstm_core.trainer import Trainer
from lstm_core.tune.space import Dim, search_text, suggest_config
from lstm_core.tune.storage import (
    STORAGE_ERRORS,
    JournalHeartbeat,
    fail_stale_trials,
    has_heartbeat,
    journal_path,
    open_storage,
    unreachable,
)

WAIT_POLL_S = 0.5  # a worker with nothing to start (the budget is taken by running trials) looks again this often

optuna.logging.set_verbosity(optuna.logging.WARNING)  # our own lines say what happened, once


class PrunerKind(StrEnum):
    """How unpromising trials are ended early, from the validation loss they report each epoch."""

    MEDIAN = "median"
    HYPERBAND = "hyperband"
    NONE = "none"


FINISHED_STATES = (TrialState.COMPLETE, TrialState.PRUNED)  # the trials a budget counts
ACTIVE_STATES = (TrialState.RUNNING, TrialState.WAITING)


def pruner_kind(value: str) -> PrunerKind:
    """``value`` as a PrunerKind; LabError naming the pruners when it is none of them."""
    try:
        return PrunerKind(value)
    except ValueError as exc:
        raise LabError("err_cfg_choice", name="pruner", value=value, choices=", ".join(PrunerKind)) from exc


def make_pruner(kind: PrunerKind | str) -> optuna.pruners.BasePruner:
    """Optuna's pruner of ``kind``."""
    kind = pruner_kind(kind)
    if kind == PrunerKind.MEDIAN:
        # a trial is compared from its second epoch on, once two others have finished
        return optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=1)
    if kind == PrunerKind.HYPERBAND:
        return optuna.pruners.HyperbandPruner(min_resource=1)
    return optuna.pruners.NopPruner()


StudyBound = Bound  # the study's numbers are bounded like any other number that is not a setting


# the study's own numbers, each bounded here once: the Tune page's widgets, the CLI's flags and TuneSpec's check read
# them, under the names the CLI's flags and the page's sentences use
STUDY_BOUNDS: dict[str, StudyBound] = {
    "trials": StudyBound(1, 1000),  # finished trials the study aims at, all workers together
    "workers": StudyBound(1, 16),  # worker processes one command (or one visitor's study) starts
    "timeout": StudyBound(1, 7 * 24 * 3600, is_int=False),  # seconds after which a worker starts no trial: a week
}


@dataclass(frozen=True)
class TuneSpec:
    """Everything a worker needs to join a study; picklable, so it travels to worker processes as it is."""

    study: str
    data: str  # a load_source spec: sample:MSFT, synthetic:sine, a CSV path
    base: RunConfig  # the fixed settings (and the seed every trial trains with, so each one reproduces)
    dims: tuple[Dim, ...]
    budget: int = 20  # finished trials the whole study aims at, across every worker
    storage: str | None = None
    pruner: PrunerKind = PrunerKind.MEDIAN  # a string names one too, and becomes its member
    timeout_s: float | None = None  # no worker starts a trial after this many seconds
    workers: int = 1

    def __post_init__(self) -> None:
        if not self.study.strip() or len(self.study) > 200:
            raise LabError("err_tune_study_name")
        for name, value in (("trials", self.budget), ("workers", self.workers), ("timeout", self.timeout_s)):
            if value is not None:  # no timeout: workers go on until the budget is met
                STUDY_BOUNDS[name].check(name, value)
        object.__setattr__(self, "pruner", pruner_kind(self.pruner))


# what a study's inputs mean: 2 from the day a normalised window read the daily range against its own volatility (as
# run bundles' version 2); a study recorded without it is of version 1
INPUTS_VERSION = 2


def study_identity(spec: TuneSpec, data_fingerprint: str) -> dict[str, Any]:
    """What a study is, as it records it when created (study user attributes, JSON-ready): its fixed settings (the
    base config less the searched ones, target first), its data's content hash and its search, written as
    ``--search`` takes it (settings in the table's order)."""
    searched = {dim.name for dim in spec.dims}
    order = {name: k for k, name in enumerate(SETTINGS)}
    return {
        "fixed": {k: v for k, v in spec.base.to_dict().items() if k not in searched},
        "data_fingerprint": data_fingerprint,
        "search": search_text(sorted(spec.dims, key=lambda dim: order[dim.name])),
        "inputs_version": INPUTS_VERSION,
    }


def _reads_range_the_old_way(recorded: dict[str, Any]) -> bool:
    """Whether a study recorded before ``INPUTS_VERSION`` 2 trained on the daily range read at its own level: its
    fixed inputs hold ``logrange`` and its windows may be normalised (fixed so, or searched)."""
    fixed = recorded.get("fixed") or {}
    return (recorded.get("inputs_version", 1) < 2 and "logrange" in (fixed.get("features") or [])
            and fixed.get("normalize", Normalization.WINDOW) == Normalization.WINDOW)


def _shown(value: object) -> str:
    return ",".join(map(str, value)) if isinstance(value, list) else str(value)


def check_identity(study: optuna.Study, spec: TuneSpec, data_fingerprint: str) -> None:
    """Record what ``study`` is the first time; after that, LabError naming the first difference (a fixed setting,
    then the data, then the search) when ``spec`` and this data would make it another study under the same name.

    Any other search, a wider one too, is refused: the trials so far were drawn from the recorded one, and a study's
    charts and importances compare trials of one space.
    """
    wanted = json.loads(json.dumps(study_identity(spec, data_fingerprint)))  # as storage gives it back
    recorded = study.user_attrs
    if "fixed" in recorded and _reads_range_the_old_way(recorded):  # its trials read another input than new ones would
        raise LabError("err_tune_old_range", study=spec.study)
    then, now = recorded.get("fixed"), wanted["fixed"]
    if then is not None:
        for name in SETTINGS:
            if name in then and name in now and then[name] != now[name]:
                raise LabError("err_tune_other_setting", study=spec.study, name=name, then=_shown(then[name]),
                               now=_shown(now[name]))
    if recorded.get("data_fingerprint", wanted["data_fingerprint"]) != wanted["data_fingerprint"]:
        raise LabError("err_tune_other_data", study=spec.study, then=recorded["data_fingerprint"][:12],
                       now=wanted["data_fingerprint"][:12])
    if recorded.get("search", wanted["search"]) != wanted["search"]:
        raise LabError("err_tune_other_search", study=spec.study, then=recorded["search"], now=wanted["search"])
    for key, value in wanted.items():
        if key not in recorded:  # a new study (or one a crash left half-recorded): every worker writes the same
            study.set_user_attr(key, value)


def open_study(spec: TuneSpec, data_fingerprint: str) -> optuna.Study:
    """Create the study, or join it if it exists (re-running continues a study); LabError when the study of that
    name was started with other fixed settings, other data or another search."""
    storage = open_storage(spec.storage, spec.study, spec.workers)
    try:
        study = optuna.create_study(storage=storage, study_name=spec.study, direction="minimize",
                                    pruner=make_pruner(spec.pruner), load_if_exists=True)
        check_identity(study, spec, data_fingerprint)
    except STORAGE_ERRORS as exc:
        raise unreachable(spec.storage, exc) from exc
    return study


def load_study(storage: str | None, name: str) -> optuna.Study:
    """An existing study, for reading (charts, summary); LabError when it does not exist."""
    path = journal_path(storage, name)
    if path is not None and not path.exists():  # reading must not leave an empty journal behind
        raise LabError("err_tune_no_study", study=name)
    try:
        return optuna.load_study(study_name=name, storage=open_storage(storage, name))
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
    state: TrialState
    value: float | None


def _count(trials: Sequence[FrozenTrial], states: Sequence[TrialState]) -> int:
    return sum(1 for t in trials if t.state in states)


def training_data(source: pd.DataFrame | Basket, config: RunConfig) -> Prepared | PooledData:
    """What a trial trains on: one series prepared, or a basket's series cut at its one calendar and pooled (LabError
    when the settings do not fit)."""
    if isinstance(source, Basket):
        return PooledData(prepare_basket(source, config)[1])
    return Prepared(source, config)


def data_fingerprint(source: pd.DataFrame | Basket) -> str:
    """The content hash a study records of its data: a frame's, or a basket's (every series, in order)."""
    return source.fingerprint if isinstance(source, Basket) else frame_fingerprint(source)


def data_rows(source: pd.DataFrame | Basket) -> int:
    """The rows a memory estimate counts: a frame's, or every series' of a basket."""
    return source.rows if isinstance(source, Basket) else len(source)


def objective(trial: optuna.Trial, spec: TuneSpec, frame: pd.DataFrame | Basket, stop: StopFlag | None = None) -> float:
    """Train the trial's config and return its best validation loss (the test period is never looked at)."""
    study = trial.study
    beat = None if has_heartbeat(study._storage) else JournalHeartbeat(study, trial._trial_id)
    if beat is not None:
        beat.start()
    try:
        return _train_trial(trial, spec, frame, stop)
    finally:
        if beat is not None:
            beat.stop()


def _train_trial(trial: optuna.Trial, spec: TuneSpec, frame: pd.DataFrame | Basket, stop: StopFlag | None) -> float:
    earlier = [t for t in trial.study.get_trials(deepcopy=False) if t.number < trial.number]
    if _count(earlier, FINISHED_STATES + ACTIVE_STATES) >= spec.budget:
        trial.set_user_attr("over_budget", True)
        raise _OverBudget
    config = suggest_config(trial, spec.base, spec.dims)
    trial.set_user_attr("config", config.to_dict())
    trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")  # who to blame when it never ends
    trainer = Trainer(config, training_data(frame, config), stop, device="cpu")
    val_losses: list[float] = []

    def on_epoch(tr: Trainer) -> None:
        record = tr.history[-1]
        if record.epoch == 0:  # the untrained model: a trial whose epochs never beat it scores this
            trial.set_user_attr("epoch0_val_loss", record.val_loss)
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
    result = trainer.fit()
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


def run_trials(spec: TuneSpec, frame: pd.DataFrame | Basket, stop: StopFlag | None = None,
               on_trial: Callable[[TrialEvent], None] | None = None) -> int:
    """Join the study and run trials until it holds ``spec.budget`` finished ones (or time is up); returns how many
    this worker ran."""
    study = open_study(spec, data_fingerprint(frame))
    started = time.monotonic()
    ran = 0

    def report(study: optuna.Study, trial: FrozenTrial) -> None:
        if on_trial is not None:
            on_trial(TrialEvent(trial.number, trial.state, trial.value))

    try:
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
    except STORAGE_ERRORS as exc:  # the database went away mid-study: one sentence, its URL's secrets masked
        raise unreachable(spec.storage, exc) from exc
    return ran


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
        **{key: study.user_attrs.get(key) for key in ("fixed", "search", "data_fingerprint", "inputs_version")},
    }


@dataclass(frozen=True)
class TrialRow:
    """One line of the trials table."""

    number: int
    state: TrialState
    value: float | None
    seconds: float | None
    params: dict[str, Any] = field(default_factory=dict)


def trial_rows(study: optuna.Study) -> list[TrialRow]:
    """Every trial with its state, value and wall time (running ones: so far)."""
    now = dt.datetime.now()  # Optuna stores naive local times
    rows = []
    for t in study.get_trials(deepcopy=False):
        end = t.datetime_complete or now
        seconds = (end - t.datetime_start).total_seconds() if t.datetime_start and end else None
        rows.append(TrialRow(t.number, t.state, t.value, seconds, dict(t.params)))
    return rows
