"""A finished run (config, data, weights, scores) and its bundle on disk: safetensors + JSON + CSV, never pickle."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import math
import threading
import uuid
import zipfile
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors

from lstm_core.config import RunConfig
from lstm_core.errors import LabError
from lstm_core.evaluate import evaluate
from lstm_core.model import Forecaster, build_model
from lstm_core.pipeline import Prepared, Scaler
from lstm_core.trainer import EpochRecord, Trainer, predict

BUNDLE_VERSION = 1
BUNDLE_FILES = ("run.json", "weights.safetensors", "initial.safetensors", "data.csv")
MAX_BUNDLE_MEMBER_BYTES = 200 * 1024 * 1024


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
        x, _ = self.prepared.tensors("test")
        return self.prepared.to_price("test", predict(self.model, x).numpy())

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
    x_test, _ = prepared.tensors("test")
    prices = prepared.to_price("test", predict(result.model, x_test).numpy())
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


# ---------------------------------------------------------------- bundles


def _sha256(blob: bytes) -> str:
    return hashlib.sha256(blob).hexdigest()


def bundle_members(run: Run) -> dict[str, bytes]:
    """The files of a bundle, by name."""
    weights = save_safetensors({k: v.contiguous() for k, v in run.model.state_dict().items()})
    initial = save_safetensors({k: v.contiguous() for k, v in run.initial_state.items()})
    data_csv = run.frame.to_csv(index_label="Date").encode()
    record = run.summary()
    record["scaler"] = {"features": run.prepared.feature_scaler.to_dict(), "target": run.prepared.target_scaler.to_dict()}
    record["sha256"] = {
        "weights.safetensors": _sha256(weights), "initial.safetensors": _sha256(initial), "data.csv": _sha256(data_csv)
    }
    return {
        "run.json": json.dumps(record, indent=1).encode(),
        "weights.safetensors": weights,
        "initial.safetensors": initial,
        "data.csv": data_csv,
    }


def save_bundle(run: Run, directory: str | Path) -> Path:
    """Write the bundle's files into ``directory`` (created if needed)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for name, blob in bundle_members(run).items():
        (directory / name).write_bytes(blob)
    return directory


def bundle_zip(run: Run) -> bytes:
    """The bundle as one zip file, for download."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, blob in bundle_members(run).items():
            archive.writestr(name, blob)
    return buffer.getvalue()


def _read_members(source: str | Path | bytes) -> dict[str, bytes]:
    if isinstance(source, (bytes, bytearray)):
        try:
            with zipfile.ZipFile(io.BytesIO(source)) as archive:
                members = {}
                names = set(archive.namelist())
                for name in BUNDLE_FILES:
                    if name not in names:
                        raise LabError("err_bundle_damaged", detail=f"missing {name}")
                    info = archive.getinfo(name)  # only these names are read: no paths from the archive are used
                    if info.file_size > MAX_BUNDLE_MEMBER_BYTES:
                        raise LabError("err_bundle_damaged", detail=f"{name} is too large")
                    members[name] = archive.read(info)
                return members
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise LabError("err_bundle_damaged", detail="not a zip file") from exc
    path = Path(source)
    if path.is_file() and zipfile.is_zipfile(path):
        return _read_members(path.read_bytes())
    if not path.is_dir():
        raise LabError("err_bundle_missing", path=str(path))
    missing = [name for name in BUNDLE_FILES if not (path / name).is_file()]
    if missing:
        raise LabError("err_bundle_damaged", detail=f"missing {', '.join(missing)}")
    return {name: (path / name).read_bytes() for name in BUNDLE_FILES}


def _epoch_record(stored: dict) -> EpochRecord:
    """One epoch of a bundle's history; TypeError/ValueError/AttributeError when a field is missing or not a number."""
    values = {k: math.nan if v is None else float(v) for k, v in stored.items()}  # JSON has no NaN: it stores null
    return EpochRecord(**{**values, "epoch": int(values["epoch"])}) if "epoch" in values else EpochRecord(**values)


def load_bundle(source: str | Path | bytes) -> Run:
    """A run from a bundle directory, a zip path or zip bytes; LabError if it is missing, damaged or altered."""
    members = _read_members(source)
    try:
        record = json.loads(members["run.json"])
        checksums = record["sha256"]
        config = RunConfig.from_dict(record["config"])
    except (ValueError, KeyError, TypeError) as exc:
        raise LabError("err_bundle_damaged", detail="run.json is not valid") from exc
    for name in ("weights.safetensors", "initial.safetensors", "data.csv"):
        if checksums.get(name) != _sha256(members[name]):
            raise LabError("err_bundle_damaged", detail=f"{name} does not match its checksum")
    try:
        weights = load_safetensors(members["weights.safetensors"])
        initial = load_safetensors(members["initial.safetensors"])
        frame = pd.read_csv(io.BytesIO(members["data.csv"]), index_col="Date", parse_dates=["Date"])
    except Exception as exc:  # safetensors and pandas raise several types for corrupt input
        raise LabError("err_bundle_damaged", detail="weights or data cannot be read") from exc
    model = build_model(config)
    try:
        model.load_state_dict(weights)
        build_model(config).load_state_dict(initial)
    except RuntimeError as exc:
        raise LabError("err_bundle_shapes") from exc
    model.eval()
    try:  # run.json has no checksum of its own: parse every field strictly, and never trust its scores
        history = [_epoch_record(h) for h in record.get("history", [])]
        run = Run(
            config=config,
            dataset_name=str(record.get("dataset", "?")),
            frame=frame,
            model=model,
            initial_state=initial,
            history=history,
            metrics={},
            best_epoch=int(record.get("best_epoch", 0)),
            best_val_loss=float(record.get("best_val_loss") or math.nan),
            stop_reason=str(record.get("stop_reason", "completed")),
            seconds=float(record.get("seconds", 0.0)),
            run_id=str(record.get("run_id", uuid.uuid4().hex[:8])),
            created=str(record.get("created", "")),
        )
    except (ValueError, TypeError, AttributeError) as exc:
        raise LabError("err_bundle_damaged", detail="run.json is not valid") from exc
    try:
        run.metrics = evaluate(run.prepared, run.test_predictions)  # recomputed from the weights and the data
    except LabError:
        raise
    except Exception as exc:
        raise LabError("err_bundle_damaged", detail="its data does not fit its settings") from exc
    try:
        stored = Scaler.from_dict(record["scaler"]["features"])
        fitted = run.prepared.feature_scaler
    except (KeyError, TypeError, ValueError) as exc:
        raise LabError("err_bundle_damaged", detail="the scaler is missing") from exc
    if stored.mean.shape != fitted.mean.shape or not (
        np.allclose(stored.mean, fitted.mean, rtol=1e-6) and np.allclose(stored.std, fitted.std, rtol=1e-6)
    ):
        raise LabError("err_bundle_damaged", detail="the scaler does not match the data")
    return run
