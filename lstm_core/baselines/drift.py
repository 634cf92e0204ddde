"""Drift: the window's average daily change carried on to each step's day."""

from __future__ import annotations

import numpy as np

from lstm_core.baselines.base import Baseline, FitOptions, Predictor, price_steps
from lstm_core.targets import Target


def fit(data, options: FitOptions) -> Predictor:
    window = data.config.window

    def predict(ends: np.ndarray) -> np.ndarray:
        last, first = data.close[ends], data.close[ends - (window - 1)]
        slope = (last - first) / max(window - 1, 1)
        return price_steps(data, ends, lambda ahead: last + ahead * slope)

    return predict


BASELINE = Baseline("drift", frozenset({Target.LOGRET, Target.PRICE}), fit)
