"""HAR-RV (Corsi 2009): the log of the next h days' realized volatility regressed on the log of the last day's, week's
and month's (1, 5 and 22 days), by least squares on the training samples, one regression per step.

Each day's variance is its range's (Parkinson 1980) where the data has High and Low, else its squared return: one
day's squared return is a noisy measure of its variance (the fitted weight on it came out near zero), the range five
times less so.
"""

from __future__ import annotations

import numpy as np

from lstm_core.baselines.base import Baseline, FitOptions, Predictor
from lstm_core.features import VOL_FLOOR
from lstm_core.targets import Target

LAGS = (1, 5, 22)  # a day, a week and a month of trading days


def trailing_log_vol(daily_var: np.ndarray, ends: np.ndarray, days: int) -> np.ndarray:
    """The log realized volatility of the ``days`` daily variances ending at each end (fewer near the start): ``[S]``."""
    cumulative = np.concatenate([[0.0], np.cumsum(daily_var)])
    first = np.maximum(ends - days + 1, 0)
    return np.log(np.sqrt((cumulative[ends + 1] - cumulative[first]) / (ends + 1 - first) + VOL_FLOOR**2))


def design(data, ends: np.ndarray) -> np.ndarray:
    """Regression rows: a constant and the three trailing log volatilities, ``[S, 4]``."""
    return np.column_stack([np.ones(len(ends)), *(trailing_log_vol(data.daily_var, ends, days) for days in LAGS)])


def fit_coefficients(data) -> np.ndarray:
    """Least squares on the training samples' targets in the target's own units (log volatility): ``[4, steps]``."""
    ends = data.split_ends["train"]
    coef, *_ = np.linalg.lstsq(design(data, ends), data.raw_targets("train"), rcond=None)
    return coef


def fit(data, options: FitOptions) -> Predictor:
    coef = fit_coefficients(data)
    return lambda ends: design(data, ends) @ coef  # [S, 4] @ [4, steps]


BASELINE = Baseline("har", frozenset({Target.LOGVOL}), fit)
