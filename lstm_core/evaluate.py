"""Honest scoring on the held-out test period: the model against every baseline, in the units a person reads."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from lstm_core.baselines import DEFAULT_OPTIONS, FitOptions, predict_splits
from lstm_core.pipeline import Prepared
from lstm_core.trainer import predict

MODEL = "model"  # the network's row beside the baselines' in every table


@dataclass(frozen=True, eq=False)
class Outputs:
    """Every forecaster's forecasts of the validation and test windows, in the target's own units: ``[S, steps]`` each.

    Made once per run (``Run.outputs``): the verdict, the intervals and the backtest all read these.
    """

    val: dict[str, np.ndarray]  # "model" and each baseline
    test: dict[str, np.ndarray]

    @property
    def names(self) -> list[str]:
        """"model" first, then the baselines in the registry's order."""
        return list(self.test)

    @property
    def baselines(self) -> list[str]:
        return [name for name in self.test if name != MODEL]

    def readable(self, prepared: Prepared, split: str, name: str) -> np.ndarray:
        """``name``'s first-step forecasts of a split in readable units: ``[S]``."""
        raw = getattr(self, split)[name][:, 0]
        return prepared.target_kind.readable(raw, prepared, prepared.split_ends[split])

    def with_model_test(self, test: np.ndarray) -> Outputs:
        """The same with the model's test forecasts replaced (by refitted ones)."""
        return Outputs(self.val, {**self.test, MODEL: test})


def model_outputs(prepared: Prepared, model: nn.Module, chunk: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The model's forecasts of every validation and test window, unscaled: ``[S_val, steps]``, ``[S_test, steps]``.

    One batched forward over both splits (``predict`` chunks it only to bound memory).
    """
    x_val, x_test = prepared.tensors("val")[0], prepared.tensors("test")[0]  # [S_val, T, F], [S_test, T, F]
    both = prepared.unscale(predict(model, torch.cat([x_val, x_test]), chunk).numpy())  # [S_val + S_test, steps]
    return both[: len(x_val)], both[len(x_val) :]


def collect_outputs(prepared: Prepared, model_val: np.ndarray, model_test: np.ndarray,
                    options: FitOptions = DEFAULT_OPTIONS) -> Outputs:
    """The model's forecasts beside every applicable baseline's (each fitted once, on training rows only)."""
    base = predict_splits(prepared, ("val", "test"), options)
    return Outputs({MODEL: model_val, **base["val"]}, {MODEL: model_test, **base["test"]})


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


def _betainc(a: float, b: float, x: float) -> float:
    """Regularized incomplete beta I_x(a, b) by its continued fraction (Lentz; Numerical Recipes' betacf)."""
    if x <= 0.0 or x >= 1.0:
        return 0.0 if x <= 0.0 else 1.0
    if x > (a + 1) / (a + b + 2):  # the fraction converges fast only below its mean: use the symmetry
        return 1.0 - _betainc(b, a, 1.0 - x)
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)) / a
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    f = d
    for m in range(1, 300):
        for numerator in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                          -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            f *= c * d
        if abs(c * d - 1.0) < 1e-15:
            break
    return front * f


def student_t_two_sided_p(statistic: float, df: float) -> float:
    """P(|T| >= |statistic|) for Student's t with ``df`` degrees of freedom."""
    return _betainc(df / 2, 0.5, df / (df + statistic * statistic))


def diebold_mariano_p(errors_a: np.ndarray, errors_b: np.ndarray, horizon: int = 1) -> float | None:
    """Two-sided p-value that forecasts a and b have equal mean squared error (Diebold & Mariano 1995).

    The variance of the loss difference uses ``horizon - 1`` autocovariances, since errors of
    overlapping h-step forecasts are correlated. The statistic carries the Harvey, Leybourne & Newbold (1997)
    small-sample correction and is read against Student's t with n - 1 degrees of freedom, without which DM
    rejects too often on short test periods and long horizons. None when the difference has no variance.
    """
    d = np.asarray(errors_a, dtype=np.float64) ** 2 - np.asarray(errors_b, dtype=np.float64) ** 2
    n = len(d)
    if n < 3:
        return None
    h = min(horizon, n - 1)
    centred = d - d.mean()
    variance = centred @ centred / n
    for lag in range(1, h):
        variance += 2 * (centred[lag:] @ centred[:-lag]) / n
    correction = (n + 1 - 2 * h + h * (h - 1) / n) / n
    if not variance > 0 or not correction > 0:
        return None
    statistic = d.mean() / math.sqrt(variance / n) * math.sqrt(correction)
    return student_t_two_sided_p(statistic, n - 1)


def evaluate(prepared: Prepared, outputs: Outputs, split: str = "test") -> dict[str, dict[str, float | None]]:
    """Metrics of the model and every baseline on a split (first step, readable units), plus the model's ``skill`` =
    1 - RMSE_model / RMSE_reference and ``p_vs_persistence``, the Diebold-Mariano p-value of that difference.

    The reference is the target's (``TargetKind.reference``): persistence for prices, whose forecast is also the last
    known value that directions are read from; the training mean for a memory task (the key keeps its first name, so
    bundles and the command line's JSON read as before)."""
    actual = prepared.actual_values(split)
    forecasts = {name: outputs.readable(prepared, split, name) for name in outputs.names}
    reference = prepared.target_kind.reference
    last = forecasts[reference]  # persistence's forecast is the last known value; directions are read from it
    table = {name: metrics(actual, forecast, last) for name, forecast in forecasts.items()}
    reference_rmse = table[reference]["rmse"]
    skill = 1 - table[MODEL]["rmse"] / reference_rmse if reference_rmse > 0 else None
    table[MODEL]["skill"] = skill if skill is None or math.isfinite(skill) else None
    table[MODEL]["p_vs_persistence"] = diebold_mariano_p(
        forecasts[MODEL] - actual, forecasts[reference] - actual, prepared.config.horizon)
    return table
