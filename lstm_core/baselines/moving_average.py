"""Moving average: the mean of the last five prices (fewer when the window is shorter)."""

from __future__ import annotations

import numpy as np

from lstm_core.baselines.base import Baseline, FitOptions, Predictor, price_steps
from lstm_core.targets import Target

MA_DAYS = 5


def fit(data, options: FitOptions) -> Predictor:
    days = min(MA_DAYS, data.config.window)

    def predict(ends: np.ndarray) -> np.ndarray:
        average = np.mean(np.stack([data.close[ends - k] for k in range(days)]), axis=0)
        return price_steps(data, ends, lambda ahead: average)

    return predict


BASELINE = Baseline("moving_average", frozenset({Target.LOGRET, Target.PRICE}), fit)
