"""Price data from four sources (bundled samples, Yahoo Finance, CSV, synthetic), as one tidy daily frame.

Every loader returns a ``Dataset``: a frame with a sorted, duplicate-free DatetimeIndex and the
columns Open, High, Low, Close, Volume where the source has them (a single-series source has Close
alone), plus a ``DataQuality`` report of what was fixed on the way in.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from lstm_core.errors import LabError

SAMPLES_DIR = Path(__file__).resolve().parent.parent / "data" / "samples"
PRICE_COLUMNS = ("Open", "High", "Low", "Close")
MIN_ROWS = 50  # below this no window/split of any model leaves a usable training set
MAX_CSV_BYTES = 50 * 1024 * 1024  # matches server.maxUploadSize in .streamlit/config.toml
SYNTHETIC_KINDS = ("sine", "random_walk", "ar2")
EARLIEST_DATE = pd.Timestamp("1800-01-01")  # dates outside these bounds are typos, not history
LATEST_DATE = pd.Timestamp("2200-12-31")

# Column names users' files use, lower-cased with spaces/underscores removed -> our name.
_COLUMN_ALIASES = {
    "open": "Open", "opening": "Open", "openprice": "Open",
    "high": "High", "highprice": "High", "max": "High",
    "low": "Low", "lowprice": "Low", "min": "Low",
    "close": "Close", "closing": "Close", "closeprice": "Close", "last": "Close",
    "price": "Close", "value": "Close", "closelast": "Close",
    "adjclose": "Adj Close", "adjustedclose": "Adj Close", "adjclosing": "Adj Close",
    "volume": "Volume", "vol": "Volume",
}
_DATE_NAMES = {"date", "datetime", "time", "timestamp", "day", "dt", "period", "日期", "时间"}
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%m/%d/%Y", "%d/%m/%Y", "%d.%m.%Y", "%Y%m%d", "%d-%b-%Y", "%b %d, %Y")


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
    bad_dates_dropped: int = 0  # rows whose date was unreadable or outside 1800..2200
    columns_dropped: tuple[str, ...] = ()  # columns more than half empty, left out rather than invented
    duplicates_removed: int = 0
    was_unsorted: bool = False
    nonpositive_prices: int = 0
    adjusted: bool = False  # OHLC rescaled by Adj Close / Close
    value_column: str = ""  # a CSV without a price column by name: the numeric column used as Close


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
    if q.adjusted:
        found.append(("q_adjusted", {}))
    if q.value_column:
        found.append(("q_value_column", {"column": q.value_column}))
    return found


@dataclass(frozen=True)
class Dataset:
    """A tidy price frame and where it came from."""

    name: str  # e.g. "MSFT (sample)": a stable English identifier that runs are filed under
    source: str  # "sample" | "yahoo" | "csv" | "synthetic"
    frame: pd.DataFrame
    quality: DataQuality
    from_cache: bool = False
    subject: str = ""  # ticker, file stem or synthetic kind, for title()
    seed: int = 0  # synthetic series only
    _fingerprint: list[str] = field(default_factory=list, repr=False, compare=False)

    @property
    def fingerprint(self) -> str:
        """A content hash of the prices (index and every column): the only safe cache key for a visitor's data."""
        if not self._fingerprint:
            digest = hashlib.sha256(pd.util.hash_pandas_object(self.frame, index=True).to_numpy().tobytes())
            digest.update(",".join(map(str, self.frame.columns)).encode())
            self._fingerprint.append(digest.hexdigest()[:32])
        return self._fingerprint[0]

    def title(self, lang: str = "en") -> str:
        """The dataset's name as the UI shows it, in ``lang``."""
        from lstm_core.i18n import t

        if not self.subject:
            return self.name
        if self.source == "synthetic":
            return t("ds_synthetic", lang, kind=t(f"syn_{self.subject}", lang), seed=self.seed)
        key = {"sample": "ds_sample", "csv": "ds_csv", "yahoo": "ds_yahoo_saved" if self.from_cache else "ds_yahoo"}
        return t(key[self.source], lang, subject=self.subject)

    @property
    def has_ohlc(self) -> bool:
        return all(c in self.frame.columns for c in PRICE_COLUMNS)

    @property
    def all_positive(self) -> bool:
        return self.quality.nonpositive_prices == 0


# ---------------------------------------------------------------- cleaning


def tidy(frame: pd.DataFrame) -> tuple[pd.DataFrame, DataQuality]:
    """Sort, de-duplicate, fill and check a frame indexed by date; refuse one too short to use."""
    if frame.empty:
        raise LabError("err_no_rows")
    frame = frame.copy()
    index = pd.DatetimeIndex(frame.index)
    frame.index = index.tz_localize(None) if index.tz is not None else index
    usable_date = frame.index.notna() & (frame.index >= EARLIEST_DATE) & (frame.index <= LATEST_DATE)
    frame = frame[usable_date]
    frame.index.name = "Date"

    adjusted = False
    if "Adj Close" in frame.columns:
        if "Close" in frame.columns:
            factor = frame["Adj Close"] / frame["Close"]
            for col in ("Open", "High", "Low"):
                if col in frame.columns:
                    frame[col] = frame[col] * factor
            if "Volume" in frame.columns:
                frame["Volume"] = frame["Volume"] / factor
            adjusted = bool((factor.dropna() != 1.0).any())
        frame["Close"] = frame["Adj Close"]
        frame = frame.drop(columns="Adj Close")
    keep = [c for c in (*PRICE_COLUMNS, "Volume") if c in frame.columns]
    frame = frame[keep].astype("float64").replace([np.inf, -np.inf], np.nan)

    was_unsorted = not frame.index.is_monotonic_increasing
    frame = frame.sort_index(kind="stable")
    duplicated = frame.index.duplicated(keep="last")
    frame = frame[~duplicated]

    before = len(frame)
    frame = frame.dropna(how="all")
    # a column mostly left blank (often Volume) would be mostly invented by filling: drop it instead
    sparse_columns = [c for c in frame.columns if c != "Close" and frame[c].notna().mean() < 0.5]
    frame = frame.drop(columns=sparse_columns)
    # leading rows cannot be filled from anything earlier: start where every column has had a value
    filled = frame.ffill()
    complete = filled.notna().all(axis=1).to_numpy()
    start = int(complete.argmax()) if complete.any() else len(frame)
    missing = int(frame.iloc[start:].isna().sum().sum())
    frame = filled.iloc[start:]
    dropped = before - len(frame)

    if len(frame) < MIN_ROWS:
        raise LabError("err_too_few_rows", rows=len(frame), minimum=MIN_ROWS)

    price_cols = [c for c in PRICE_COLUMNS if c in frame.columns]
    nonpositive = int((frame[price_cols] <= 0).any(axis=1).sum())
    day_steps = frame.index.to_series().diff().dt.days.dropna()
    typical_step = int(day_steps.median()) if len(day_steps) else 1
    gap_threshold = 4 if typical_step <= 3 else 2 * typical_step  # weekly bars: only a missing week is a gap
    long_gaps = day_steps[day_steps > gap_threshold]
    quality = DataQuality(
        rows=len(frame),
        start=frame.index[0].date().isoformat(),
        end=frame.index[-1].date().isoformat(),
        gaps=int(len(long_gaps)),
        gap_threshold_days=gap_threshold,
        largest_gap_days=int(day_steps.max()) if len(day_steps) else 0,
        missing_filled=missing,
        missing_dropped=dropped,
        bad_dates_dropped=int((~usable_date).sum()),
        columns_dropped=tuple(sparse_columns),
        duplicates_removed=int(duplicated.sum()),
        was_unsorted=was_unsorted,
        nonpositive_prices=nonpositive,
        adjusted=adjusted,
    )
    return frame, quality


# ---------------------------------------------------------------- bundled samples


def list_samples() -> list[str]:
    """Tickers of the bundled real samples, e.g. ``["MSFT", "NVDA"]``."""
    return sorted(p.name.split("_")[0] for p in SAMPLES_DIR.glob("*_daily.csv"))


def load_sample(ticker: str = "MSFT") -> Dataset:
    """One of the bundled real daily price files."""
    matches = sorted(SAMPLES_DIR.glob(f"{ticker.upper()}_*_daily.csv"))
    if not matches:
        raise LabError("err_unknown_sample", name=ticker, choices=", ".join(list_samples()))
    frame = pd.read_csv(matches[0], index_col="Date", parse_dates=["Date"])
    frame, quality = tidy(frame)
    ticker = ticker.upper()
    return Dataset(name=f"{ticker} (sample)", source="sample", frame=frame, quality=quality, subject=ticker)


# ---------------------------------------------------------------- Yahoo Finance


def download_yahoo(ticker: str, start: str, end: str, interval: str) -> pd.DataFrame:
    """The app's only network call: raw daily or weekly bars from Yahoo Finance.

    Raises whatever yfinance raises: ``OSError`` subclasses when the network is down,
    ``YFRateLimitError`` when throttled, ``YFPricesMissingError``/``YFTzMissingError`` for an
    unknown ticker.
    """
    import yfinance as yf

    # With exceptions hidden (yfinance's default), a process whose first two lookups failed offline
    # reports every later ticker as "possibly delisted": the network error must come through instead.
    yf.config.debug.hide_exceptions = False
    return yf.Ticker(ticker).history(start=start, end=end, interval=interval, auto_adjust=True, actions=False)


def cache_dir() -> Path:
    """Where downloads are kept on disk (``LSTM_LAB_CACHE`` or ``~/.cache/lstm-lab``)."""
    root = os.environ.get("LSTM_LAB_CACHE") or Path.home() / ".cache" / "lstm-lab"
    return Path(root) / "yahoo"


def _cache_file(ticker: str, start: str, end: str, interval: str) -> Path:
    return cache_dir() / f"{ticker}_{interval}_{start}_{end}.csv"


def cached_copies(ticker: str, interval: str = "1d") -> list[Path]:
    """Downloads of ``ticker`` kept on disk, newest first."""
    files = cache_dir().glob(f"{ticker.upper()}_{interval}_*.csv")
    return sorted(files, key=lambda p: p.stat().st_mtime, reverse=True)


def clear_cache() -> int:
    """Delete every cached download; returns how many files went."""
    files = list(cache_dir().glob("*.csv"))
    for f in files:
        f.unlink(missing_ok=True)
    return len(files)


def _check_ticker(ticker: str) -> str:
    ticker = ticker.strip().upper()
    if not ticker:
        raise LabError("err_empty_ticker")
    if not re.fullmatch(r"[A-Z0-9^][A-Z0-9.\-=^]{0,14}", ticker):
        raise LabError("err_bad_ticker", ticker=ticker)
    return ticker


def _from_cache_file(path: Path, ticker: str) -> Dataset | None:
    """A saved download, or None (and the file removed) when it no longer reads as one."""
    try:
        frame, quality = tidy(pd.read_csv(path, index_col="Date", parse_dates=["Date"]))
    except (OSError, ValueError, KeyError) as exc:  # LabError and pandas' parser errors are ValueErrors
        if not isinstance(exc, FileNotFoundError):
            path.unlink(missing_ok=True)
        return None
    name = f"{ticker} (Yahoo, saved copy)"
    return Dataset(name=name, source="yahoo", frame=frame, quality=quality, from_cache=True, subject=ticker)


def load_yahoo(ticker: str, start: str, end: str, interval: str = "1d", offline_fallback: bool = False) -> Dataset:
    """Prices from Yahoo Finance, read from the disk cache when this exact request was seen before.

    With ``offline_fallback`` a failed download returns the newest saved copy of the ticker instead
    of raising (its ``from_cache`` is True).
    """
    ticker = _check_ticker(ticker)
    if interval not in ("1d", "1wk"):
        raise LabError("err_bad_interval", interval=interval)
    try:
        in_order = pd.Timestamp(start) < pd.Timestamp(end)
    except ValueError:
        in_order = False
    if not in_order:
        raise LabError("err_bad_dates", start=start, end=end)
    path = _cache_file(ticker, start, end, interval)
    if path.exists() and (saved := _from_cache_file(path, ticker)) is not None:
        return saved

    from yfinance.exceptions import YFRateLimitError

    try:
        raw = download_yahoo(ticker, start, end, interval)
    except (OSError, YFRateLimitError) as exc:
        copies = cached_copies(ticker, interval)
        for copy in copies if offline_fallback else ():
            if (saved := _from_cache_file(copy, ticker)) is not None:
                return saved
        key = "err_yahoo_rate_limited" if isinstance(exc, YFRateLimitError) else "err_yahoo_offline"
        raise LabError(key + ("_saved" if copies else ""), ticker=ticker, saved=len(copies)) from exc
    except Exception as exc:  # yfinance signals an unknown ticker with several exception types
        raise LabError("err_yahoo_no_prices", ticker=ticker) from exc
    if raw is None or raw.empty or "Close" not in raw.columns:
        raise LabError("err_yahoo_no_prices", ticker=ticker)
    frame, quality = tidy(raw)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part")  # a download cut off mid-write must not pass for a saved copy
    frame.to_csv(partial, index_label="Date")
    partial.replace(path)
    return Dataset(name=f"{ticker} (Yahoo)", source="yahoo", frame=frame, quality=quality, subject=ticker)


# ---------------------------------------------------------------- CSV


def _normalise(name: str) -> str:
    return re.sub(r"[\s_\-.*/]", "", str(name)).lower()


def _parse_dates(values: pd.Series) -> pd.Series | None:
    """Dates from strings in any of the common formats, or None if under 90% of them parse."""
    # keep the local wall-clock date: exports like Yahoo's mix -05:00 and -04:00 across daylight saving
    text = values.astype("string").str.strip().str.replace(r"(?<=\d)\s*(?:Z|[+-]\d{2}:?\d{2})$", "", regex=True)
    # rank the formats on the head, then parse the whole column with the best ones until one reads it all
    head = text.iloc[:2000]
    scores = [pd.to_datetime(head, format=fmt, errors="coerce").notna().sum() for fmt in _DATE_FORMATS]
    best = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    for rank in np.argsort(scores)[::-1]:
        if scores[rank] == 0:
            break
        parsed = pd.to_datetime(text, format=_DATE_FORMATS[rank], errors="coerce")
        best = parsed if parsed.notna().sum() > best.notna().sum() else best
        if best.notna().mean() >= 0.99:
            break
    if best.notna().mean() < 0.9:
        try:
            parsed = pd.to_datetime(text, format="mixed", errors="coerce")
        except (ValueError, OverflowError):  # e.g. a column mixing zoned and naive stamps: not a date column
            parsed = None
        if parsed is not None and parsed.notna().mean() >= 0.9:
            best = parsed
    return best if best.notna().mean() >= 0.9 else None


def _to_number(values: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(values):
        return values.astype("float64")
    cleaned = values.astype("string").str.replace(r"[,$€£¥%\s]", "", regex=True)
    return pd.to_numeric(cleaned, errors="coerce")


def load_csv(content: bytes, filename: str = "upload.csv") -> Dataset:
    """A user's CSV: finds the date and price columns by name, or one numeric value column."""
    if len(content) > MAX_CSV_BYTES:
        size_mb = math.ceil(len(content) / 2**20 * 10) / 10  # rounded up, so it never reads as the limit itself
        raise LabError("err_file_too_big", size_mb=size_mb, limit_mb=MAX_CSV_BYTES // 2**20)
    if not content.strip():
        raise LabError("err_empty_file", name=filename)
    if b"\x00" in content[:4096]:
        raise LabError("err_not_csv", name=filename)
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = content.decode("latin-1")
    try:
        # sniff on the head only, then let the C parser read it all: pandas' own sniffing (engine="python")
        # takes minutes on a 50 MB upload
        separator = csv.Sniffer().sniff(text[:65536], delimiters=",;\t|").delimiter
    except csv.Error:
        separator = ","
    try:
        raw = pd.read_csv(io.StringIO(text), sep=separator, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeError, ValueError) as exc:
        raise LabError("err_not_csv", name=filename) from exc
    names = {col: _normalise(col) for col in raw.columns}
    if raw.empty:  # a header alone is a table without rows; anything else (JSON, prose) is no table at all
        known = _DATE_NAMES | _COLUMN_ALIASES.keys()
        raise LabError("err_no_rows" if any(n in known for n in names.values()) else "err_not_csv", name=filename)
    if raw.shape[1] < 2:
        raise LabError("err_not_csv", name=filename)

    date_col = next((c for c, n in names.items() if n in _DATE_NAMES), None)
    dates = _parse_dates(raw[date_col]) if date_col is not None else None
    if dates is None:  # no column is named like a date: take the first that parses as dates
        for col in raw.columns:
            if pd.api.types.is_numeric_dtype(raw[col]) and not str(col).lower().startswith("date"):
                continue
            dates = _parse_dates(raw[col])
            if dates is not None:
                date_col = col
                break
    if dates is None:
        raise LabError("err_no_date_column", name=filename)

    columns: dict[str, pd.Series] = {}
    for col, norm in names.items():
        ours = _COLUMN_ALIASES.get(norm)
        if col != date_col and ours and ours not in columns:
            columns[ours] = _to_number(raw[col])
    value_column = ""
    if "Close" not in columns and "Adj Close" not in columns:
        numeric = [c for c in raw.columns if c != date_col and _to_number(raw[c]).notna().mean() > 0.9]
        numeric = [c for c in numeric if names[c] not in ("volume", "vol")]
        if not numeric:
            raise LabError("err_no_numeric_column", name=filename)
        columns = {"Close": _to_number(raw[numeric[0]])}
        value_column = str(numeric[0])
    frame = pd.DataFrame(columns)
    frame.index = pd.DatetimeIndex(dates.values)  # unreadable dates stay NaT here; tidy drops and counts them
    if frame.drop(columns="Volume", errors="ignore").notna().sum().sum() == 0:
        raise LabError("err_no_numeric_column", name=filename)
    frame, quality = tidy(frame)
    quality = replace(quality, value_column=value_column)
    stem = Path(filename).stem or "upload"
    return Dataset(name=f"{stem} (CSV)", source="csv", frame=frame, quality=quality, subject=stem)


# ---------------------------------------------------------------- synthetic


def load_synthetic(kind: str = "sine", n_days: int = 1500, seed: int = 0, noise: float = 0.5) -> Dataset:
    """A seeded teaching series on business days: ``sine`` with noise, ``random_walk`` or ``ar2``."""
    if kind not in SYNTHETIC_KINDS:
        raise LabError("err_unknown_synthetic", kind=kind, choices=", ".join(SYNTHETIC_KINDS))
    if n_days < MIN_ROWS:
        raise LabError("err_too_few_rows", rows=n_days, minimum=MIN_ROWS)
    rng = np.random.default_rng(seed)
    steps = np.arange(n_days)
    if kind == "sine":
        values = 100 + 10 * np.sin(2 * np.pi * steps / 50) + noise * rng.standard_normal(n_days)
    elif kind == "random_walk":  # geometric, so prices stay positive and log returns are i.i.d.
        values = 100 * np.exp(np.cumsum(0.0003 + 0.015 * rng.standard_normal(n_days)))
    else:  # AR(2) with phi = (0.6, 0.3): stationary, slowly mean-reverting around 100
        x = np.zeros(n_days)
        shocks = noise * 2 * rng.standard_normal(n_days)
        for k in range(2, n_days):
            x[k] = 0.6 * x[k - 1] + 0.3 * x[k - 2] + shocks[k]
        values = 100 + x
    index = pd.bdate_range("2015-01-01", periods=n_days, name="Date")
    frame, quality = tidy(pd.DataFrame({"Close": values}, index=index))
    name = f"synthetic {kind} (seed {seed})"
    return Dataset(name=name, source="synthetic", frame=frame, quality=quality, subject=kind, seed=seed)


def load_source(spec: str) -> Dataset:
    """A dataset from a command-line spec: ``sample:MSFT``, ``yahoo:TICKER``, ``synthetic:sine`` or a CSV path."""
    kind, _, arg = spec.partition(":")
    if kind == "sample":
        return load_sample(arg or "MSFT")
    if kind == "synthetic":
        return load_synthetic(arg or "sine")
    if kind == "yahoo":
        end = pd.Timestamp.today().normalize()
        return load_yahoo(arg, (end - pd.DateOffset(years=10)).strftime("%Y-%m-%d"), end.strftime("%Y-%m-%d"), offline_fallback=True)
    path = Path(spec)
    if not path.is_file():
        raise LabError("err_bad_source", spec=spec)
    return load_csv(path.read_bytes(), path.name)
