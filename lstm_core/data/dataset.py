"""What every source hands over: a tidy frame (``Dataset``) and the report of what was fixed (``DataQuality``)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from lstm_core.data.tasks import TaskSpec

PRICE_COLUMNS = ("Open", "High", "Low", "Close")
FRAME_COLUMNS = (*PRICE_COLUMNS, "Volume")  # every column a Dataset's frame can hold, in this order
MIN_ROWS = 50  # below this no window/split of any model leaves a usable training set


@dataclass(frozen=True)
class DataQuality:
    """What the loader found and fixed; every count is in rows."""

    rows: int
    start: str
    end: str
    gaps: int = 0  # holes longer than gap_threshold_days between consecutive rows
    gap_threshold_days: int = 4  # a long weekend for daily bars, two steps for weekly ones
    largest_gap_days: int = 0
    missing_filled: int = 0  # cells (not rows) filled forward from the previous row, NaN and +-inf alike
    missing_dropped: int = 0  # empty rows, and leading rows from before every column has a value
    bad_dates_dropped: int = 0  # rows whose date was unreadable or outside 1000..2200
    columns_dropped: tuple[str, ...] = ()  # columns more than half empty, left out rather than invented
    duplicates_removed: int = 0
    was_unsorted: bool = False
    nonpositive_prices: int = 0
    adjusted: bool = False  # Close replaced by Adj Close, Open/High/Low rescaled by Adj Close / Close
    volume_adjusted: bool = False  # ... and Volume divided by the same factor, so traded value is unchanged
    value_column: str = ""  # a CSV without a price column by name: the numeric column used as Close
    decimal_comma: bool = False  # a CSV written with decimal commas (1.234,56), read as such


def quality_findings(quality: DataQuality) -> list[tuple[str, dict[str, object]]]:
    """What was fixed on the way in, as (translation key, params) pairs; empty for a clean series."""
    q = quality
    found: list[tuple[str, dict[str, object]]] = []
    if q.missing_filled or q.missing_dropped:
        found.append(("q_missing", {"filled": q.missing_filled, "dropped": q.missing_dropped}))
    if q.columns_dropped:
        found.append(("q_columns_dropped", {"columns": ", ".join(q.columns_dropped)}))
    if q.bad_dates_dropped:
        found.append(("q_bad_dates", {"n": q.bad_dates_dropped}))
    if q.duplicates_removed:
        found.append(("q_duplicates", {"n": q.duplicates_removed}))
    if q.was_unsorted:
        found.append(("q_unsorted", {}))
    if q.adjusted and q.volume_adjusted:
        found.append(("q_adjusted_volume", {}))
    elif q.adjusted:
        found.append(("q_adjusted", {}))
    if q.value_column:
        found.append(("q_value_column", {"column": q.value_column}))
    if q.decimal_comma:
        found.append(("q_decimal_comma", {}))
    return found


class Source(StrEnum):
    """Where a dataset came from; each has its name on the Data page (``src_<value>``)."""

    SAMPLE = "sample"  # bundled real prices
    YAHOO = "yahoo"
    CSV = "csv"  # a visitor's upload
    SYNTHETIC = "synthetic"
    TASK = "task"  # a memory task with a known answer (lstm_core.data.tasks)


def frame_fingerprint(frame: pd.DataFrame) -> str:
    """A content hash of a price frame (index and every column): 32 hex digits that change with any price or date."""
    digest = hashlib.sha256(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes())
    digest.update(",".join(map(str, frame.columns)).encode())
    return digest.hexdigest()[:32]


@dataclass(frozen=True)
class Dataset:
    """A tidy frame (prices, or a memory task's sequences) and where it came from."""

    name: str  # e.g. "MSFT (sample)": a stable English identifier that runs are filed under
    source: Source
    frame: pd.DataFrame
    quality: DataQuality
    from_cache: bool = False
    subject: str = ""  # ticker, file stem or synthetic kind, for title()
    seed: int = 0  # synthetic series and tasks only
    task: TaskSpec | None = None  # a memory task's spec; None for prices
    _fingerprint: list[str] = field(default_factory=list, repr=False, compare=False)

    @property
    def fingerprint(self) -> str:
        """A content hash of the prices (index and every column): the only safe cache key for a visitor's data."""
        if not self._fingerprint:
            self._fingerprint.append(frame_fingerprint(self.frame))
        return self._fingerprint[0]

    def title(self, lang: str = "en") -> str:
        """The dataset's name as the UI shows it, in ``lang``."""
        from lstm_core.i18n import t

        if not self.subject:
            return self.name
        if self.source == Source.SYNTHETIC:
            return t("ds_synthetic", lang, kind=t(f"syn_{self.subject}", lang), seed=self.seed)
        if self.task is not None:
            return t("ds_task", lang, kind=t(f"task_{self.task.kind}", lang), length=self.task.length,
                     sequences=self.task.sequences, seed=self.task.seed)
        key = {Source.SAMPLE: "ds_sample", Source.CSV: "ds_csv",
               Source.YAHOO: "ds_yahoo_saved" if self.from_cache else "ds_yahoo"}
        return t(key[self.source], lang, subject=self.subject)

    @property
    def is_task(self) -> bool:
        return self.task is not None

    def settings(self) -> dict[str, object]:
        """The run settings this data asks for (a task: its target, channels and window); none for prices."""
        return self.task.settings() if self.task is not None else {}

    @property
    def has_ohlc(self) -> bool:
        return all(c in self.frame.columns for c in PRICE_COLUMNS)

    @property
    def all_positive(self) -> bool:
        return self.quality.nonpositive_prices == 0


# every stable name a dataset is filed under, and the title key it reads as (one per loader's name)
_NAMED = (
    (re.compile(r"(?P<subject>.+) \(sample\)"), "ds_sample"),
    (re.compile(r"(?P<subject>.+) \(Yahoo\)"), "ds_yahoo"),
    (re.compile(r"(?P<subject>.+) \(Yahoo, saved copy\)"), "ds_yahoo_saved"),
    (re.compile(r"(?P<subject>.+) \(CSV\)"), "ds_csv"),
    (re.compile(r"synthetic (?P<kind>\w+) \(seed (?P<seed>\d+)\)"), "ds_synthetic"),
    (re.compile(r"(?P<kind>\w+) task \(length (?P<length>\d+), (?P<sequences>\d+) sequences, seed (?P<seed>\d+)\)"),
     "ds_task"),
)


def title_of(name: str, lang: str = "en") -> str:
    """A dataset's title in ``lang`` from the stable name a run is filed under, as ``Dataset.title`` gives it while
    the dataset is loaded (so a run reads the same before and after a reload); a name of no known form as it is."""
    from lstm_core.i18n import TABLE, t

    for pattern, key in _NAMED:
        match = pattern.fullmatch(name)
        if match is None:
            continue
        params = match.groupdict()
        if key == "ds_synthetic":
            params["kind"] = t(f"syn_{params['kind']}", lang) if f"syn_{params['kind']}" in TABLE["en"] else params["kind"]
        if key == "ds_task":
            params["kind"] = t(f"task_{params['kind']}", lang) if f"task_{params['kind']}" in TABLE["en"] else params["kind"]
        return t(key, lang, **params)
    return name
