"""Next-days volatility: the log of the realized volatility of the next ``horizon`` daily returns."""

from __future__ import annotations

import math

import numpy as np

from lstm_core.features import VOL_FLOOR, Feature, Normalization
from lstm_core.targets.base import Series, Target, TargetKind, realized_vol

MEAN_ABS_SCALE = math.sqrt(math.pi / 2)  # for Gaussian returns E|r| = sigma * sqrt(2 / pi)


def window_mean_vol(logret: np.ndarray, ends: np.ndarray, window: int) -> np.ndarray:
    """``sqrt(pi/2) * mean |r|`` over rows ``e - window + 1 .. e`` for each end: ``[S]``, a daily volatility that is
    robust to one wild day and reads exactly what a window of returns shows."""
    absolute = np.concatenate([[0.0], np.cumsum(np.abs(logret))])  # any run of rows sums in O(1)
    first = np.maximum(ends - window + 1, 0)
    return MEAN_ABS_SCALE * (absolute[ends + 1] - absolute[first]) / (ends + 1 - first)


def window_log_level(logret: np.ndarray, ends: np.ndarray, window: int) -> np.ndarray:
    """``window_mean_vol`` in the target's own units (its log, floored as the target is): ``[S]``."""
    return np.log(np.sqrt(window_mean_vol(logret, ends, window) ** 2 + VOL_FLOOR**2))


class Volatility(TargetKind):
    id = Target.LOGVOL
    defaults = {"features": (Feature.LOGABSRET,), "horizon": 20, "normalize": Normalization.WINDOW}
    prediction_is_price = False
    can_copy_last = False
    units_key = "units_vol"
    forecast_axis_key = "forecast_y_vol"
    digits = 3
    scores_variance = True
    direction_baseline = "train_mean"  # volatility reverts to its mean: guessing so already gets most moves right

    def min_window(self, horizon: int) -> int:
        return max(2, horizon)  # persistence reads the last `horizon` returns from inside the window

    def first_row(self, horizon: int) -> int:
        return horizon - 1

    def first_target_row(self, ends: np.ndarray, horizon: int) -> np.ndarray:
        return ends + 1  # the first of the h returns whose volatility it predicts

    def value_at(self, series: Series, rows: np.ndarray, ends: np.ndarray, horizon: int) -> np.ndarray:
        return np.log(realized_vol(series.logret, rows - horizon + 1, horizon))  # the h returns ending at each row

    def readable(self, raw: np.ndarray, series: Series, ends: np.ndarray) -> np.ndarray:
        return 100 * np.exp(raw)  # percent a day

    def relative(self, raw: np.ndarray, series: Series, ends: np.ndarray, window: int) -> np.ndarray:
        return raw - window_log_level(series.logret, ends, window)  # log(future vol / the window's own)

    def absolute(self, relative: np.ndarray, series: Series, ends: np.ndarray, window: int) -> np.ndarray:
        return relative + window_log_level(series.logret, ends, window)

    def from_readable(self, values: np.ndarray) -> np.ndarray:
        return np.log(np.asarray(values) / 100)

    def persistence_label(self, horizon: int) -> tuple[str, dict[str, object]]:
        return "m_persistence_vol", {"h": horizon}

