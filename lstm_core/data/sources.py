"""The sources that are not a visitor's file: bundled samples, Yahoo Finance (the app's one network call), synthetic series."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from lstm_core.data.cleaning import tidy
from lstm_core.data.dataset import MIN_ROWS, Dataset, Source
from lstm_core.errors import LabError
from lstm_core.server_settings import setting

SAMPLES_DIR = Path(__file__).resolve().parents[2] / "data" / "samples"
# Where each bundled sample was taken from (data/samples/SOURCES.md tells the whole story).
SAMPLE_ORIGINS = {
    "MSFT": "https://github.com/alkaline-ml/pmdarima/blob/master/pmdarima/datasets/data/msft.tar.gz",
    "NVDA": "https://github.com/mementum/backtrader/blob/master/datas/nvda-1999-2014.txt",
    "SP500": "https://github.com/bashtage/arch/blob/main/arch/data/sp500/sp500.csv.gz",
    "NASDAQ": "https://github.com/bashtage/arch/blob/main/arch/data/nasdaq/nasdaq.csv.gz",
    "GOOG": "https://github.com/kernc/backtesting.py/blob/master/backtesting/test/GOOG.csv",
    "ORCL": "https://github.com/mementum/backtrader/blob/master/datas/orcl-1995-2014.txt",
    "YHOO": "https://github.com/mementum/backtrader/blob/master/datas/yhoo-1996-2014.txt",
}  # in the order the Data page offers them: MSFT, the default, first


# ---------------------------------------------------------------- bundled samples


def list_samples() -> list[str]:
    """Tickers of the bundled real samples, the default first: ``["MSFT", "NVDA", "SP500", "NASDAQ", ...]``."""
    present = {p.name.split("_")[0] for p in SAMPLES_DIR.glob("*_daily.csv")}
    return [ticker for ticker in SAMPLE_ORIGINS if ticker in present]


def load_sample(ticker: str = "MSFT") -> Dataset:
    """One of the bundled real daily price files."""
    matches = sorted(SAMPLES_DIR.glob(f"{ticker.upper()}_*_daily.csv"))
    if not matches:
        raise LabError("err_unknown_sample", name=ticker, choices=", ".join(list_samples()))
    frame = pd.read_csv(matches[0], index_col="Date", parse_dates=["Date"])
    frame, quality = tidy(frame)
    ticker = ticker.upper()
    return Dataset(name=f"{ticker} (sample)", source=Source.SAMPLE, frame=frame, quality=quality, subject=ticker)


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
    root = setting("cache") or Path.home() / ".cache" / "lstm-lab"
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
    return Dataset(name=name, source=Source.YAHOO, frame=frame, quality=quality, from_cache=True, subject=ticker)


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
        raw = download_yahoo(ticker, start, end, interval)  # the one network call: tests replace it on this module
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
    return Dataset(name=f"{ticker} (Yahoo)", source=Source.YAHOO, frame=frame, quality=quality, subject=ticker)


# ---------------------------------------------------------------- synthetic


def _sine(rng: np.random.Generator, n_days: int, noise: float) -> np.ndarray:
    return 100 + 10 * np.sin(2 * np.pi * np.arange(n_days) / 50) + noise * rng.standard_normal(n_days)


def _random_walk(rng: np.random.Generator, n_days: int, noise: float) -> np.ndarray:
    # geometric, so prices stay positive and log returns are i.i.d.
    return 100 * np.exp(np.cumsum(0.0003 + 0.015 * rng.standard_normal(n_days)))


def _ar2(rng: np.random.Generator, n_days: int, noise: float) -> np.ndarray:
    # phi = (0.6, 0.3): stationary, slowly mean-reverting around 100
    x = np.zeros(n_days)
    shocks = noise * 2 * rng.standard_normal(n_days)
    for k in range(2, n_days):
        x[k] = 0.6 * x[k - 1] + 0.3 * x[k - 2] + shocks[k]
    return 100 + x


SYNTHETIC_SERIES = {"sine": _sine, "random_walk": _random_walk, "ar2": _ar2}
SYNTHETIC_KINDS = tuple(SYNTHETIC_SERIES)


def load_synthetic(kind: str = "sine", n_days: int = 1500, seed: int = 0, noise: float = 0.5) -> Dataset:
    """A seeded teaching series on business days: ``sine`` with noise, ``random_walk`` or ``ar2``."""
    if kind not in SYNTHETIC_SERIES:
        raise LabError("err_unknown_synthetic", kind=kind, choices=", ".join(SYNTHETIC_KINDS))
    if n_days < MIN_ROWS:
        raise LabError("err_too_few_rows", rows=n_days, minimum=MIN_ROWS)
    values = SYNTHETIC_SERIES[kind](np.random.default_rng(seed), n_days, noise)
    index = pd.bdate_range("2015-01-01", periods=n_days, name="Date")
    frame, quality = tidy(pd.DataFrame({"Close": values}, index=index))
    name = f"synthetic {kind} (seed {seed})"
    return Dataset(name=name, source=Source.SYNTHETIC, frame=frame, quality=quality, subject=kind, seed=seed)
