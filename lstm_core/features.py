"""The input channels a model may read at each timestep, and how each is computed from a price frame."""

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
    LOGRET = "logret"
    CLOSE = "close"
    OPEN = "open"
    HIGH = "high"
    LOW = "low"
    VOLUME = "volume"  # log(1 + volume)

    @property
    def reads_returns(self) -> bool:
        """Whether the channel takes logs of price ratios (so prices must be positive)."""
        return self in (Feature.LOGRET, Feature.LOGABSRET)


class Normalization(StrEnum):
    """How each window's inputs and target are put on a common footing before the network reads them."""

    NONE = "none"  # one scaler for every window, fitted on the training rows
    # each window relative to its own level (the idea of reversible instance normalisation, Kim et al. 2022): the
    # network learns how the next values differ from where the window stands, and the output is mapped back
    WINDOW = "window"


PRICE_LEVELS = frozenset({Feature.CLOSE, Feature.OPEN, Feature.HIGH, Feature.LOW})
_COLUMNS = {Feature.CLOSE: "Close", Feature.OPEN: "Open", Feature.HIGH: "High", Feature.LOW: "Low",
            Feature.VOLUME: "Volume"}


def log_abs_returns(logret: np.ndarray) -> np.ndarray:
    """The size of each day's move on a log scale: ``log(|r| + VOL_FLOOR)``, ``[N]``."""
    return np.log(np.abs(logret) + VOL_FLOOR)


def feature_matrix(frame: pd.DataFrame, features: Sequence[Feature]) -> np.ndarray:
    """Raw (unscaled) features for rows 1..R-1 of ``frame``: ``[R-1, F]`` (row 0 has no return)."""
    close = frame["Close"].to_numpy(dtype=np.float64)
    columns = []
    for feature in features:
        if feature.reads_returns:
            logret = np.log(close[1:] / close[:-1])
            columns.append(logret if feature == Feature.LOGRET else log_abs_returns(logret))
            continue
        column = _COLUMNS[feature]
        if column not in frame.columns:
            raise LabError("err_missing_column", feature=feature.value, column=column)
        values = frame[column].to_numpy(dtype=np.float64)[1:]
        columns.append(np.log1p(np.clip(values, 0, None)) if feature == Feature.VOLUME else values)
    return np.stack(columns, axis=1)
