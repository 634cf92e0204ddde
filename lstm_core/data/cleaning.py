"""One cleaning step for every source: sort, de-duplicate, adjust, fill and check a frame indexed by date."""

from __future__ import annotations

import numpy as np
import pandas as pd

from lstm_core.data.dataset import FRAME_COLUMNS, MIN_ROWS, PRICE_COLUMNS, DataQuality
from lstm_core.errors import LabError

EARLIEST_DATE = pd.Timestamp("1000-01-01")  # dates outside these bounds are typos, not history (a monthly
# series of sunspots or prices may begin in the 1700s: older than any stock, still history)
LATEST_DATE = pd.Timestamp("2200-12-31")


def tidy(frame: pd.DataFrame) -> tuple[pd.DataFrame, DataQuality]:
    """Sort, de-duplicate, fill and check a frame indexed by date; refuse one too short to use."""
    if frame.empty:
        raise LabError("err_no_rows")
    frame = frame.copy()
    index = pd.DatetimeIndex(frame.index)
    frame.index = index = index.tz_localize(None) if index.tz is not None else index
    in_range = (index >= EARLIEST_DATE) & (index <= LATEST_DATE)
    usable_date = index.notna() & in_range
    out_of_range = index.notna() & ~in_range  # read fine, but no price was ever quoted on it (9999-01-01)
    frame = frame[usable_date]
    frame.index.name = "Date"

    adjusted = volume_adjusted = False
    if "Adj Close" in frame.columns:
        if "Close" in frame.columns:
            factor = frame["Adj Close"] / frame["Close"]
            for col in ("Open", "High", "Low"):
                if col in frame.columns:
                    frame[col] = frame[col] * factor
            adjusted = bool((factor.dropna() != 1.0).any())
            if "Volume" in frame.columns:
                frame["Volume"] = frame["Volume"] / factor  # shares after a 2:1 split count double
                volume_adjusted = adjusted
        frame["Close"] = frame["Adj Close"]
        frame = frame.drop(columns="Adj Close")
    keep = [c for c in FRAME_COLUMNS if c in frame.columns]
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
        if out_of_range.any():  # the dates are the problem, not the length of the file
            example = index[out_of_range][0]
            raise LabError(
                "err_dates_out_of_range", n=int(out_of_range.sum()), example=f"{example:%Y-%m-%d}", rows=len(frame),
                minimum=MIN_ROWS,
            )
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
        volume_adjusted=volume_adjusted,
    )
    return frame, quality
