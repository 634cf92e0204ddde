"""A basket run's bundle: basket.json, the weights as safetensors and each series' prices as its own CSV (never pickle).

basket.json records the settings, the one calendar, each series' name and the SHA-256 of its CSV (its content hash),
the training history and the scores as they were printed. Reading it back never believes those scores: the series are
read from their CSVs, checked against their hashes, cut at the recorded calendar and scored again from the weights,
so a bundle reproduces its run or is refused with one sentence.
"""

from __future__ import annotations

import io
import json
import math
import zipfile
from dataclasses import asdict, replace
from pathlib import Path

from lstm_core.basket.data import MAX_SERIES, Basket, check_basket
from lstm_core.basket.run import SavedBasket, prepare_basket, score_basket
from lstm_core.cost import scoring_macs
from lstm_core.data.tasks import ROW_INDEX
from lstm_core.errors import LabError
from lstm_core.model import build_model
from lstm_core.pipeline import Cutoffs
from lstm_core.runs.bundle import LOCAL_LIMITS, BundleLimits, _open_members, _sha256, parse_data_csv, scored_windows
from lstm_core.runs.record import StopReason
from lstm_core.runs.schema import (
    MAX_DATASET_CHARS,
    _BadField,
    _config,
    _field,
    _history,
    _int,
    _number,
    _run_id,
    _text,
    check_json_depth,
    check_version,
    upgraded_config,
)
from lstm_core.runs.weights import from_bytes
from lstm_core.trainer import TrainResult

BASKET_VERSION = 2  # 2: a normalised window reads the daily range against its own volatility, as run bundles' 2
BASKET_READ_VERSIONS = (1, 2)
RECORD = "basket.json"
WEIGHTS = ("weights.safetensors", "initial.safetensors")


def series_file(k: int) -> str:
    """The k-th series' CSV in the bundle: a fixed name, so no name from the bundle becomes a path."""
    return f"series-{k}.csv"


def _finite(value: float) -> float | None:
    """JSON has no NaN: a loss that was not a number is written as null, which the reader takes back."""
    return value if math.isfinite(value) else None


def _csv(frame) -> bytes:
    return frame.to_csv(index_label="Date").encode()


def basket_members(saved: SavedBasket, basket: Basket) -> dict[str, bytes]:
    """The bundle's files by name: basket.json first (its record, the files' checksums, the printed results)."""
    files = {WEIGHTS[0]: saved.weights, WEIGHTS[1]: saved.initial}
    files.update({series_file(k): _csv(ds.frame) for k, ds in enumerate(basket.datasets)})
    record = {
        "version": BASKET_VERSION, "run_id": saved.run_id, "config": saved.config.to_dict(), "cutoffs": saved.cutoffs.to_json(),
        "series": [{"name": name, "file": series_file(k), "sha256": _sha256(files[series_file(k)])}
                   for k, name in enumerate(saved.names)],
        "history": [{k: _finite(v) for k, v in asdict(h).items()} for h in saved.history],
        "best_epoch": saved.best_epoch, "best_val_loss": _finite(saved.best_val_loss), "stop_reason": str(saved.stop_reason), "seconds": saved.seconds,
        "sha256": {name: _sha256(files[name]) for name in WEIGHTS},
        "results": saved.to_json(),  # for a person reading the folder: never read back
    }
    return {RECORD: json.dumps(record, indent=1, allow_nan=False).encode(), **files}


def save_basket_bundle(saved: SavedBasket, basket: Basket, directory: str | Path) -> Path:
    """Write the bundle's files into ``directory`` (created if needed)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for name, blob in basket_members(saved, basket).items():
        (directory / name).write_bytes(blob)
    return directory


def basket_zip(saved: SavedBasket, basket: Basket) -> bytes:
    """The bundle as one zip file, for download."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, blob in basket_members(saved, basket).items():
            archive.writestr(name, blob)
    return buffer.getvalue()


def _series(value: object) -> list[dict[str, str]]:
    if not isinstance(value, list) or not 2 <= len(value) <= MAX_SERIES:
        raise ValueError(value)
    for k, item in enumerate(value):
        if (not isinstance(item, dict) or set(item) != {"name", "file", "sha256"} or item["file"] != series_file(k)
                or not isinstance(item["sha256"], str) or len(item["sha256"]) != 64):
            raise ValueError(item)
        _text(item["name"], MAX_DATASET_CHARS)
    return value


def _digests(value: object) -> dict[str, str]:
    if not isinstance(value, dict) or set(value) != set(WEIGHTS) or not all(isinstance(v, str) for v in value.values()):
        raise ValueError(value)
    return value


def _cutoffs(value: object) -> Cutoffs:
    import pandas as pd

    if not isinstance(value, dict) or set(value) != {"val", "cal", "test"}:
        raise ValueError(value)
    days = {name: pd.Timestamp(_text(day, 10)) for name, day in value.items()}
    if not days["val"] <= days["cal"] <= days["test"]:
        raise ValueError(value)
    return Cutoffs(**days)


def check_scoring_cost(frames: list, config, limits: BundleLimits) -> None:
    """LabError when scoring a basket's weights again on ``frames`` would cost more than ``limits`` allow (what reading
    its bundle does): said when it is saved, not first when it is read."""
    windows = sum(scored_windows(len(frame), config) for frame in frames)
    if scoring_macs(windows, config) > limits.max_score_macs:
        raise LabError("err_bundle_cost", gmac=f"{scoring_macs(windows, config) / 1e9:,.1f}",
                       limit=f"{limits.max_score_macs / 1e9:,.0f}")


def load_basket_bundle(source: str | Path | bytes, limits: BundleLimits = LOCAL_LIMITS) -> tuple[SavedBasket, Basket]:
    """A basket run from its bundle (a folder, a zip path or zip bytes), scored again from its weights and series;
    LabError with one sentence for anything amiss (a missing or changed file, a field out of range)."""
    members = _open_members(source, limits)
    raw = members.read(RECORD, limits.max_json_bytes)
    try:
        check_json_depth(raw)
    except LabError as err:  # the run bundle's sentence names run.json: this one names basket.json
        raise LabError("err_basket_json_nested", **err.params) from None
    try:
        record = json.loads(raw)
    except ValueError as exc:
        raise LabError("err_basket_json_invalid") from exc
    version = check_version(record, BASKET_READ_VERSIONS, BASKET_VERSION)
    try:
        run_id = _field(record, "run_id", _run_id)
        config = upgraded_config(_field(record, "config", _config), version)
        cutoffs = _field(record, "cutoffs", _cutoffs)
        series = _field(record, "series", _series)
        history = _field(record, "history", _history(config.epochs))
        best_epoch = _field(record, "best_epoch", _int(0, config.epochs))
        best_val_loss = _field(record, "best_val_loss", _number(0.0, 1e300, optional=True))
        stop_reason = _field(record, "stop_reason", StopReason)
        seconds = _field(record, "seconds", _number(0.0, 1e9))
        digests = _field(record, "sha256", _digests)
    except _BadField as bad:
        raise LabError("err_basket_json_field", field=bad.name) from None
    frames = []
    for item in series:
        blob = members.read(item["file"], limits.max_csv_bytes)
        if _sha256(blob) != item["sha256"]:
            raise LabError("err_bundle_checksum", name=item["file"])
        frame = parse_data_csv(blob, limits)
        if frame.index.name == ROW_INDEX:  # a memory task's rows: a basket is price series
            raise LabError("err_bundle_data")
        frames.append(frame)
    check_scoring_cost(frames, config, limits)  # refused before anything is prepared
    blobs = {name: members.read(name, limits.max_weights_bytes) for name in WEIGHTS}
    for name, blob in blobs.items():
        if _sha256(blob) != digests[name]:
            raise LabError("err_bundle_checksum", name=name)
    model = build_model(config)
    expected = model.state_dict()
    model.load_state_dict(from_bytes(blobs[WEIGHTS[0]], WEIGHTS[0], expected))
    initial = from_bytes(blobs[WEIGHTS[1]], WEIGHTS[1], expected)
    basket = check_basket(list(Basket.of_frames([item["name"] for item in series], frames).datasets))  # names once
    cutoffs, prepared = prepare_basket(basket, config, cutoffs)
    result = TrainResult(model=model.eval(), initial_state=initial, history=list(history), best_epoch=best_epoch,
                         best_val_loss=best_val_loss if best_val_loss is not None else float("nan"),
                         stop_reason=stop_reason, seconds=seconds)
    return replace(score_basket(basket, cutoffs, prepared, result).saved(), run_id=run_id), basket
