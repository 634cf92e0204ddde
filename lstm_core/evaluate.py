"""Honest scoring on the held-out test period: the model against naive baselines, in the units a person reads."""

from __future__ import annotations

import math

import numpy as np

from lstm_core import targets
from lstm_core.pipeline import Prepared

BASELINES = tuple(dict.fromkeys(name for names in targets.BASELINES.values() for name in names))  # every name


def metrics(actual: np.ndarray, predicted: np.ndarray, last: np.ndarray) -> dict[str, float | None]:
    """RMSE, MAE, MAPE (%) and directional accuracy (%) of forecasts in readable units (prices or volatility).

    ``last`` is the last known value of each sample: direction is right when the forecast moves the same way
    from it as the actual value did. Days on which either stayed flat are left out (a flat day has no direction);
    directional accuracy is None when no such pair is left (persistence never moves). MAPE is None for a series
    that touches or crosses zero, where a percentage error means nothing.
    """
    actual, predicted, last = (np.asarray(a, dtype=np.float64) for a in (actual, predicted, last))
    error = predicted - actual
    predicted_move, actual_move = np.sign(predicted - last), np.sign(actual - last)
    moves = (predicted_move != 0) & (actual_move != 0)
    one_sign = bool((actual > 0).all() or (actual < 0).all())
    return {
        "rmse": float(np.sqrt(np.mean(error**2))),
        "mae": float(np.mean(np.abs(error))),
        "mape": float(100 * np.mean(np.abs(error / actual))) if one_sign else None,
        "direction_acc": float(100 * np.mean(predicted_move[moves] == actual_move[moves])) if moves.any() else None,
    }


def baseline_predictions(prepared: Prepared, split: str = "test") -> dict[str, np.ndarray]:
    """The target's no-model forecasts for each sample of a split (see ``lstm_core.targets.baselines``)."""
    return prepared.baselines(split)


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
    actual = prepared.actual_values(split)
    last = prepared.last_values(split)
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
