"""A run's bundle (run.json + safetensors + data.csv, never pickle): writing it, and reading one that may be hostile.

Reading never trusts a header or a field: zip members are streamed and cut at their cap, run.json is checked for
nesting before ``json.loads`` recurses and then parsed against a strict schema, weights must be finite and fit the
settings, and re-scoring an untrusted bundle is refused beyond a bounded cost (``BundleLimits.max_score_macs``).
Every refusal is a ``LabError`` whose sentence names what to change.
"""

from __future__ import annotations

import hashlib
import io
import json
import struct
import zipfile
import zlib
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from lstm_core.config import RunConfig
from lstm_core.cost import EVAL_BATCH_MAX, eval_chunk_samples, n_parameters, scoring_macs
from lstm_core.data.tasks import ROW_INDEX, STEP_COLUMN, TaskKind, frame_columns
from lstm_core.errors import LabError
from lstm_core.evaluate import evaluate
from lstm_core.runs.run import Run, SavedRun
from lstm_core.runs.schema import parse_run_json, run_record

DATA_COLUMNS = ("Open", "High", "Low", "Close", "Volume")  # what lstm_core.data.tidy leaves in a frame
MAX_ZIP_ENTRIES = 16  # a bundle has 4; a bigger central directory is refused before zipfile parses it
_CHUNK = 1 << 20  # bytes inflated per read: the most a member can overshoot its cap by
_SAFETENSORS_HEADER = 64 * 1024  # room for the tensor table in front of the raw weights
_MB = 1 << 20
_SCORE_CHUNK_MB = 32  # the activations one chunk of re-scoring an upload may hold


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
    max_score_macs: float  # per forward pass: re-scoring runs the trained network and the same one before training
    max_window_values: int  # test windows x window length x features held as float32 at once

    @property
    def max_weights_bytes(self) -> int:
        return 4 * self.max_params + _SAFETENSORS_HEADER

    @property
    def max_total_bytes(self) -> int:
        """All four members inflated together: each member's cap is enforced, so their sum is."""
        return self.max_json_bytes + self.max_csv_bytes + 2 * self.max_weights_bytes


# Uploads from anyone: each is read in the page's thread, so these numbers bound that page's wait. Measured
# on one core by tests/test_bundles_hostile.py: every hostile case is refused within 0.2 s and +50 MB of peak
# memory; the largest upload allowed (3e10 multiply-adds over its validation and test windows: 24,000 rows,
# 128-unit LSTM, 60-day windows) is re-scored, every baseline included (GARCH once arch is imported), in 1.0 s
# with +108 MB.
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
    """The files of a bundle, by name: run.json is the run's record and the other files' checksums (made once per
    record: a run shared by a class is saved into every workspace from one copy)."""
    record, members = run.memo("bundle", lambda: (run.record, _members(run)))
    if record is not run.record:  # the same run under another record (a copy saved under another id)
        members = _members(run)
    return dict(members)  # the caller's to change


def data_csv(run: Run) -> bytes:
    """The run's data as its bundle's data.csv holds it (a task's rows indexed by ``Row``, prices by ``Date``)."""
    return run.frame.to_csv(index_label=ROW_INDEX if run.frame.index.name == ROW_INDEX else "Date").encode()


def _members(run: Run) -> dict[str, bytes]:
    saved = run.saved()
    files = {"weights.safetensors": saved.weights, "initial.safetensors": saved.initial, "data.csv": data_csv(run)}
    record = {**saved.record.to_json(), "sha256": {name: _sha256(blob) for name, blob in files.items()}}
    # JSON has no NaN (to_json wrote null): what the reader's schema refuses is never written
    return {"run.json": json.dumps(record, indent=1, allow_nan=False).encode(), **files}


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


def _too_big(name: str, cap: int) -> LabError:
    return LabError("err_bundle_member_too_big", name=name, limit_mb=round(cap / _MB, 1))


def _read_capped(stream: io.BufferedIOBase, name: str, cap: int) -> bytes:
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

    def read(self, name: str, cap: int) -> bytes:
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
                return _read_capped(stream, name, cap)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError) as exc:
            # CRC mismatch, truncated or garbled deflate data, and the few flags zipfile refuses itself
            raise LabError("err_bundle_corrupt", name=name) from exc


class _FolderMembers:
    """Members of a bundle folder on disk."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self, name: str, cap: int) -> bytes:
        file = self.path / name
        if not file.is_file():  # is_file follows links but refuses FIFOs and devices, whose reads could block
            raise LabError("err_bundle_missing_file", name=name)
        try:
            with open(file, "rb") as stream:
                return _read_capped(stream, name, cap)
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


# ---------------------------------------------------------------- data and weights


def parse_data_csv(blob: bytes, limits: BundleLimits) -> pd.DataFrame:
    """data.csv as a price frame (a Date index and known price columns) or a memory task's frame (a Row index
    0, 1, 2, ... and exactly one task's columns), at most ``max_csv_rows`` rows (counted before parsing)."""
    rows = max(blob.count(b"\n"), blob.count(b"\r")) - 1  # pandas ends a line at either; the header is one
    if rows > limits.max_csv_rows:
        raise LabError("err_bundle_rows", rows=rows, limit=limits.max_csv_rows)
    if b"\n" not in blob:
        raise LabError("err_bundle_data")
    header = blob[: blob.find(b"\n")].decode("ascii", errors="replace").strip().split(",")
    columns = header[1:]
    if header[0] == ROW_INDEX:
        return _task_frame(blob, tuple(columns))
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


def _task_frame(blob: bytes, columns: tuple[str, ...]) -> pd.DataFrame:
    """A task's data.csv: one task's columns exactly, whole-number rows and steps, every value finite."""
    if columns not in {frame_columns(kind) for kind in TaskKind}:
        raise LabError("err_bundle_data")
    whole = (ROW_INDEX, STEP_COLUMN)
    try:
        frame = pd.read_csv(io.BytesIO(blob), index_col=ROW_INDEX,
                            dtype={name: "int64" if name in whole else "float64" for name in (ROW_INDEX, *columns)})
    except (ValueError, OverflowError) as exc:  # a row that is not a number, or one too big for 64 bits
        raise LabError("err_bundle_data") from exc
    if not np.array_equal(frame.index.to_numpy(), np.arange(len(frame))) or not np.isfinite(frame.to_numpy(dtype=np.float64)).all():
        raise LabError("err_bundle_data")
    return frame


# ---------------------------------------------------------------- loading


def scored_windows(n_rows: int, config: RunConfig) -> int:
    """At most how many windows re-scoring reads (validation, calibration and test): every row after the training
    period's, counted from the data's length alone, before anything is prepared."""
    rows = n_rows - 1  # the first row has no return
    return max(rows - int(rows * config.train_frac), 0)


def load_bundle(source: str | Path | bytes, limits: BundleLimits = UPLOAD_LIMITS, rescore: bool = True) -> Run:
    """A run from a bundle folder, a zip path or zip bytes; LabError with one sentence for anything amiss.

    ``rescore``: recompute the scores from weights and data (a bundle from elsewhere: run.json has no
    checksum of its own, so its scores are never believed). Without it the stored scores are kept: for
    bundles this server wrote itself (the workspace) and for the command line, which computes what it prints.
    """
    members = _open_members(source, limits)
    record, checksums = run_record(parse_run_json(members.read("run.json", limits.max_json_bytes)))
    config = record.config
    params = n_parameters(config)
    if params > limits.max_params:
        raise LabError("err_bundle_params", params=params, limit=limits.max_params)
    blobs = {name: members.read(name, limits.max_weights_bytes)
             for name in ("weights.safetensors", "initial.safetensors")}
    blobs["data.csv"] = members.read("data.csv", limits.max_csv_bytes)
    for name, blob in blobs.items():
        if _sha256(blob) != checksums[name]:
            raise LabError("err_bundle_checksum", name=name)
    frame = parse_data_csv(blobs["data.csv"], limits)
    if rescore:  # refused before any window is prepared
        n_scored = scored_windows(len(frame), config)
        values = n_scored * config.window * config.n_features
        if values > limits.max_window_values:
            raise LabError("err_bundle_windows", windows=n_scored, window=config.window, values=values,
                           limit=limits.max_window_values)
        cost = scoring_macs(n_scored, config)
        if cost > limits.max_score_macs:
            raise LabError("err_bundle_cost", gmac=f"{cost / 1e9:,.1f}", limit=f"{limits.max_score_macs / 1e9:,.0f}")
    run = Run.restore(SavedRun(record, blobs["weights.safetensors"], blobs["initial.safetensors"]), frame)
    if rescore:
        # chunks whose activations stay bounded; where predict's own chunks already fit, its default gives exactly
        # train_run's numbers
        chunk = eval_chunk_samples(config.window, config.hidden, config.layers, _SCORE_CHUNK_MB)
        run.model_outputs(None if chunk >= EVAL_BATCH_MAX else chunk)
        run.untrained_outputs(None if chunk >= EVAL_BATCH_MAX else chunk)  # the same bound for the network before
        run.record = replace(run.record, metrics=evaluate(run.prepared, run.outputs()))
    return run
