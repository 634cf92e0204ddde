"""A finished run: its config, data, weights and scores (its bundle on disk lives in lstm_core.bundles)."""

from __future__ import annotations

import datetime as dt
import math
import threading
import uuid
from dataclasses import asdict, dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd
import torch

from lstm_core.config import RunConfig
from lstm_core.evaluate import evaluate
from lstm_core.model import Forecaster, build_model
from lstm_core.pipeline import Prepared
from lstm_core.trainer import EpochRecord, Trainer, predict

BUNDLE_VERSION = 1


@dataclass
class Run:
    """Everything about one finished training run; ``prepared`` is rebuilt from ``frame`` on demand."""

    config: RunConfig
    dataset_name: str
    frame: pd.DataFrame  # the prices it was trained and tested on
    model: Forecaster  # best weights, eval mode
    initial_state: dict[str, torch.Tensor]
    history: list[EpochRecord]
    metrics: dict[str, dict[str, float | None]]
    best_epoch: int
    best_val_loss: float
    stop_reason: str
    seconds: float
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    created: str = field(default_factory=lambda: dt.datetime.now().isoformat(timespec="seconds"))
    batch_losses: list[float] = field(default_factory=list)

    @property
    def epochs_run(self) -> int:
        """Training epochs that finished (the history also holds epoch 0, the untrained model)."""
        return sum(1 for h in self.history if h.epoch > 0)

    @cached_property
    def prepared(self) -> Prepared:
        return Prepared(self.frame, self.config)

    @cached_property
    def test_predictions(self) -> np.ndarray:
        """Predicted prices for every test sample: ``[S]``."""
        return test_predictions(self.prepared, self.model)

    def initial_model(self) -> Forecaster:
        """The same architecture with the weights it had before training."""
        model = build_model(self.config)
        model.load_state_dict(self.initial_state)
        return model.eval()

    def summary(self) -> dict[str, object]:
        """The JSON-ready record of the run (no weights, no data)."""
        return {
            "version": BUNDLE_VERSION,
            "run_id": self.run_id,
            "created": self.created,
            "dataset": self.dataset_name,
            "config": self.config.to_dict(),
            "metrics": self.metrics,
            "best_epoch": self.best_epoch,
            "best_val_loss": _finite_or_none(self.best_val_loss),
            "epochs_run": self.epochs_run,
            "stop_reason": self.stop_reason,
            "seconds": round(self.seconds, 3),
            "history": [{k: _finite_or_none(v) for k, v in asdict(h).items()} for h in self.history],
        }


def _finite_or_none(value: float) -> float | None:
    return value if isinstance(value, (int, float)) and math.isfinite(value) else None


def test_predictions(prepared: Prepared, model: torch.nn.Module, chunk: int | None = None) -> np.ndarray:
    """The model's readable predictions (prices, or volatility) for every test window, ``chunk`` at a time: ``[S]``."""
    x, _ = prepared.tensors("test")  # [S, T, F]
    return prepared.to_readable("test", predict(model, x, chunk).numpy())


def train_run(
    frame: pd.DataFrame,
    dataset_name: str,
    config: RunConfig,
    stop_event: threading.Event | None = None,
    on_batch_end=None,
    on_epoch_end=None,
    prepared: Prepared | None = None,
    device: str | None = None,
) -> Run:
    """Prepare, train (on ``device``: default CUDA when available), restore the best weights and score on the test period."""
    prepared = prepared or Prepared(frame, config)
    trainer = Trainer(config, prepared, stop_event, device)
    if on_batch_end:
        trainer.add_callback("on_batch_end", on_batch_end)
    if on_epoch_end:
        trainer.add_callback("on_epoch_end", on_epoch_end)
    result = trainer.fit()
    prices = test_predictions(prepared, result.model)
    run = Run(
        config=config,
        dataset_name=dataset_name,
        frame=frame,
        model=result.model,
        initial_state=result.initial_state,
        history=result.history,
        metrics=evaluate(prepared, prices),
        best_epoch=result.best_epoch,
        best_val_loss=result.best_val_loss,
        stop_reason=result.stop_reason,
        seconds=result.seconds,
        batch_losses=result.batch_losses,
    )
    run.__dict__["prepared"] = prepared  # seed the cached properties: no second preparation
    run.__dict__["test_predictions"] = prices
    return run


# ---------------------------------------------------------------- bundles (moved to lstm_core.bundles)

_MOVED = {"bundle_members", "save_bundle", "bundle_zip", "load_bundle", "BUNDLE_FILES"}


def __getattr__(name: str) -> object:
    """``from lstm_core.runs import load_bundle`` keeps working: bundles import this module, so not eagerly."""
    if name in _MOVED:
        from lstm_core import bundle_schema, bundles

        return getattr(bundle_schema if name == "BUNDLE_FILES" else bundles, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
