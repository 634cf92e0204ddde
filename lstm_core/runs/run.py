"""A finished run: its record, data and weights, built by the one ``train_run`` and restored by the one ``Run.restore``.

``SavedRun`` is the run as plain values (its record and its weights as safetensors bytes): what a worker returns, what
the store writes and a bundle holds. A page's ``Run`` is a view of one, with the model and data to read it: the server,
a workspace folder and an uploaded zip all become a ``Run`` through ``Run.restore``, which checks the weights against
the settings and the scalers against the data, and keeps the bytes it was given, so that saving the run again writes
them as they are. The weights are serialized once per run, in the process that trained it.

A job's data preparation (``Prepared``) is made once on each side of the process boundary: on the server when the job
is submitted (its settings are checked against the data there, with a sentence) and in the worker, which receives the
price frame rather than the prepared arrays, so that jobs on the same data share one copy of it in Ray's object store;
it takes about 6 ms on the default sample.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np
import pandas as pd

from lstm_core.baselines import DEFAULT_OPTIONS, FitOptions
from lstm_core.config import RunConfig
from lstm_core.errors import LabError
from lstm_core.evaluate import ModelOutputs, Outputs, collect_outputs, evaluate, model_outputs
from lstm_core.judgement import Judgement, forecaster_names, judge
from lstm_core.model import Forecaster, build_model
from lstm_core.pipeline import Prepared
from lstm_core.runs.record import EpochRecord, RunRecord, StopReason
from lstm_core.runs.weights import State, from_bytes, to_bytes
from lstm_core.trainer import Trainer, TrainResult

T = TypeVar("T")


@dataclass(frozen=True)
class SavedRun:
    """A finished run as plain values: what a worker returns, and what a bundle holds beside its data."""

    record: RunRecord
    weights: bytes  # safetensors: the kept (best) weights
    initial: bytes  # safetensors: the weights before training
    model_outputs: ModelOutputs | None = None  # spares the receiver a forward pass when it has them


def _from_record(name: str) -> property:
    return property(lambda run: getattr(run.record, name), doc=f"The record's ``{name}``.")


@dataclass(eq=False)
class Run:
    """Everything about one finished training run; its data preparation and forecasts are made once, on demand."""

    record: RunRecord
    frame: pd.DataFrame  # the prices it was trained and tested on
    model: Forecaster  # best weights, eval mode
    initial_state: State
    _prepared: Prepared | None = field(default=None, repr=False)
    _model_outputs: ModelOutputs | None = field(default=None, repr=False)
    _outputs: dict[FitOptions, Outputs] = field(default_factory=dict, repr=False)
    _untrained_outputs: ModelOutputs | None = field(default=None, repr=False)
    _weights: tuple[bytes, bytes] | None = field(default=None, repr=False)  # safetensors (kept, initial), made once
    # what is made from the run on demand, once: a run can be shared by many sessions (identical requests share one
    # job), which ask for it at the same moment; the first makes it, the others wait and read it
    _memo: dict[object, object] = field(default_factory=dict, repr=False)
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    @classmethod
    def restore(cls, saved: SavedRun, frame: pd.DataFrame, prepared: Prepared | None = None) -> Run:
        """The run ``saved`` describes, on ``frame``: LabError when its weights do not fit its settings or its
        stored scalers do not match what the data gives (a bundle whose data.csv was swapped)."""
        config = saved.record.config
        model = build_model(config)
        expected = model.state_dict()
        model.load_state_dict(from_bytes(saved.weights, "weights.safetensors", expected))  # checked: cannot fail
        initial = from_bytes(saved.initial, "initial.safetensors", expected)
        run = cls(saved.record, frame, model.eval(), initial, prepared, saved.model_outputs,
                  _weights=(saved.weights, saved.initial))
        stored = saved.record.scaler["features"]
        fitted = run.prepared.feature_scaler  # O(rows): refuses data too short for the settings with its sentence
        if not (np.allclose(stored.mean, fitted.mean, rtol=1e-6) and np.allclose(stored.std, fitted.std, rtol=1e-6)):
            raise LabError("err_bundle_scaler")
        return run

    def saved(self, with_outputs: bool = False) -> SavedRun:
        """This run as plain values (and the model's forecasts, which the receiver would otherwise recompute): the
        weights' bytes it was restored from, or serialized once (its weights never change after training)."""
        with self._lock:
            if self._weights is None:
                self._weights = (to_bytes(self.model.state_dict()), to_bytes(self.initial_state))
            weights, initial = self._weights
        return SavedRun(self.record, weights, initial, self.model_outputs() if with_outputs else None)

    # the record's fields that pages read most, named here (properties: not fields of the dataclass)
    config = _from_record("config")
    run_id = _from_record("run_id")
    dataset_name = _from_record("dataset")
    metrics = _from_record("metrics")
    history = _from_record("history")
    stop_reason = _from_record("stop_reason")

    @property
    def prepared(self) -> Prepared:
        with self._lock:
            if self._prepared is None:
                self._prepared = Prepared(self.frame, self.config)
            return self._prepared

    def model_outputs(self, chunk: int | None = None) -> ModelOutputs:
        """The model's forecasts of every validation and test window (one forward pass, made once)."""
        with self._lock:
            if self._model_outputs is None:
                self._model_outputs = model_outputs(self.prepared, self.model, chunk)
            return self._model_outputs

    def untrained_outputs(self, chunk: int | None = None) -> ModelOutputs:
        """The same network's forecasts with its initial weights (what it knew before training), made once."""
        with self._lock:
            if self._untrained_outputs is None:
                self._untrained_outputs = model_outputs(self.prepared, self.initial_model(), chunk)
            return self._untrained_outputs

    def outputs(self, options: FitOptions = DEFAULT_OPTIONS) -> Outputs:
        """The model's, every baseline's and the untrained network's forecasts of the validation and test windows,
        made once per options."""
        with self._lock:
            if options not in self._outputs:
                self._outputs[options] = collect_outputs(self.prepared, self.model_outputs(), options,
                                                         self.untrained_outputs())
            return self._outputs[options]

    def scores(self) -> dict[str, dict[str, float | None]]:
        """The test scores as this server computes them (``evaluate``): the record's for a run scored here, and for
        one saved by an older version the same with what it lacks (the untrained network, validation RMSEs)."""
        return self.memo("scores", lambda: evaluate(self.prepared, self.outputs()))

    def judgement(self) -> Judgement:
        """What the scores support saying (lstm_core.judgement), the one source of every page's claims."""
        return self.memo("judgement", lambda: judge(self.scores(), self.config.target))

    def judgement_json(self) -> dict[str, object]:
        """The judgement as the command line prints it, its sentences in English as the page says them."""
        return self.judgement().to_json(forecaster_names("en", self.config.target, self.config.horizon, self.config.cell))

    def memo(self, key: object, build: Callable[[], T]) -> T:
        """``build()`` made once per ``key`` for this run (a page's report of it), whichever session asks first."""
        with self._lock:
            if key not in self._memo:
                self._memo[key] = build()
            return self._memo[key]  # type: ignore[return-value]

    @property
    def test_predictions(self) -> np.ndarray:
        """The model's readable predictions (prices, or volatility) of every test window, first step: ``[S]``."""
        return self.outputs().readable(self.prepared, "test", "model")

    def initial_model(self) -> Forecaster:
        """The same architecture with the weights it had before training."""
        model = build_model(self.config)
        model.load_state_dict(self.initial_state)
        return model.eval()


def train_run(
    frame: pd.DataFrame,
    dataset_name: str,
    config: RunConfig,
    stop_event: threading.Event | None = None,
    on_batch_end: Callable[[Trainer], None] | None = None,
    on_epoch_end: Callable[[Trainer], None] | None = None,
    prepared: Prepared | None = None,
    device: str | None = None,
    max_seconds: float | None = None,
    eval_chunk: int | None = None,
    on_fit_end: Callable[[Trainer], None] | None = None,
) -> Run:
    """Prepare, train (on ``device``: default CUDA when available), restore the best weights and score on the test period.

    The one place a run is made, in a worker process or in this one; callbacks receive the trainer (``Trainer``).
    """
    prepared = prepared or Prepared(frame, config)
    trainer = Trainer(config, prepared, stop_event, device, max_seconds=max_seconds, eval_chunk=eval_chunk)
    for event, callback in (("on_batch_end", on_batch_end), ("on_epoch_end", on_epoch_end), ("on_fit_end", on_fit_end)):
        if callback is not None:
            trainer.add_callback(event, callback)
    return finish_run(frame, dataset_name, prepared, trainer.fit(), eval_chunk)


def finish_run(frame: pd.DataFrame, dataset_name: str, prepared: Prepared, result: TrainResult,
               eval_chunk: int | None = None) -> Run:
    """The final evaluation: score a fit's kept weights on every validation and test window and record the run.

    ``train_run`` ends with it in the worker; the server calls it on a ``Checkpoint`` when it had to kill a worker
    that was past its time limit, so the best weights the worker reported are still a run.
    """
    config = prepared.config
    forecasts = model_outputs(prepared, result.model, eval_chunk)
    before = build_model(config)
    before.load_state_dict(result.initial_state)
    untrained = model_outputs(prepared, before.eval(), eval_chunk)
    outputs = collect_outputs(prepared, forecasts, untrained=untrained)
    record = RunRecord(
        config=config, dataset=dataset_name, metrics=evaluate(prepared, outputs), history=tuple(result.history),
        best_epoch=result.best_epoch, best_val_loss=result.best_val_loss, stop_reason=result.stop_reason,
        seconds=result.seconds,
        scaler={"features": prepared.feature_scaler, "target": prepared.target_scaler},
    )
    return Run(record, frame, result.model, result.initial_state, prepared, forecasts, {DEFAULT_OPTIONS: outputs},
               untrained)


@dataclass(frozen=True)
class Checkpoint:
    """The best weights so far, as a worker reports them while it trains: enough to finish the run elsewhere."""

    history: tuple[EpochRecord, ...]
    best_epoch: int
    best_val_loss: float
    seconds: float  # training time so far
    weights: bytes  # safetensors: the best weights so far
    initial: bytes  # safetensors: the weights before training

    @classmethod
    def of(cls, trainer: Trainer) -> Checkpoint:
        """Where ``trainer`` is now: its best weights and the epochs so far."""
        return cls(tuple(trainer.history), trainer.best_epoch, trainer.best_val_loss,
                   trainer.tick().train_seconds, to_bytes(trainer.best_state), to_bytes(trainer.initial_state))

    def result(self, config: RunConfig, stop_reason: StopReason) -> TrainResult:
        """The fit this checkpoint describes, ended for ``stop_reason``: the model holds the best weights."""
        model = build_model(config)
        expected = model.state_dict()
        model.load_state_dict(from_bytes(self.weights, "weights.safetensors", expected))
        return TrainResult(model=model.eval(), initial_state=from_bytes(self.initial, "initial.safetensors", expected),
                           history=list(self.history), best_epoch=self.best_epoch, best_val_loss=self.best_val_loss,
                           stop_reason=stop_reason, seconds=self.seconds)


__all__ = ["Checkpoint", "ModelOutputs", "Run", "SavedRun", "finish_run", "train_run"]
