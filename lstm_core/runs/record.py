"""A finished run's record: the one typed description that a worker returns, run.json stores and the command line prints.

The record holds everything about a run but its weights and data: settings, scores, the loss history and the
scalers the data was read with. ``to_json`` is run.json's content (the bundle adds the files' checksums);
``lstm_core.runs.schema`` reads it back, trusting nothing.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from dataclasses import asdict, dataclass, field

from lstm_core.config import RunConfig
from lstm_core.evaluate import Scores
from lstm_core.pipeline import Scaler
from lstm_core.trainer import EpochRecord, StopReason  # what the training loop reports, kept in the record

BUNDLE_VERSION = 2  # 2: a normalised window reads the daily range against its own volatility (lstm_core.features)
READ_VERSIONS = (1, 2)  # what a bundle may be; version 1's normalised daily range is read as it was (upgraded_config)

def new_run_id() -> str:
    return uuid.uuid4().hex[:8]


def now_iso() -> str:
    return dt.datetime.now().isoformat(timespec="seconds")


@dataclass(frozen=True)
class RunRecord:
    """A finished run without its weights and data; field names are run.json's keys."""

    config: RunConfig
    dataset: str  # the dataset's stable English name
    metrics: Scores  # each forecaster's test scores ("model", the baselines, "untrained")
    history: tuple[EpochRecord, ...]
    best_epoch: int  # 0 when no epoch beat the untrained model (its weights are then the ones kept)
    best_val_loss: float
    stop_reason: StopReason
    seconds: float
    scaler: dict[str, Scaler]  # "features" and "target", fitted on the training rows
    run_id: str = field(default_factory=new_run_id)
    created: str = field(default_factory=now_iso)

    @property
    def epochs_run(self) -> int:
        """Training epochs that finished (the history also holds epoch 0, the untrained model)."""
        return sum(1 for h in self.history if h.epoch > 0)

    @property
    def learned(self) -> bool:
        """Whether training beat the untrained model on validation (else epoch 0's weights were kept)."""
        return self.best_epoch > 0

    def to_json(self) -> dict[str, object]:
        """run.json's content, JSON-ready: an undefined number (NaN, infinity) is null."""
        return {
            "version": BUNDLE_VERSION,
            "run_id": self.run_id,
            "created": self.created,
            "dataset": self.dataset,
            "config": self.config.to_dict(),
            "metrics": self.metrics.to_json(),
            "best_epoch": self.best_epoch,
            "best_val_loss": finite_or_none(self.best_val_loss),
            "epochs_run": self.epochs_run,
            "stop_reason": str(self.stop_reason),
            "seconds": round(self.seconds, 3),
            "history": [{k: finite_or_none(v) for k, v in asdict(h).items()} for h in self.history],
            "scaler": {name: scaler.to_dict() for name, scaler in self.scaler.items()},
        }


JSON_KEYS = frozenset(RunRecord.__dataclass_fields__) | {"version", "epochs_run"}  # everything to_json writes


def finite_or_none(value: object) -> float | None:
    return value if isinstance(value, (int, float)) and math.isfinite(value) else None
