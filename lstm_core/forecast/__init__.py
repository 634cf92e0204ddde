"""Multi-step forecasts with split-conformal intervals, calibrated on the validation period and scored walk-forward on
the test period, for the model and every baseline alike.

``conformal`` (levels, half-widths, interval scores), ``backtest`` (typed scores per step, per origin over time),
``refit`` (fine-tuning as the test period goes on, the bounds of the forecast's numbers), ``ahead`` (past the data's
last day) and ``calendar`` (the trading days those forecasts fall on, learned from the data).
"""

from __future__ import annotations

from torch import nn

from lstm_core.evaluate import Outputs
from lstm_core.forecast.ahead import Forecast, forecast_ahead, future_dates, history
from lstm_core.forecast.backtest import (
    Backtest,
    ForecasterScore,
    IntervalKind,
    StepScore,
    WalkForward,
    WidthComparison,
    backtest,
    compare_widths,
    miscalibrated,
    trailing_mean,
    walk_forward,
)
from lstm_core.forecast.calendar import TradingCalendar
from lstm_core.forecast.conformal import (
    DEFAULT_LEVELS,
    Calibration,
    IntervalScore,
    adaptive_halfwidths,
    adaptive_next_halfwidths,
    calibrate,
    calibrate_adaptive,
    conformal_halfwidth,
    coverage_interval,
    hits_interval,
    interval_scores,
    parse_levels,
)
from lstm_core.forecast.refit import (
    FORECAST_BOUNDS,
    MAX_REFIT_S,
    RefitCost,
    check_refit_cost,
    probe_refit_cost,
    refit_macs,
    refit_outputs,
)
from lstm_core.pipeline import Prepared


def report(prepared: Prepared, model: nn.Module, outputs: Outputs,
           levels: tuple[int, ...]) -> tuple[dict[IntervalKind, Forecast], Backtest]:
    """The forecast past the last day with each kind of interval, and the test-period backtest, both at ``levels``,
    from one run's outputs."""
    ahead = {IntervalKind.SPLIT: forecast_ahead(prepared, model, calibrate(prepared, outputs, levels)),
             IntervalKind.ADAPTIVE: forecast_ahead(prepared, model, calibrate_adaptive(prepared, outputs, levels))}
    return ahead, backtest(prepared, outputs, levels)


__all__ = [
    "DEFAULT_LEVELS", "FORECAST_BOUNDS", "MAX_REFIT_S", "RefitCost", "Backtest", "Calibration", "Forecast", "ForecasterScore",
    "IntervalKind", "adaptive_next_halfwidths", "calibrate_adaptive", "hits_interval",
    "IntervalScore", "StepScore", "TradingCalendar", "WalkForward", "WidthComparison", "adaptive_halfwidths", "backtest", "calibrate",
    "check_refit_cost", "compare_widths", "conformal_halfwidth", "coverage_interval", "forecast_ahead", "future_dates",
    "history", "interval_scores", "miscalibrated", "parse_levels", "probe_refit_cost", "refit_macs", "refit_outputs",
    "report", "trailing_mean", "walk_forward",
]
