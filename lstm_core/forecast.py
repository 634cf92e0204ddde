"""Multi-step forecasts with split-conformal intervals: calibrated on the validation period, scored on the test period.

Intervals are built in the target's own units (log returns, prices, log volatility), where a model's errors are
roughly exchangeable, as ``prediction +- q``: q is the conformal quantile of the absolute h-step errors of the
validation windows, which the model never trained on. Readable units (prices, volatility in % a day) are an
increasing function of those units, so an interval maps end to end and keeps its coverage. Persistence (the random
walk for prices) gets the same treatment from its own validation errors, so the two widths compare at equal footing.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn

from lstm_core import targets
from lstm_core.config import Target
from lstm_core.errors import LabError
from lstm_core.model import build_model
from lstm_core.pipeline import Prepared
from lstm_core.trainer import make_optimizer, predict

DEFAULT_LEVELS = (80, 95)
COVERAGE_TOLERANCE = 5.0  # percentage points: a coverage further than this from its level is flagged


def parse_levels(text: str | None) -> tuple[int, ...]:
    """``"80,95"`` -> ``(80, 95)``; LabError unless every level is a whole percentage from 1 to 99."""
    if text is None:
        return DEFAULT_LEVELS
    parts = [part.strip() for part in str(text).split(",") if part.strip()]
    try:
        levels = tuple(sorted({int(part) for part in parts}))
    except ValueError as exc:
        raise LabError("err_forecast_levels", value=text) from exc
    if not levels or not all(1 <= level <= 99 for level in levels):
        raise LabError("err_forecast_levels", value=text)
    return levels


def model_outputs(model: nn.Module, prepared: Prepared, split: str) -> np.ndarray:
    """The model's forecasts of every step for each sample of a split, unscaled: ``[S, steps]``.

    One batched forward over all windows (predict chunks them only to bound memory).
    """
    x, _ = prepared.tensors(split)  # [S, T, F]
    return prepared.unscale(predict(model, x).numpy())


def persistence_outputs(prepared: Prepared, ends: np.ndarray) -> np.ndarray:
    """Persistence in the target's own units for samples ending at ``ends``: ``[S, steps]``, one value for every step.

    The last price (a zero log return), or the log of the last ``horizon`` days' volatility.
    """
    h = prepared.config.horizon
    if prepared.target_kind == Target.PRICE:
        last = prepared.close[ends]
    elif prepared.target_kind == Target.LOGRET:
        last = np.zeros(len(ends))
    else:
        last = np.log(targets.realized_vol(prepared.logret, ends - h + 1, h))
    return np.repeat(last[:, None], prepared.steps, axis=1)


def seasonal_naive_outputs(prepared: Prepared, ends: np.ndarray, period: int) -> np.ndarray:
    """Seasonal naive in the target's own units: each step repeats the value a whole number of periods earlier.

    Step k's target row ``e + d`` (d = horizon + k - 1) is forecast by row ``e + d - period * ceil(d / period)``,
    the latest row of the same phase known at ``e``: its price, its log return from the sample's own last price, or
    the volatility of the h returns ending there. ``[S, steps]``.
    """
    h = prepared.config.horizon
    first_row = h - 1 if prepared.target_kind == Target.LOGVOL else 0
    columns = []
    for k in range(prepared.steps):
        ahead = h + k
        rows = np.maximum(ends + ahead - period * math.ceil(ahead / period), first_row)
        if prepared.target_kind == Target.PRICE:
            columns.append(prepared.close[rows])
        elif prepared.target_kind == Target.LOGRET:
            columns.append(np.log(prepared.close[rows] / prepared.close[ends]))
        else:
            columns.append(np.log(targets.realized_vol(prepared.logret, rows - h + 1, h)))
    return np.stack(columns, axis=1)


def conformal_halfwidth(abs_errors: np.ndarray, level: float) -> np.ndarray:
    """Split-conformal half-width per step: the ``ceil((n + 1) level)``-th smallest absolute error, ``[steps]``.

    With fewer calibration windows than that rank needs the largest error is used (a slightly short interval).
    """
    errors = np.sort(np.asarray(abs_errors, dtype=np.float64), axis=0)  # [n, steps]
    n = len(errors)
    rank = min(math.ceil((n + 1) * level / 100), n)
    return errors[rank - 1]


@dataclass(frozen=True)
class Calibration:
    """Half-widths of each level and step, in the target's own units, from the validation period only."""

    levels: tuple[int, ...]
    model: np.ndarray  # [L, steps]
    persistence: np.ndarray  # [L, steps]
    n_windows: int


def calibrate(prepared: Prepared, model: nn.Module, levels: tuple[int, ...] = DEFAULT_LEVELS) -> Calibration:
    """Conformal half-widths from the h-step errors of the validation windows (never a training window's)."""
    ends = prepared.split_ends["val"]
    actual = prepared.raw_targets("val")  # [S, steps]
    model_errors = np.abs(model_outputs(model, prepared, "val") - actual)
    persistence_errors = np.abs(persistence_outputs(prepared, ends) - actual)
    return Calibration(
        levels=tuple(levels),
        model=np.stack([conformal_halfwidth(model_errors, level) for level in levels]),
        persistence=np.stack([conformal_halfwidth(persistence_errors, level) for level in levels]),
        n_windows=len(ends),
    )


def interval_scores(actual: np.ndarray, lower: np.ndarray, upper: np.ndarray, level: float) -> dict[str, float]:
    """Coverage (%), mean width, Winkler score and pinball loss of central intervals at ``level`` (readable units).

    Winkler: the width plus 2 / alpha times how far the actual value fell outside. Pinball: the mean quantile loss
    of the lower end at alpha / 2 and the upper end at 1 - alpha / 2.
    """
    actual, lower, upper = (np.asarray(a, dtype=np.float64) for a in (actual, lower, upper))
    alpha = 1 - level / 100
    below, above = np.clip(lower - actual, 0, None), np.clip(actual - upper, 0, None)
    width = upper - lower

    def pinball(quantile: np.ndarray, tau: float) -> np.ndarray:
        diff = actual - quantile
        return np.maximum(tau * diff, (tau - 1) * diff)

    return {
        "coverage": float(100 * np.mean((actual >= lower) & (actual <= upper))),
        "width": float(np.mean(width)),
        "winkler": float(np.mean(width + 2 / alpha * (below + above))),
        "pinball": float(np.mean((pinball(lower, alpha / 2) + pinball(upper, 1 - alpha / 2)) / 2)),
    }


def _ar_design(x: torch.Tensor) -> np.ndarray:
    """Windows ``[S, T, F]`` as regression rows: every input value and a constant, ``[S, T*F + 1]``."""
    flat = x.reshape(len(x), -1).double().numpy()  # [S, T, F] -> [S, T*F]
    return np.hstack([flat, np.ones((len(flat), 1))])


def fit_linear_ar(prepared: Prepared) -> np.ndarray:
    """Least-squares coefficients ``[T*F + 1, steps]`` of a linear autoregression on the training windows.

    Normal equations with a whisper of ridge (1e-8 of the mean diagonal): the system is only T*F + 1 wide, so this
    is many times faster than an SVD of every training row, and stays solvable when inputs repeat.
    """
    x_train, y_train = prepared.tensors("train")  # [S, T, F], [S] or [S, steps]
    design = _ar_design(x_train)
    gram = design.T @ design  # [P, P]
    gram += 1e-8 * np.trace(gram) / len(gram) * np.eye(len(gram))
    return np.linalg.solve(gram, design.T @ y_train.double().numpy().reshape(len(design), -1))


def linear_ar_outputs(prepared: Prepared, split: str, coef: np.ndarray | None = None) -> np.ndarray:
    """The linear autoregression's forecasts (on the model's own inputs) for a split, unscaled: ``[S, steps]``."""
    coef = fit_linear_ar(prepared) if coef is None else coef
    x, _ = prepared.tensors(split)
    return prepared.unscale(_ar_design(x) @ coef)  # [S, T*F+1] @ [T*F+1, steps]


def _step_table(actual: np.ndarray, median: np.ndarray, bounds: dict[int, tuple[np.ndarray, np.ndarray]],
                raw_mae: np.ndarray, naive_mae: np.ndarray) -> tuple[list[dict], dict[str, float]]:
    """Per-step point and interval scores, and coverage averaged over steps, for arrays ``[S, steps]``.

    MASE is ``raw_mae`` over ``naive_mae`` ([steps] each): the mean absolute error in the target's own units against
    persistence's on the training period. Own units, since a price that drifted since training would scale it.
    """
    rows = []
    for k in range(actual.shape[1]):
        error = median[:, k] - actual[:, k]
        mae = float(np.mean(np.abs(error)))
        intervals = {str(level): interval_scores(actual[:, k], lo[:, k], hi[:, k], level)
                     for level, (lo, hi) in bounds.items()}
        rows.append({
            "step": k + 1,
            "rmse": float(np.sqrt(np.mean(error**2))),
            "mae": mae,
            "mase": float(raw_mae[k] / naive_mae[k]) if naive_mae[k] > 0 else None,
            "coverage": {level: scores["coverage"] for level, scores in intervals.items()},
            "intervals": intervals,
        })
    coverage = {str(level): float(np.mean([row["coverage"][str(level)] for row in rows])) for level in bounds}
    return rows, coverage


def refit_outputs(prepared: Prepared, model: nn.Module, refit_every: int, epochs: int = 1,
                  from_scratch: bool = False) -> np.ndarray:
    """Walk-forward forecasts of the test origins with the model fine-tuned every ``refit_every`` origins, ``[S, steps]``.

    At each refit origin a copy of the model (carrying on from the previous refit's weights) trains ``epochs`` epochs
    on every sample whose targets are all known by that day, then forecasts the next ``refit_every`` origins in one
    batch. Scalers stay those of the training period, so a refit model reads its inputs as the original did.
    ``from_scratch``: each refit starts instead from fresh weights (the run's seed) and a fresh optimizer, the costly
    alternative that fine-tuning is measured against (bench/forecast.py).
    """
    if refit_every < 1:
        raise LabError("err_forecast_refit", k=refit_every)
    config = prepared.config
    model = copy.deepcopy(model)
    optimizer = make_optimizer(model, config)
    loss_fn = nn.MSELoss()
    generator = torch.Generator().manual_seed(config.seed)
    all_ends = np.concatenate([prepared.split_ends[split] for split in ("train", "val", "test")])
    ends = prepared.split_ends["test"]
    last_target = config.horizon + prepared.steps - 1  # rows from a sample's end to its last target
    outputs = []
    for start in range(0, len(ends), refit_every):
        known = all_ends[all_ends + last_target <= ends[start]]  # nothing past the origin is read
        x, y = prepared.tensors_at(known)  # [S, T, F], [S] or [S, steps]
        if from_scratch:
            model = build_model(config)
            optimizer = make_optimizer(model, config)
        model.train()
        for _ in range(epochs):
            order = torch.randperm(len(x), generator=generator)
            for first in range(0, len(x), config.batch):
                idx = order[first : first + config.batch]
                optimizer.zero_grad(set_to_none=True)
                loss_fn(model(x[idx]), y[idx]).backward()
                if config.clip_grad > 0:
                    nn.utils.clip_grad_norm_(model.parameters(), config.clip_grad)
                optimizer.step()
        outputs.append(predict(model, prepared.tensors_at(ends[start : start + refit_every])[0]))
    return prepared.unscale(torch.cat(outputs).numpy())


def _forecasters(prepared: Prepared, model: nn.Module, refit_every: int | None = None,
                 period: int | None = None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Name -> (validation outputs ``[S_val, steps]``, test outputs ``[S_test, steps]``), in the target's own units."""
    val_ends, ends = prepared.split_ends["val"], prepared.split_ends["test"]
    ar = fit_linear_ar(prepared)
    x_val, x_test = prepared.tensors("val")[0], prepared.tensors("test")[0]  # [S_val, T, F], [S_test, T, F]
    outputs = prepared.unscale(predict(model, torch.cat([x_val, x_test])).numpy())  # one forward: [S_val + S_test, steps]
    test_outputs = outputs[len(x_val):] if refit_every is None else refit_outputs(prepared, model, refit_every)
    forecasters = {
        "model": (outputs[: len(x_val)], test_outputs),
        "persistence": (persistence_outputs(prepared, val_ends), persistence_outputs(prepared, ends)),
        "linear_ar": (linear_ar_outputs(prepared, "val", ar), linear_ar_outputs(prepared, "test", ar)),
    }
    if period is not None:
        if period < 1:
            raise LabError("err_forecast_period", period=period)
        forecasters["seasonal_naive"] = (seasonal_naive_outputs(prepared, val_ends, period),
                                         seasonal_naive_outputs(prepared, ends, period))
    return forecasters


def backtest(
    prepared: Prepared, model: nn.Module, levels: tuple[int, ...] = DEFAULT_LEVELS, refit_every: int | None = None,
    period: int | None = None,
) -> dict[str, object]:
    """Walk-forward scores on the test period: every test window is an origin, all in one batched forward.

    Per step: RMSE, MAE, MASE and, per level, coverage, width, Winkler and pinball, in readable units. Beside the
    model: persistence (the random walk) and a linear autoregression, each with its own conformal intervals.
    ``refit_every`` K: the model is fine-tuned every K origins (``refit_outputs``); its intervals keep the
    half-widths of the original model's validation errors, since a refit model has trained on those windows.
    ``period`` P (rows): a seasonal naive baseline joins them (``seasonal_naive_outputs``).
    """
    started = time.perf_counter()
    val_ends, ends = prepared.split_ends["val"], prepared.split_ends["test"]
    val_actual, test_raw = prepared.raw_targets("val"), prepared.raw_targets("test")  # [S, steps]
    actual = prepared.readable_at(test_raw, ends)
    train_ends = prepared.split_ends["train"]
    naive_mae = np.mean(np.abs(persistence_outputs(prepared, train_ends) - prepared.raw_targets("train")), axis=0)
    forecasters = _forecasters(prepared, model, refit_every, period)
    result: dict[str, object] = {"origins": len(ends), "steps": prepared.steps, "calibration_windows": len(val_ends),
                                 "refits": 0 if refit_every is None else math.ceil(len(ends) / refit_every)}
    baselines = {}
    for who, (val_raw, raw) in forecasters.items():
        val_errors = np.abs(val_raw - val_actual)
        bounds = {}
        for level in levels:
            q = conformal_halfwidth(val_errors, level)  # [steps]
            bounds[level] = (prepared.readable_at(raw - q, ends), prepared.readable_at(raw + q, ends))
        raw_mae = np.mean(np.abs(raw - test_raw), axis=0)
        rows, coverage = _step_table(actual, prepared.readable_at(raw, ends), bounds, raw_mae, naive_mae)
        if who == "model":
            result.update(per_step=rows, coverage=coverage)
        else:
            baselines[who] = {"per_step": rows, "coverage": coverage}
    result["baselines"] = baselines
    result["seconds"] = time.perf_counter() - started
    return result


@dataclass(frozen=True)
class WalkForward:
    """Each test origin's errors and interval hits, in readable units: the backtest spread over time."""

    dates: pd.DatetimeIndex  # [S] each origin's last known day
    squared_errors: dict[str, np.ndarray]  # forecaster -> [S] squared error averaged over the steps
    hits: dict[int, np.ndarray]  # level -> [S] share of the model's steps whose interval held the actual value

    def rolling_rmse(self, window: int) -> dict[str, np.ndarray]:
        """Trailing RMSE over the last ``window`` origins (fewer at the start), per forecaster: ``[S]`` each."""
        return {who: np.sqrt(trailing_mean(errors, window)) for who, errors in self.squared_errors.items()}

    def rolling_coverage(self, window: int) -> dict[int, np.ndarray]:
        """Trailing empirical coverage (%) of the model's intervals over the last ``window`` origins: ``[S]`` each."""
        return {level: 100 * trailing_mean(hits, window) for level, hits in self.hits.items()}


def trailing_mean(values: np.ndarray, window: int) -> np.ndarray:
    """Mean of each value and the ``window - 1`` before it (as many as there are at the start)."""
    if window < 1:
        raise LabError("err_forecast_window", window=window)
    cumulative = np.concatenate([[0.0], np.cumsum(np.asarray(values, dtype=np.float64))])
    ends = np.arange(1, len(values) + 1)
    starts = np.maximum(ends - window, 0)
    return (cumulative[ends] - cumulative[starts]) / (ends - starts)


def walk_forward(prepared: Prepared, model: nn.Module, levels: tuple[int, ...] = DEFAULT_LEVELS,
                 refit_every: int | None = None) -> WalkForward:
    """Per-origin squared errors of the model, persistence and the linear AR, and the model's interval hits.

    The same forecasts and conformal half-widths as ``backtest``, kept per origin instead of averaged.
    """
    ends = prepared.split_ends["test"]
    val_actual, test_raw = prepared.raw_targets("val"), prepared.raw_targets("test")  # [S, steps]
    actual = prepared.readable_at(test_raw, ends)
    forecasters = _forecasters(prepared, model, refit_every)
    squared = {who: np.mean((prepared.readable_at(raw, ends) - actual) ** 2, axis=1)  # [S, steps] -> [S]
               for who, (_, raw) in forecasters.items()}
    val_raw, raw = forecasters["model"]
    hits = {}
    for level in levels:
        q = conformal_halfwidth(np.abs(val_raw - val_actual), level)  # [steps]
        lower, upper = prepared.readable_at(raw - q, ends), prepared.readable_at(raw + q, ends)
        hits[level] = np.mean((actual >= lower) & (actual <= upper), axis=1)  # [S, steps] -> [S]
    return WalkForward(dates=prepared.dates[ends], squared_errors=squared, hits=hits)


@dataclass(frozen=True)
class Forecast:
    """Forecasts for the steps past the data's last day, in readable units."""

    dates: pd.DatetimeIndex  # [steps]
    median: np.ndarray  # [steps]
    intervals: dict[int, tuple[np.ndarray, np.ndarray]]  # level -> (lower [steps], upper [steps])
    persistence: np.ndarray  # [steps]
    persistence_intervals: dict[int, tuple[np.ndarray, np.ndarray]]

    def to_json(self) -> dict[str, object]:
        return {
            "dates": [d.strftime("%Y-%m-%d") for d in self.dates],
            "median": self.median.tolist(),
            "intervals": {str(level): {"lower": lo.tolist(), "upper": hi.tolist()}
                          for level, (lo, hi) in self.intervals.items()},
            "persistence": self.persistence.tolist(),
        }


def future_dates(dates: pd.DatetimeIndex, first: int, count: int) -> pd.DatetimeIndex:
    """The dates ``first .. first + count - 1`` rows after the last of ``dates``: business days for daily data."""
    spacing = pd.Series(dates[-min(len(dates), 60):]).diff().median()
    last = dates[-1]
    if pd.isna(spacing) or spacing <= pd.Timedelta(days=4):  # daily data, weekends skipped
        ahead = pd.bdate_range(last + pd.offsets.BDay(1), periods=first + count - 1)
    else:
        ahead = pd.DatetimeIndex([last + spacing * k for k in range(1, first + count)])
    return ahead[first - 1:]


def forecast_ahead(prepared: Prepared, model: nn.Module, calibration: Calibration, steps: int | None = None) -> Forecast:
    """The model's (and persistence's) forecasts from the window that ends on the data's last day, with intervals."""
    steps = prepared.steps if steps is None else steps
    if not 1 <= steps <= prepared.steps:
        raise LabError("err_forecast_steps", steps=steps, trained=prepared.steps)
    window = prepared.config.window
    end = np.array([len(prepared.close) - 1])
    x = torch.from_numpy(prepared.features[-window:]).unsqueeze(0)  # [1, T, F]
    raw = prepared.unscale(predict(model, x).numpy())[:, :steps]  # [1, steps]
    persistence = persistence_outputs(prepared, end)[:, :steps]

    def readable(values: np.ndarray) -> np.ndarray:
        return prepared.readable_at(values, end)[0]

    return Forecast(
        dates=future_dates(prepared.dates, prepared.config.horizon, steps),
        median=readable(raw),
        intervals={level: (readable(raw - q[:steps]), readable(raw + q[:steps]))
                   for level, q in zip(calibration.levels, calibration.model, strict=True)},
        persistence=readable(persistence),
        persistence_intervals={level: (readable(persistence - q[:steps]), readable(persistence + q[:steps]))
                               for level, q in zip(calibration.levels, calibration.persistence, strict=True)},
    )


def forecast_report(prepared: Prepared, model: nn.Module, levels: tuple[int, ...]) -> tuple[Forecast, dict[str, object]]:
    """The forecast past the last day and the test-period backtest, both at ``levels``."""
    return forecast_ahead(prepared, model, calibrate(prepared, model, levels)), backtest(prepared, model, levels)


def history(prepared: Prepared, days: int) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """The last ``days`` rows in the forecast's readable units: prices, or the trailing ``horizon``-day volatility."""
    rows = np.arange(max(len(prepared.close) - days, 0), len(prepared.close))
    if prepared.target_kind == Target.LOGVOL:
        h = prepared.config.horizon
        rows = rows[rows >= h - 1]
        return prepared.dates[rows], 100 * targets.realized_vol(prepared.logret, rows - h + 1, h)
    return prepared.dates[rows], prepared.close[rows]


@dataclass(frozen=True)
class WidthComparison:
    """The model's and persistence's intervals at one level on the test period, averaged over steps."""

    level: int
    model_width: float
    persistence_width: float
    model_coverage: float  # %
    persistence_coverage: float

    @property
    def narrower(self) -> bool:
        """Narrower at no worse coverage (more than a point short of persistence's is no fair win)."""
        return self.model_width < self.persistence_width and self.model_coverage >= self.persistence_coverage - 1

    @property
    def ratio(self) -> float:
        return self.model_width / self.persistence_width if self.persistence_width > 0 else math.inf


def compare_widths(scores: dict[str, object]) -> list[WidthComparison]:
    """One comparison per level of a ``backtest`` result."""
    model_rows, persistence_rows = scores["per_step"], scores["baselines"]["persistence"]["per_step"]
    comparisons = []
    for level in scores["coverage"]:
        def mean(rows: list[dict], key: str, level: str = level) -> float:
            return float(np.mean([row["intervals"][level][key] for row in rows]))

        comparisons.append(WidthComparison(int(level), mean(model_rows, "width"), mean(persistence_rows, "width"),
                                           mean(model_rows, "coverage"), mean(persistence_rows, "coverage")))
    return comparisons


def miscalibrated(scores: dict[str, object], tolerance: float = COVERAGE_TOLERANCE) -> list[tuple[int, float]]:
    """(level, coverage %) of each level whose test coverage, averaged over steps, is further than ``tolerance``."""
    return [(int(level), value) for level, value in scores["coverage"].items() if abs(value - int(level)) > tolerance]
