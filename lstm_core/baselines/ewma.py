"""EWMA volatility: RiskMetrics' exponentially weighted mean of squared returns (lambda 0.94), causal."""

from __future__ import annotations

import numpy as np
import pandas as pd

from lstm_core.baselines.base import Baseline, FitOptions, Predictor, repeat_steps
from lstm_core.features import VOL_FLOOR
from lstm_core.targets import Target

EWMA_LAMBDA = 0.94  # RiskMetrics' daily decay


def fit(data, options: FitOptions) -> Predictor:
    # each row's variance reads rows up to itself only, so a sample's forecast reads nothing past its end
    variance = pd.Series(data.logret**2).ewm(alpha=1 - EWMA_LAMBDA, adjust=False).mean().to_numpy()
    return lambda ends: repeat_steps(np.log(np.sqrt(variance[ends] + VOL_FLOOR**2)), data.steps)


BASELINE = Baseline("ewma", frozenset({Target.LOGVOL}), fit)
