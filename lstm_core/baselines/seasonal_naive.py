"""Seasonal naive: each step repeats the value a whole number of periods earlier (only when a period is given)."""

from __future__ import annotations

import math

import numpy as np

from lstm_core.baselines.base import Baseline, FitOptions, Predictor
from lstm_core.errors import LabError
from lstm_core.targets import PRICE_TARGETS, target_of


def fit(data, options: FitOptions) -> Predictor:
    """Step k's target row ``e + d`` (d = horizon + k - 1) is forecast by row ``e + d - period * ceil(d / period)``,
    the latest row of the same phase known at ``e``, in the target's own units."""
    period = options.period
    if period is None or period < 1:
        raise LabError("err_forecast_period", period=period)
    kind, h = target_of(data.config.target), data.config.horizon

    def predict(ends: np.ndarray) -> np.ndarray:
        columns = []
        for k in range(data.steps):
            ahead = h + k
            rows = np.maximum(ends + ahead - period * math.ceil(ahead / period), kind.first_row(h))
            columns.append(kind.value_at(data, rows, ends, h))
        return np.stack(columns, axis=1)

    return predict


BASELINE = Baseline("seasonal_naive", PRICE_TARGETS, fit, needs_period=True)
