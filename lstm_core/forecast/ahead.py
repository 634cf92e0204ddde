"""Forecasts past the data's last day, with their intervals, and the history they continue."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from torch import nn

from lstm_core.baselines import BASELINES, DEFAULT_OPTIONS, PERSISTENCE
from lstm_core.errors import LabError
from lstm_core.evaluate import MODEL
from lstm_core.forecast.calendar import TradingCalendar
from lstm_core.forecast.conformal import Calibration
from lstm_core.model import predict
from lstm_core.pipeline import Prepared


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
    """The dates ``first .. first + count - 1`` rows after the last of ``dates``: for daily data the series' own
    trading days (its weekdays, less the holidays it skips: ``TradingCalendar``)."""
    spacing = pd.Series(dates[-min(len(dates), 60):]).diff().median()
    last = dates[-1]
    if pd.isna(spacing) or spacing <= pd.Timedelta(days=4):  # daily data
        ahead = TradingCalendar.learn(dates).sessions_after(last, first + count - 1)
    else:
        ahead = pd.DatetimeIndex([last + spacing * k for k in range(1, first + count)])
    return ahead[first - 1:]


def forecast_ahead(prepared: Prepared, model: nn.Module, calibration: Calibration, steps: int | None = None) -> Forecast:
    """The model's (and persistence's) forecasts from the window that ends on the data's last day, with intervals."""
    steps = prepared.steps if steps is None else steps
    if not 1 <= steps <= prepared.steps:
        raise LabError("err_forecast_steps", steps=steps, trained=prepared.steps)
    end = np.array([len(prepared.close) - 1])
    x = prepared.inputs_at(end)  # [1, T, F]: the window that ends on the last day
    raw = {MODEL: prepared.unscale(predict(model, x).numpy(), end)[:, :steps],  # [1, steps]
           PERSISTENCE: BASELINES[PERSISTENCE].fit(prepared, DEFAULT_OPTIONS)(end)[:, :steps]}

    def readable(values: np.ndarray) -> np.ndarray:
        return prepared.readable_at(values, end)[0]

    def intervals(name: str) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        return {level: (readable(raw[name] - calibration.halfwidth(name, level)[:steps]),
                        readable(raw[name] + calibration.halfwidth(name, level)[:steps])) for level in calibration.levels}

    return Forecast(
        dates=future_dates(prepared.dates, prepared.config.horizon, steps),
        median=readable(raw[MODEL]),
        intervals=intervals(MODEL),
        persistence=readable(raw[PERSISTENCE]),
        persistence_intervals=intervals(PERSISTENCE),
    )


def history(prepared: Prepared, days: int) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """The last ``days`` rows in the forecast's readable units: prices, or the trailing ``horizon``-day volatility."""
    kind, h = prepared.target_kind, prepared.config.horizon
    rows = np.arange(max(len(prepared.close) - days, kind.first_row(h)), len(prepared.close))
    return prepared.dates[rows], kind.readable(kind.value_at(prepared, rows, rows, h), prepared, rows)
