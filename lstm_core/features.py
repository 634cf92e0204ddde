"""The input channels a model may read at each timestep, and how each is computed from a frame (prices or a memory task)."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

import numpy as np
import pandas as pd

from lstm_core.errors import LabError

VOL_FLOOR = 1e-4  # 0.01 % a day: keeps the log of a flat stretch (and of a zero return) finite


class Feature(StrEnum):
    """One input channel of each timestep."""

    LOGABSRET = "logabsret"  # log |daily log return|: the size of each day's move, the raw material of volatility
    # log of the day's range volatility (Parkinson 1980: (ln H/L)^2 / 4 ln 2 estimates the day's variance, about five
    # times as efficiently as the squared return); needs High and Low. With per-window normalisation it is read against
    # the window's own volatility, as the size of each day's move is (bundles of version 2 on)
    LOGRANGE = "logrange"
    # the same channel as bundles before version 2 read it: at its own level even in a normalised window. Never
    # offered; an old bundle's normalised ``logrange`` becomes it (lstm_core.runs.schema), so it forecasts as it did
    LOGRANGE_LEVEL = "logrange_level"
    LOGRET = "logret"
    # HAR's components as inputs (Corsi 2009): the log of the mean |daily log return| over the last 5 and 22 days
    LOGVOL5 = "logvol5"
    LOGVOL22 = "logvol22"
    # the market factor of a basket: the log of the previous day's mean, across the basket's series, of each one's
    # |daily log return| over its own training-period mean (lstm_core.basket.run adds it as the frame's Market
    # column: level-free, so never read against a window's level); a single series has none
    MARKET = "market"
    CLOSE = "close"
    OPEN = "open"
    HIGH = "high"
    LOW = "low"
    VOLUME = "volume"  # log(1 + volume)
    # the channels of a memory task (lstm_core.data.tasks), read as they are
    VALUE = "value"  # the number at each step (a noisy value, or a pulse to count)
    MARKER = "marker"  # 1 on the step(s) whose value is to be remembered, else 0
    RESET = "reset"  # 1 where a running count starts again from 0, else 0

    @property
    def reads_returns(self) -> bool:
        """Whether the channel takes logs of price ratios (so prices must be positive)."""
        return self in (Feature.LOGRET, Feature.LOGABSRET, Feature.LOGVOL5, Feature.LOGVOL22)

    @property
    def column(self) -> str:
        """The frame column the channel is computed from (the first of them, for the daily range)."""
        return self.columns[0]

    @property
    def columns(self) -> tuple[str, ...]:
        """Every frame column the channel needs."""
        if self in RANGE_CHANNELS:
            return ("High", "Low")
        return ("Close",) if self.reads_returns else (_COLUMNS[self],)

    @property
    def is_legacy(self) -> bool:
        """A channel kept only so that old bundles forecast as they did: never offered for a new run."""
        return self == Feature.LOGRANGE_LEVEL

    @property
    def is_task_channel(self) -> bool:
        """A channel of a memory task rather than of prices."""
        return self in TASK_CHANNELS


class Normalization(StrEnum):
    """How each window's inputs and target are put on a common footing before the network reads them."""

    NONE = "none"  # one scaler for every window, fitted on the training rows
    # each window relative to its own level (the idea of reversible instance normalisation, Kim et al. 2022): the
    # network learns how the next values differ from where the window stands, and the output is mapped back
    WINDOW = "window"


HAR_DAYS = {Feature.LOGVOL5: 5, Feature.LOGVOL22: 22}
# log sizes of moves, which a normalised window reads against its own volatility (the daily range too, from bundle
# version 2 on: read at its own level it told series of different volatility apart, and a pooled model overshot the
# most volatile one; lstm_core.basket, docs/basket.md)
WINDOW_LEVEL_CHANNELS = frozenset({Feature.LOGABSRET, Feature.LOGVOL5, Feature.LOGVOL22, Feature.LOGRANGE})
RANGE_CHANNELS = frozenset({Feature.LOGRANGE, Feature.LOGRANGE_LEVEL})
PRICE_LEVELS = frozenset({Feature.CLOSE, Feature.OPEN, Feature.HIGH, Feature.LOW})
TASK_CHANNELS = frozenset({Feature.VALUE, Feature.MARKER, Feature.RESET})
_COLUMNS = {Feature.CLOSE: "Close", Feature.OPEN: "Open", Feature.HIGH: "High", Feature.LOW: "Low",
            Feature.VOLUME: "Volume", Feature.MARKET: "Market", Feature.VALUE: "Value", Feature.MARKER: "Marker", Feature.RESET: "Reset"}


def parkinson_variance(high: np.ndarray, low: np.ndarray) -> np.ndarray:
    """Each day's variance from its range (Parkinson 1980): ``(ln H/L)^2 / (4 ln 2)``; NaN where the range is not a
    range (a missing, zero or negative price, or a low above the high). ``[N]``"""
    high, low = np.asarray(high, dtype=np.float64), np.asarray(low, dtype=np.float64)
    valid = (high > 0) & (low > 0) & (high >= low)
    ratio = np.where(valid, high / np.where(valid, low, 1.0), np.nan)
    return np.log(ratio) ** 2 / (4 * np.log(2))


def daily_variance(frame: pd.DataFrame, logret: np.ndarray) -> np.ndarray:
    """Each row's variance proxy ``[N]``: the day's range (Parkinson) where the frame has High and Low, else (and on a
    day whose range is not one) the squared return. ``logret`` is row r against row r - 1, as Prepared keeps it."""
    squared = np.asarray(logret, dtype=np.float64) ** 2
    if "High" not in frame.columns or "Low" not in frame.columns:
        return squared
    ranged = parkinson_variance(frame["High"].to_numpy(), frame["Low"].to_numpy())[-len(squared):]
    return np.where(np.isfinite(ranged), ranged, squared)


def log_abs_returns(logret: np.ndarray) -> np.ndarray:
    """The size of each day's move on a log scale: ``log(|r| + VOL_FLOOR)``, ``[N]``."""
    return np.log(np.abs(logret) + VOL_FLOOR)


def feature_matrix(frame: pd.DataFrame, features: Sequence[Feature], first_row: int = 1) -> np.ndarray:
    """Raw (unscaled) features for rows ``first_row``..R-1 of ``frame``: ``[R - first_row, F]``.

    Prices start at row 1 (row 0 has no return); a memory task's channels at row 0.
    """
    columns = []
    for feature in features:
        missing = next((column for column in feature.columns if column not in frame.columns), None)
        if missing is not None and feature == Feature.MARKET:
            raise LabError("err_market_needs_basket")
        if missing is not None:
            raise LabError("err_missing_column", feature=feature.value, column=missing)
        values = frame[feature.column].to_numpy(dtype=np.float64)
        if feature in RANGE_CHANNELS:
            variance = parkinson_variance(frame["High"].to_numpy(), frame["Low"].to_numpy())
            columns.append(0.5 * np.log(np.nan_to_num(variance, nan=0.0) + VOL_FLOOR**2))
        elif feature.reads_returns:
            logret = np.concatenate([[np.nan], np.log(values[1:] / values[:-1])])  # row 0 has no return
            if feature in HAR_DAYS:  # the mean over the last n days (fewer at the start), today's included
                mean = pd.Series(np.abs(logret)).rolling(HAR_DAYS[feature], min_periods=1).mean().to_numpy()
                columns.append(np.log(mean + VOL_FLOOR))
            else:
                columns.append(logret if feature == Feature.LOGRET else log_abs_returns(logret))
        elif feature == Feature.MARKET:
            columns.append(np.log(values + VOL_FLOOR))
        else:
            columns.append(np.log1p(np.clip(values, 0, None)) if feature == Feature.VOLUME else values)
    return np.stack(columns, axis=1)[first_row:]
