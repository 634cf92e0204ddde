"""A run's bundle (run.json + safetensors + data.csv, never pickle): writing it, and reading one that may be hostile.

Reading never trusts a header or a field: zip members are streamed and cut at their cap, run.json is checked for
nesting before ``json.loads`` recurses and then parsed against a strict schema, weights must be finite and fit the
settings, and re-scoring an untrusted bundle is refused beyond a bounded cost (``BundleLimits.max_score_macs``).
Every refusal is a ``LabError`` whose sentence names what to change.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import math
import re
import struct
import unicodedata
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors

from lstm_core.config import RunConfig
from lstm_core.errors import LabError
from lstm_core.evaluate import BASELINES, evaluate
from lstm_core.model import build_model
from lstm_core.pipeline import Scaler
from lstm_core.runs import BUNDLE_VERSION, Run, _finite_or_none
from lstm_core.trainer import EpochRecord, StopReason

BUNDLE_FILES = ("run.json", "weights.safetensors", "initial.safetensors", "data.csv")
RUN_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")
DATA_COLUMNS = ("Open", "High", "Low", "Close", "Volume")  # what lstm_core.data.tidy leaves in a frame
MAX_JSON_DEPTH = 6  # run.json itself needs 4 (scaler -> features -> mean -> [...])
MAX_ZIP_ENTRIES = 16  # a bundle has 4; a bigger central directory is refused before zipfile parses it
MAX_DATASET_CHARS = 200
_CHUNK = 1 << 20  # bytes inflated per read: the most a member can overshoot its cap by
_SAFETENSORS_HEADER = 64 * 1024  # room for the tensor table in front of the raw weights
_MB = 1 << 20


@dataclass(frozen=True)
class BundleLimits:
    """What one bundle may cost to read: bytes, rows, parameters, and the multiply-adds of re-scoring it."""

    max_zip_bytes: int
    max_json_bytes: int
    max_csv_bytes: int
    max_csv_rows: int
    max_params: int  # each weights file is then at most 4 bytes a parameter plus its header
    # Re-scoring runs the model over every test window: windows x window length x recurrent parameters
    # multiply-adds (LSTM and GRU do about one per parameter per step), and first copies those windows
    max_score_macs: float
    max_window_values: int  # test windows x window length x features held as float32 at once

    @property
    def max_weights_bytes(self) -> int:
        return 4 * self.max_params + _SAFETENSORS_HEADER

    @property
    def max_total_bytes(self) -> int:
        """All four members inflated together."""
        return self.max_json_bytes + self.max_csv_bytes + 2 * self.max_weights_bytes


# Uploads from anyone: each is read in the page's thread, so every number here bounds that page's wait.
# Worst case measured on one core (tests/test_bundles_hostile.py): under 0.1 GB of memory; re-scoring
# 3e10 multiply-adds takes about 1.5 s for mid-size models (20 GMAC/s) and up to ~5 s for tiny ones.
UPLOAD_LIMITS = BundleLimits(
    max_zip_bytes=50 * _MB, max_json_bytes=1 * _MB, max_csv_bytes=20 * _MB, max_csv_rows=200_000,
    max_params=2_000_000, max_score_macs=3e10, max_window_values=1 << 24,
)
# Bundles this machine wrote: the workspace on the server, and folders the command line wrote (local only).
# They may be as big as anything the app can train (4 x 512 LSTM = 7.4 M parameters).
LOCAL_LIMITS = BundleLimits(
    max_zip_bytes=512 * _MB, max_json_bytes=2 * _MB, max_csv_bytes=160 * _MB, max_csv_rows=2_000_000,
    max_params=8_000_000, max_score_macs=1e12, max_window_values=1 << 27,
)


# ---------------------------------------------------------------- writing


def _sha256(blob: bytes) -> str:
    return hashlib.sha256(blob).hexdigest()


def bundle_members(run: Run) -> dict[str, bytes]:
    """The files of a bundle, by name."""
    weights = save_safetensors({k: v.contiguous() for k, v in run.model.state_dict().items()})
    initial = save_safetensors({k: v.contiguous() for k, v in run.initial_state.items()})
    data_csv = run.frame.to_csv(index_label="Date").encode()
    record = run.summary()
    # JSON has no NaN: what the reader's schema refuses is never written (an undefined score is null)
    record["metrics"] = {who: {k: _finite_or_none(v) for k, v in row.items()} for who, row in run.metrics.items()}
    record["scaler"] = {"features": run.prepared.feature_scaler.to_dict(), "target": run.prepared.target_scaler.to_dict()}
    record["sha256"] = {
        "weights.safetensors": _sha256(weights), "initial.safetensors": _sha256(initial), "data.csv": _sha256(data_csv)
    }
    return {
        "run.json": json.dumps(record, indent=1, allow_nan=False).encode(),
        "weights.safetensors": weights,
        "initial.safetensors": initial,
        "data.csv": data_csv,
    }


def save_bundle(run: Run, directory: str | Path, members: dict[str, bytes] | None = None) -> Path:
    """Write the bundle's files into ``directory`` (created if needed)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for name, blob in (members or bundle_members(run)).items():
        (directory / name).write_bytes(blob)
    return directory


def bundle_zip(run: Run) -> bytes:
    """The bundle as one zip file, for download."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, blob in bundle_members(run).items():
            archive.writestr(name, blob)
    return buffer.getvalue()


# ---------------------------------------------------------------- reading members under caps


class _Budget:
    """Bytes left for all members together."""

    def __init__(self, limits: BundleLimits) -> None:
        self.limits = limits
        self.left = limits.max_total_bytes

    def take(self, n: int) -> None:
        self.left -= n
        if self.left < 0:
            raise LabError("err_bundle_too_big", limit_mb=self.limits.max_total_bytes // _MB)


def _too_big(name: str, cap: int) -> LabError:
    return LabError("err_bundle_member_too_big", name=name, limit_mb=round(cap / _MB, 1))


def _read_capped(stream: io.BufferedIOBase, name: str, cap: int, budget: _Budget) -> bytes:
    """At most ``cap`` bytes of ``stream``, in 1 MB reads: a lying size header cannot make it inflate more."""
    chunks: list[bytes] = []
    total = 0
    while True:
        chunk = stream.read(_CHUNK)
        if not chunk:
            return b"".join(chunks)
        total += len(chunk)
        if total > cap:
            raise _too_big(name, cap)
        budget.take(len(chunk))
        chunks.append(chunk)


def _zip_entry_count(blob: bytes) -> int:
    """Entries the end-of-central-directory record announces, read before zipfile builds one object per entry."""
    end = blob.rfind(b"PK\x05\x06", max(0, len(blob) - 65_557))  # the record sits in the last 22 + 65,535 bytes
    if end < 0 or len(blob) - end < 22:
        raise LabError("err_bundle_not_zip")
    _, _, _, entries_here, entries, cd_size, _, _ = struct.unpack("<4s4H2LH", blob[end : end + 22])
    if 0xFFFF in (entries_here, entries) or cd_size == 0xFFFFFFFF:  # zip64: nothing a bundle needs
        return MAX_ZIP_ENTRIES + 1
    return max(entries, entries_here, cd_size // 46)  # 46 bytes: the smallest central directory entry


class _ZipMembers:
    """Members of a zip archive held in memory."""

    def __init__(self, blob: bytes, limits: BundleLimits) -> None:
        if len(blob) > limits.max_zip_bytes:
            raise LabError("err_bundle_too_big", limit_mb=limits.max_zip_bytes // _MB)
        entries = _zip_entry_count(blob)
        if entries > MAX_ZIP_ENTRIES:
            raise LabError("err_bundle_too_many_files", limit=MAX_ZIP_ENTRIES)
        try:
            self.archive = zipfile.ZipFile(io.BytesIO(blob))
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as exc:
            raise LabError("err_bundle_not_zip") from exc

    def read(self, name: str, cap: int, budget: _Budget) -> bytes:
        try:
            info = self.archive.getinfo(name)  # only these fixed names are read: no path from the archive is used
        except KeyError as exc:
            raise LabError("err_bundle_missing_file", name=name) from exc
        if info.flag_bits & 0x1:
            raise LabError("err_bundle_encrypted", name=name)
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise LabError("err_bundle_compression", name=name)
        if info.file_size > cap:  # an honest header saves the work; a lying one is caught by _read_capped
            raise _too_big(name, cap)
        try:
            with self.archive.open(info) as stream:
                return _read_capped(stream, name, cap, budget)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError) as exc:
            # CRC mismatch, truncated or garbled deflate data, and the few flags zipfile refuses itself
            raise LabError("err_bundle_corrupt", name=name) from exc


class _FolderMembers:
    """Members of a bundle folder on disk."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self, name: str, cap: int, budget: _Budget) -> bytes:
        file = self.path / name
        if not file.is_file():  # is_file follows links but refuses FIFOs and devices, whose reads could block
            raise LabError("err_bundle_missing_file", name=name)
        try:
            with open(file, "rb") as stream:
                return _read_capped(stream, name, cap, budget)
        except OSError as exc:
            raise LabError("err_bundle_missing_file", name=name) from exc


def _open_members(source: str | Path | bytes, limits: BundleLimits) -> _ZipMembers | _FolderMembers:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return _ZipMembers(bytes(source), limits)
    path = Path(source)
    if path.is_dir():
        return _FolderMembers(path)
    if not path.is_file():
        raise LabError("err_bundle_missing", path=str(path))
    if path.stat().st_size > limits.max_zip_bytes:
        raise LabError("err_bundle_too_big", limit_mb=limits.max_zip_bytes // _MB)
    return _ZipMembers(path.read_bytes(), limits)


# ---------------------------------------------------------------- run.json: nesting, JSON, schema


_JSON_SPECIAL = re.compile(rb'[\[\]{}"\\]')


def check_json_depth(raw: bytes, limit: int = MAX_JSON_DEPTH) -> None:
    """LabError when brackets outside strings nest deeper than ``limit``; one linear pass, no recursion."""
    depth, in_string, skip_to = 0, False, 0
    for match in _JSON_SPECIAL.finditer(raw):
        pos = match.start()
        if pos < skip_to:  # the character after a backslash inside a string
            continue
        char = raw[pos]
        if in_string:
            if char == 0x5C:  # backslash
                skip_to = pos + 2
            elif char == 0x22:
                in_string = False
        elif char == 0x22:
            in_string = True
        elif char in (0x5B, 0x7B):
            depth += 1
            if depth > limit:
                raise LabError("err_bundle_nested", limit=limit)
        elif char in (0x5D, 0x7D):
            depth -= 1


class _BadField(Exception):
    """One field of run.json does not fit the schema; becomes err_bundle_field naming it."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def _refuse_constant(token: str) -> float:
    raise ValueError(f"{token} is not a number JSON allows")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999 parses as inf
        raise ValueError(f"{text} overflows")
    return value


def _short_int(text: str) -> int:
    if len(text.lstrip("-")) > 18:  # int() of a megabyte of digits is slow; no field needs more than 18
        raise ValueError("integer too long")
    return int(text)


def parse_run_json(raw: bytes) -> dict:
    """run.json as a dict: nesting checked first, then JSON without NaN, Infinity or huge numbers."""
    check_json_depth(raw)
    try:
        record = json.loads(raw, parse_constant=_refuse_constant, parse_float=_finite_float, parse_int=_short_int)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise LabError("err_bundle_json") from exc
    if not isinstance(record, dict):
        raise LabError("err_bundle_json")
    return record


def _field(record: dict, name: str, check: Callable[[object], object]) -> object:
    if name not in record:
        raise _BadField(name)
    try:
        return check(record[name])
    except (TypeError, ValueError, KeyError, AttributeError, IndexError) as exc:
        raise _BadField(name) from exc


def _int(low: int, high: int) -> Callable[[object], int]:
    def check(value: object) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValueError(value)
        return value

    return check


def _number(low: float, high: float, optional: bool = False) -> Callable[[object], float]:
    """A finite number in [low, high]; with ``optional``, JSON null (how a NaN loss is saved) becomes NaN."""

    def check(value: object) -> float:
        if value is None and optional:
            return math.nan
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
            raise ValueError(value)
        return float(value)

    return check


def _text(value: object, max_chars: int) -> str:
    if not isinstance(value, str) or not 0 < len(value) <= max_chars:
        raise ValueError(value)
    if any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in value):  # no newlines or bidi tricks
        raise ValueError(value)
    return value


def _run_id(value: object) -> str:
    if not isinstance(value, str) or not RUN_ID.fullmatch(value):
        raise ValueError(value)
    return value


def _created(value: object) -> str:
    dt.datetime.fromisoformat(_text(value, 40))
    return value  # type: ignore[return-value]


def _config(value: object) -> RunConfig:
    known = {f.name for f in fields(RunConfig)}
    if not isinstance(value, dict) or not set(value) <= known:
        raise ValueError(value)
    for key, item in value.items():
        if key == "features":
            if not isinstance(item, list) or not all(isinstance(f, str) for f in item) or len(item) > 16:
                raise ValueError(item)
        elif not isinstance(item, (str, int, float)):  # bool is an int: validated() refuses it
            raise ValueError(item)
    try:
        return RunConfig.from_dict(value)
    except LabError as exc:
        raise ValueError(str(exc)) from exc


_HISTORY_FIELDS = {f.name for f in fields(EpochRecord)}


def _history(max_epoch: int) -> Callable[[object], list[EpochRecord]]:
    loss, amount = _number(0.0, 1e300, optional=True), _number(0.0, 1e15, optional=True)

    def check(value: object) -> list[EpochRecord]:
        if not isinstance(value, list) or len(value) > max_epoch + 1:
            raise ValueError("history")
        records = []
        for item in value:
            if not isinstance(item, dict) or set(item) != _HISTORY_FIELDS:
                raise ValueError(item)
            records.append(EpochRecord(
                epoch=_int(0, max_epoch)(item["epoch"]), train_loss=loss(item["train_loss"]),
                val_loss=loss(item["val_loss"]), seconds=amount(item["seconds"]),
                samples_per_s=amount(item["samples_per_s"]),
            ))
        return records

    return check


def _metrics(value: object) -> dict[str, dict[str, float | None]]:
    if not isinstance(value, dict) or not {"model", "persistence"} <= set(value) <= {"model", *BASELINES}:
        raise ValueError(value)
    table: dict[str, dict[str, float | None]] = {}
    for who, row in value.items():
        if not isinstance(row, dict) or "rmse" not in row or len(row) > 16:
            raise ValueError(row)
        table[who] = {}
        for key, number in row.items():
            if not isinstance(key, str) or (number is not None and not isinstance(number, (int, float))):
                raise ValueError(row)
            table[who][key] = None if number is None else _number(-1e300, 1e300)(number)
    if table["model"]["rmse"] is None or table["persistence"]["rmse"] is None:
        raise ValueError("rmse")
    return table


def _scaler(n_features: int) -> Callable[[object], dict[str, Scaler]]:
    def one(value: object, width: int) -> Scaler:
        if not isinstance(value, dict) or set(value) != {"mean", "std"}:
            raise ValueError(value)
        mean, std = (value[k] for k in ("mean", "std"))
        for column in (mean, std):
            if not isinstance(column, list) or len(column) != width:
                raise ValueError(column)
        return Scaler(np.array([_number(-1e300, 1e300)(v) for v in mean]),
                      np.array([_number(1e-300, 1e300)(v) for v in std]))

    def check(value: object) -> dict[str, Scaler]:
        if not isinstance(value, dict) or set(value) != {"features", "target"}:
            raise ValueError(value)
        return {"features": one(value["features"], n_features), "target": one(value["target"], 1)}

    return check


_HEX64 = re.compile(r"[0-9a-f]{64}")


def _checksums(value: object) -> dict[str, str]:
    names = set(BUNDLE_FILES) - {"run.json"}
    if not isinstance(value, dict) or set(value) != names:
        raise ValueError(value)
    for digest in value.values():
        if not isinstance(digest, str) or not _HEX64.fullmatch(digest):
            raise ValueError(digest)
    return value


@dataclass(frozen=True)
class RunRecord:
    """run.json once it has passed the schema: every field typed, bounded and finite."""

    run_id: str
    created: str
    dataset: str
    config: RunConfig
    metrics: dict[str, dict[str, float | None]]
    history: list[EpochRecord]
    best_epoch: int
    best_val_loss: float
    stop_reason: StopReason
    seconds: float
    scalers: dict[str, Scaler]
    checksums: dict[str, str]


_TOP_LEVEL = {"version", "run_id", "created", "dataset", "config", "metrics", "best_epoch", "best_val_loss",
              "epochs_run", "stop_reason", "seconds", "history", "scaler", "sha256"}


def run_record(record: dict) -> RunRecord:
    """The schema: LabError naming the first field that is missing, of the wrong type, out of range or unknown."""
    version = record.get("version")
    if version != BUNDLE_VERSION:
        shown = version if isinstance(version, int) and not isinstance(version, bool) else "?"
        raise LabError("err_bundle_version", version=shown, supported=BUNDLE_VERSION)
    try:
        unknown = sorted(set(record) - _TOP_LEVEL)
        if unknown:
            raise _BadField(unknown[0][:40])
        config = _field(record, "config", _config)
        max_epoch = config.epochs
        parsed = RunRecord(
            run_id=_field(record, "run_id", _run_id),
            created=_field(record, "created", _created),
            dataset=_field(record, "dataset", lambda v: _text(v, MAX_DATASET_CHARS)),
            config=config,
            metrics=_field(record, "metrics", _metrics),
            history=_field(record, "history", _history(max_epoch)),
            best_epoch=_field(record, "best_epoch", _int(0, max_epoch)),
            best_val_loss=_field(record, "best_val_loss", _number(0.0, 1e300, optional=True)),
            stop_reason=_field(record, "stop_reason", StopReason),
            seconds=_field(record, "seconds", _number(0.0, 1e9)),
            scalers=_field(record, "scaler", _scaler(config.n_features)),
            checksums=_field(record, "sha256", _checksums),
        )
        _field(record, "epochs_run", _int(0, max_epoch))
    except _BadField as bad:
        raise LabError("err_bundle_field", field=bad.name) from None
    return parsed


# ---------------------------------------------------------------- data and weights


def parse_data_csv(blob: bytes, limits: BundleLimits) -> pd.DataFrame:
    """data.csv as a price frame: known columns only, at most ``max_csv_rows`` rows (counted before parsing)."""
    rows = max(blob.count(b"\n"), blob.count(b"\r")) - 1  # pandas ends a line at either; the header is one
    if rows > limits.max_csv_rows:
        raise LabError("err_bundle_rows", rows=rows, limit=limits.max_csv_rows)
    if b"\n" not in blob:
        raise LabError("err_bundle_data")
    header = blob[: blob.find(b"\n")].decode("ascii", errors="replace").strip().split(",")
    columns = header[1:]
    if header[0] != "Date" or "Close" not in columns or len(set(columns)) != len(columns) or not set(columns) <= set(DATA_COLUMNS):
        raise LabError("err_bundle_data")
    try:
        frame = pd.read_csv(io.BytesIO(blob), index_col="Date", parse_dates=["Date"], dtype=dict.fromkeys(columns, "float64"))
    except ValueError as exc:  # ParserError, EmptyDataError and UnicodeDecodeError are ValueErrors
        raise LabError("err_bundle_data") from exc
    if (not isinstance(frame.index, pd.DatetimeIndex) or frame.index.hasnans or not frame.index.is_monotonic_increasing
            or not frame.index.is_unique or not np.isfinite(frame.to_numpy()).all()):
        raise LabError("err_bundle_data")
    return frame


def _weights(blob: bytes, name: str, expected: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Tensors that exactly fit ``expected`` (names, shapes, float32) and are finite."""
    try:
        tensors = load_safetensors(blob)
    except (SafetensorError, ValueError, RuntimeError) as exc:
        raise LabError("err_bundle_weights", name=name) from exc
    if set(tensors) != set(expected):
        raise LabError("err_bundle_shapes")
    for key, tensor in tensors.items():
        if tensor.shape != expected[key].shape:
            raise LabError("err_bundle_shapes")
        if tensor.dtype != torch.float32:
            raise LabError("err_bundle_weights", name=name)
        if not torch.isfinite(tensor).all():
            raise LabError("err_bundle_nonfinite", name=name)
    return tensors


def model_size(config: RunConfig) -> tuple[int, int]:
    """(all parameters, recurrent parameters) of ``config``'s model, counted without allocating it."""
    with torch.device("meta"):
        model = build_model(config)
    return sum(p.numel() for p in model.parameters()), sum(p.numel() for p in model.rnn.parameters())


def scoring_cost(n_test: int, config: RunConfig) -> float:
    """Multiply-adds of predicting every test window: windows x steps x recurrent parameters."""
    return float(n_test) * config.window * model_size(config)[1]


# ---------------------------------------------------------------- loading


def load_bundle(source: str | Path | bytes, limits: BundleLimits = UPLOAD_LIMITS, rescore: bool = True) -> Run:
    """A run from a bundle folder, a zip path or zip bytes; LabError with one sentence for anything amiss.

    ``rescore``: recompute the scores from weights and data (a bundle from elsewhere: run.json has no
    checksum of its own, so its scores are never believed). Without it the stored scores are kept: for
    bundles this server wrote itself (the workspace) and for the command line's ``gates``, which prints none.
    """
    members = _open_members(source, limits)
    budget = _Budget(limits)
    record = run_record(parse_run_json(members.read("run.json", limits.max_json_bytes, budget)))
    config = record.config
    params, _ = model_size(config)
    if params > limits.max_params:
        raise LabError("err_bundle_params", params=params, limit=limits.max_params)
    blobs = {name: members.read(name, limits.max_weights_bytes, budget)
             for name in ("weights.safetensors", "initial.safetensors")}
    blobs["data.csv"] = members.read("data.csv", limits.max_csv_bytes, budget)
    for name, blob in blobs.items():
        if _sha256(blob) != record.checksums[name]:
            raise LabError("err_bundle_checksum", name=name)
    model = build_model(config)
    expected = model.state_dict()
    weights = _weights(blobs.pop("weights.safetensors"), "weights.safetensors", expected)
    initial = _weights(blobs.pop("initial.safetensors"), "initial.safetensors", expected)
    model.load_state_dict(weights)  # names, shapes and dtypes were checked: this cannot fail
    model.eval()
    frame = parse_data_csv(blobs.pop("data.csv"), limits)
    run = Run(
        config=config, dataset_name=record.dataset, frame=frame, model=model, initial_state=initial,
        history=record.history, metrics=record.metrics, best_epoch=record.best_epoch,
        best_val_loss=record.best_val_loss, stop_reason=record.stop_reason, seconds=record.seconds,
        run_id=record.run_id, created=record.created,
    )
    prepared = run.prepared  # O(rows): refuses data too short for the settings with its own sentence
    stored = record.scalers["features"]
    if not (np.allclose(stored.mean, prepared.feature_scaler.mean, rtol=1e-6)
            and np.allclose(stored.std, prepared.feature_scaler.std, rtol=1e-6)):
        raise LabError("err_bundle_scaler")
    if rescore:
        n_test = prepared.n_samples("test")
        values = n_test * config.window * config.n_features
        if values > limits.max_window_values:
            raise LabError("err_bundle_windows", windows=n_test, window=config.window, values=values,
                           limit=limits.max_window_values)
        cost = scoring_cost(n_test, config)
        if cost > limits.max_score_macs:
            raise LabError("err_bundle_cost", gmac=f"{cost / 1e9:,.1f}", limit=f"{limits.max_score_macs / 1e9:,.0f}")
        run.metrics = evaluate(prepared, run.test_predictions)
    return run
