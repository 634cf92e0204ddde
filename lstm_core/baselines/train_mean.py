"""The training mean: the average volatility of the training samples' targets, whatever the window says."""

from __future__ import annotations

import numpy as np

from lstm_core.baselines.base import Baseline, FitOptions, Predictor, repeat_steps
from lstm_core.targets import Target, realized_vol


def fit(data, options: FitOptions) -> Predictor:
    h = data.config.horizon
    mean = float(np.mean(realized_vol(data.logret, data.split_ends["train"] + 1, h)))  # in readable terms, then logged
    return lambda ends: repeat_steps(np.full(len(ends), np.log(mean)), data.steps)


BASELINE = Baseline("train_mean", frozenset({Target.LOGVOL}), fit)
