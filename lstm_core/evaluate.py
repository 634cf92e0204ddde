"""Honest scoring on the held-out test period: the model against naive baselines, in prices."""

from __future__ import annotations

import math

import numpy as np

from lstm_core.pipeline import Prepared

MA_DAYS = 5
BASELINES = ("persistence", "moving_average", "drift")


def metrics(actual: np.ndarray, predicted: np.ndarray, last: np.ndarray) -> dict[str, float | None]:
    """RMSE, MAE, MAPE (%) and directional accuracy (%) of price forecasts.

    ``last`` is the last known price of each window: direction is right when the forecast moves the same
    way from it as the actual price did. MAPE skips actual values of zero (it is undefined there) and is
    None when none are left; directional accuracy is None for a forecast that never moves (persistence).
    """
    actual, predicted, last = (np.asarray(a, dtype=np.float64) for a in (actual, predicted, last))
    error = predicted - actual
    nonzero = np.abs(actual) > 1e-12
    predicted_move = np.sign(predicted - last)
    moves = predicted_move != 0
    return {
        "rmse": float(np.sqrt(np.mean(error**2))),
        "mae": float(np.mean(np.abs(error))),
        "mape": float(100 * np.mean(np.abs(error[nonzero] / actual[nonzero]))) if nonzero.any() else None,
        "direction_acc": float(100 * np.mean(predicted_move[moves] == np.sign(actual - last)[moves])) if moves.any() else None,
    }


def baseline_predictions(prepared: Prepared, split: str = "test") -> dict[str, np.ndarray]:
    """Forecasts that need no model, for each sample of a split, whatever the horizon.

    persistence: the window's last price; moving_average: mean of its last MA_DAYS prices;
    drift: the window's average daily change carried ``horizon`` days forward.
    """
    ends = prepared.split_ends[split]
    close, window, horizon = prepared.close, prepared.config.window, prepared.config.horizon
    last = close[ends]
    ma_days = min(MA_DAYS, window)
    moving_average = np.mean(np.stack([close[ends - k] for k in range(ma_days)]), axis=0)
    first = close[ends - (window - 1)]
    drift = last + horizon * (last - first) / max(window - 1, 1)
    return {"persistence": last, "moving_average": moving_average, "drift": drift}


def diebold_mariano_p(errors_a: np.ndarray, errors_b: np.ndarray, horizon: int = 1) -> float | None:
    """Two-sided p-value that forecasts a and b have equal mean squared error (Diebold & Mariano 1995).

    The variance of the loss difference uses ``horizon - 1`` autocovariances, since errors of
    overlapping h-step forecasts are correlated. None when the difference has no variance.
    """
    d = np.asarray(errors_a, dtype=np.float64) ** 2 - np.asarray(errors_b, dtype=np.float64) ** 2
    n = len(d)
    if n < 3:
        return None
    centred = d - d.mean()
    variance = centred @ centred / n
    for lag in range(1, min(horizon, n - 1)):
        variance += 2 * (centred[lag:] @ centred[:-lag]) / n
    if not variance > 0:
        return None
    statistic = d.mean() / math.sqrt(variance / n)
    return math.erfc(abs(statistic) / math.sqrt(2))  # = 2 * (1 - Phi(|statistic|))


def evaluate(prepared: Prepared, model_prices: np.ndarray, split: str = "test") -> dict[str, dict[str, float | None]]:
    """Metrics for the model and every baseline, plus the model's ``skill`` = 1 - RMSE_model / RMSE_persistence
    and ``p_vs_persistence``, the Diebold-Mariano p-value of that difference (small: not down to chance)."""
    actual = prepared.actual_prices(split)
    last = prepared.last_prices(split)
    table = {"model": metrics(actual, model_prices, last)}
    baselines = baseline_predictions(prepared, split)
    for name, forecast in baselines.items():
        table[name] = metrics(actual, forecast, last)
    persistence_rmse = table["persistence"]["rmse"]
    skill = 1 - table["model"]["rmse"] / persistence_rmse if persistence_rmse > 0 else None
    table["model"]["skill"] = skill if skill is None or math.isfinite(skill) else None
    table["model"]["p_vs_persistence"] = diebold_mariano_p(
        model_prices - actual, baselines["persistence"] - actual, prepared.config.horizon)
    return table
