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
    LOGRET = "logret"
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
        return self in (Feature.LOGRET, Feature.LOGABSRET)

    @property
    def column(self) -> str:
        """The frame column the channel is computed from."""
        return "Close" if self.reads_returns else _COLUMNS[self]

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


PRICE_LEVELS = frozenset({Feature.CLOSE, Feature.OPEN, Feature.HIGH, Feature.LOW})
TASK_CHANNELS = frozenset({Feature.VALUE, Feature.MARKER, Feature.RESET})
_COLUMNS = {Feature.CLOSE: "Close", Feature.OPEN: "Open", Feature.HIGH: "High", Feature.LOW: "Low",
            Feature.VOLUME: "Volume", Feature.VALUE: "Value", Feature.MARKER: "Marker", Feature.RESET: "Reset"}


def log_abs_returns(logret: np.ndarray) -> np.ndarray:
    """The size of each day's move on a log scale: ``log(|r| + VOL_FLOOR)``, ``[N]``."""
    return np.log(np.abs(logret) + VOL_FLOOR)


def feature_matrix(frame: pd.DataFrame, features: Sequence[Feature], first_row: int = 1) -> np.ndarray:
    """Raw (unscaled) features for rows ``first_row``..R-1 of ``frame``: ``[R - first_row, F]``.

    Prices start at row 1 (row 0 has no return); a memory task's channels at row 0.
    """
    columns = []
    for feature in features:
        if feature.column not in frame.columns:
            raise LabError("err_missing_column", feature=feature.value, column=feature.column)
        values = frame[feature.column].to_numpy(dtype=np.float64)
        if feature.reads_returns:
            logret = np.concatenate([[np.nan], np.log(values[1:] / values[:-1])])  # row 0 has no return
            columns.append(logret if feature == Feature.LOGRET else log_abs_returns(logret))
        else:
            columns.append(np.log1p(np.clip(values, 0, None)) if feature == Feature.VOLUME else values)
    return np.stack(columns, axis=1)[first_row:]
