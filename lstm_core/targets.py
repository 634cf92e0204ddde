"""What a run predicts: each target in the model's units, in the units a person reads, and the baselines that judge it.

A sample *ends* at row ``e`` (its last input row) and looks ``h`` rows ahead. Rows are those of ``Prepared``:
``close[e]`` is the price at row ``e`` and ``logret[e] = log(close[e] / close[e - 1])``.
"""

from __future__ import annotations

from enum import StrEnum

import numpy as np
import pandas as pd

from lstm_core.features import VOL_FLOOR, log_abs_returns


class Target(StrEnum):
    """What the model predicts ``horizon`` days ahead."""

    LOGVOL = "logvol"  # log of the realized volatility of the next `horizon` daily returns
    LOGRET = "logret"  # log(price[t+h] / price[t]), rebuilt into a price
    PRICE = "price"  # the scaled price level itself

EWMA_LAMBDA = 0.94  # RiskMetrics' daily decay
MA_DAYS = 5
__all__ = ["VOL_FLOOR", "Target", "log_abs_returns"]  # and the functions below

BASELINES: dict[Target, tuple[str, ...]] = {
    Target.LOGVOL: ("persistence", "ewma", "train_mean"),
    Target.LOGRET: ("persistence", "moving_average", "drift"),
    Target.PRICE: ("persistence", "moving_average", "drift"),
}


def log_returns(close: np.ndarray, previous: float) -> np.ndarray:
    """Daily log returns aligned with ``close``: ``[N]``, the first against ``previous``."""
    return np.log(close / np.concatenate([[previous], close[:-1]]))


def _sum_of_squares(logret: np.ndarray) -> np.ndarray:
    """``S[k]`` = sum of ``logret[:k] ** 2``: any run of rows sums in O(1)."""
    return np.concatenate([[0.0], np.cumsum(logret**2)])


def realized_vol(logret: np.ndarray, first: np.ndarray, days: int) -> np.ndarray:
    """Daily realized volatility of rows ``first .. first + days - 1`` for each start: ``sqrt(mean r^2)``, floored."""
    squares = _sum_of_squares(logret)
    return np.sqrt((squares[first + days] - squares[first]) / days + VOL_FLOOR**2)


def raw_target(
    target: Target, close: np.ndarray, logret: np.ndarray | None, ends: np.ndarray, h: int, delay: int = 0,
) -> np.ndarray:
    """The value the model is trained on (before scaling), for every sample: ``[S]``.

    ``delay`` days later than the horizon (a multi-step forecast's step ``delay + 1``): the price at row
    ``e + h + delay``, its log return from the sample's own last price, or the volatility of the h returns ending there.
    """
    if target == Target.PRICE:
        return close[ends + h + delay]
    if target == Target.LOGRET:
        return np.log(close[ends + h + delay] / close[ends])
    return np.log(realized_vol(logret, ends + 1 + delay, h))  # the h returns ending at row e + h + delay


def readable(target: Target, raw: np.ndarray, close: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Model outputs (unscaled) in the units a person reads: prices, or volatility in percent a day."""
    if target == Target.PRICE:
        return raw
    if target == Target.LOGRET:
        return close[ends] * np.exp(raw)
    return 100 * np.exp(raw)


def last_value(target: Target, close: np.ndarray, logret: np.ndarray | None, ends: np.ndarray, h: int) -> np.ndarray:
    """What was known at each sample's end, in readable units: the last price, or the last h days' volatility."""
    if target == Target.LOGVOL:
        return 100 * realized_vol(logret, ends - h + 1, h)
    return close[ends]


def baselines(
    target: Target, close: np.ndarray, logret: np.ndarray | None, ends: np.ndarray, h: int, window: int,
    train_ends: np.ndarray,
) -> dict[str, np.ndarray]:
    """Forecasts that need no model, in readable units, for samples ending at ``ends``; keys as in ``BASELINES``.

    Prices: persistence (the last price), the mean of the last MA_DAYS prices, and drift (the window's average
    daily change carried h days on). Volatility: persistence (the last h days' volatility), an EWMA of squared
    returns (lambda 0.94, causal: it reads rows up to each end only), and the mean volatility of the training samples.
    """
    last = last_value(target, close, logret, ends, h)
    if target == Target.LOGVOL:
        ewma_var = pd.Series(logret**2).ewm(alpha=1 - EWMA_LAMBDA, adjust=False).mean().to_numpy()
        train_mean = float(np.mean(100 * realized_vol(logret, train_ends + 1, h)))
        return {
            "persistence": last,
            "ewma": 100 * np.sqrt(ewma_var[ends] + VOL_FLOOR**2),
            "train_mean": np.full(len(ends), train_mean),
        }
    ma_days = min(MA_DAYS, window)
    moving_average = np.mean(np.stack([close[ends - k] for k in range(ma_days)]), axis=0)
    first = close[ends - (window - 1)]
    drift = last + h * (last - first) / max(window - 1, 1)
    return {"persistence": last, "moving_average": moving_average, "drift": drift}
