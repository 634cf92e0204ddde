"""run.json of a bundle, which may be hostile: nesting checked before ``json.loads`` recurses, then a strict schema.

Every field is typed, bounded and finite; the first one that is not becomes ``err_bundle_field`` naming it.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import unicodedata
from collections.abc import Callable
from dataclasses import fields

import numpy as np

from lstm_core.baselines import BASELINES
from lstm_core.config import RunConfig
from lstm_core.errors import LabError
from lstm_core.evaluate import MODEL, SCORE_NAMES, UNTRAINED, Score, Scores
from lstm_core.features import Feature, Normalization
from lstm_core.pipeline import Scaler
from lstm_core.runs.record import BUNDLE_VERSION, JSON_KEYS, READ_VERSIONS, EpochRecord, RunRecord, StopReason
from lstm_core.targets import target_of

BUNDLE_FILES = ("run.json", "weights.safetensors", "initial.safetensors", "data.csv")
RUN_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")
MAX_JSON_DEPTH = 6  # run.json itself needs 4 (scaler -> features -> mean -> [...])
MAX_DATASET_CHARS = 200


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


def _history(max_epoch: int) -> Callable[[object], tuple[EpochRecord, ...]]:
    loss, amount = _number(0.0, 1e300, optional=True), _number(0.0, 1e15, optional=True)

    def check(value: object) -> tuple[EpochRecord, ...]:
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
        return tuple(records)

    return check


def _metrics(reference: str) -> Callable[[object], Scores]:
    """The scores table: the model's row, its target's reference baseline's (persistence for prices, the training
    mean for a task), and known baselines only; a score this version does not know (an older version's) is left out."""

    def check(value: object) -> Scores:
        if not isinstance(value, dict) or not {MODEL, reference} <= set(value) <= {MODEL, UNTRAINED, *BASELINES}:
            raise ValueError(value)
        table = Scores()
        for who, row in value.items():
            if not isinstance(row, dict) or "rmse" not in row or len(row) > 16:
                raise ValueError(row)
            for key, number in row.items():
                if not isinstance(key, str) or (number is not None and not isinstance(number, (int, float))):
                    raise ValueError(row)
            table[who] = Score.of({key: None if number is None else _number(-1e300, 1e300)(number)
                                  for key, number in row.items() if key in SCORE_NAMES})
        if table[MODEL].rmse is None or table[reference].rmse is None:
            raise ValueError("rmse")
        return table

    return check


def _scaler(n_features: int, steps: int = 1) -> Callable[[object], dict[str, Scaler]]:
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
        return {"features": one(value["features"], n_features), "target": one(value["target"], steps)}

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


_TOP_LEVEL = JSON_KEYS | {"sha256"}


def check_version(record: object, readable: tuple[int, ...], newest: int) -> int:
    """The record's format version; LabError naming it when this app does not read it."""
    version = record.get("version") if isinstance(record, dict) else None
    if isinstance(version, bool) or version not in readable:
        shown = version if isinstance(version, int) and not isinstance(version, bool) else "?"
        raise LabError("err_bundle_version", version=shown, supported=newest)
    return version


def upgraded_config(config: RunConfig, version: int) -> RunConfig:
    """A saved run's settings as this version reads them: a version-1 bundle's normalised daily range becomes the
    channel read at its own level (``Feature.LOGRANGE_LEVEL``), as it was trained, so its weights forecast as they did."""
    if version >= 2 or Feature.LOGRANGE not in config.features or config.normalize != Normalization.WINDOW:
        return config
    return config.with_(features=tuple(Feature.LOGRANGE_LEVEL if f == Feature.LOGRANGE else f for f in config.features))


def run_record(record: dict) -> tuple[RunRecord, dict[str, str]]:
    """The schema: the record and the files' checksums; LabError naming the first field that is missing, of the wrong
    type, out of range or unknown."""
    version = check_version(record, READ_VERSIONS, BUNDLE_VERSION)
    try:
        unknown = sorted(set(record) - _TOP_LEVEL)
        if unknown:
            raise _BadField(unknown[0][:40])
        config = upgraded_config(_field(record, "config", _config), version)
        max_epoch = config.epochs
        parsed = RunRecord(
            run_id=_field(record, "run_id", _run_id),
            created=_field(record, "created", _created),
            dataset=_field(record, "dataset", lambda v: _text(v, MAX_DATASET_CHARS)),
            config=config,
            metrics=_field(record, "metrics", _metrics(target_of(config.target).reference)),
            history=_field(record, "history", _history(max_epoch)),
            best_epoch=_field(record, "best_epoch", _int(0, max_epoch)),
            best_val_loss=_field(record, "best_val_loss", _number(0.0, 1e300, optional=True)),
            stop_reason=_field(record, "stop_reason", StopReason),
            seconds=_field(record, "seconds", _number(0.0, 1e9)),
            scaler=_field(record, "scaler", _scaler(config.n_features, config.steps)),
        )
        checksums = _field(record, "sha256", _checksums)
        _field(record, "epochs_run", _int(0, max_epoch))
    except _BadField as bad:
        raise LabError("err_bundle_field", field=bad.name) from None
    return parsed, checksums
