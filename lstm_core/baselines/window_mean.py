"""The window's mean absolute return times sqrt(pi/2): the volatility the model's own window shows, with no parameters.

For Gaussian returns E|r| = sigma * sqrt(2 / pi), so the mean of |r| over the window, scaled, estimates sigma; it is
robust to one wild day, and it reads exactly what the network reads.
"""

from __future__ import annotations

from lstm_core.baselines.base import Baseline, FitOptions, Predictor, repeat_steps
from lstm_core.targets import Target
from lstm_core.targets.volatility import window_log_level


def fit(data, options: FitOptions) -> Predictor:
    return lambda ends: repeat_steps(window_log_level(data.logret, ends, data.config.window), data.steps)


BASELINE = Baseline("window_mean", frozenset({Target.LOGVOL}), fit)
