"""The training mean: the average target of the training samples, as a person reads it, whatever the window says.

For volatility that is the mean realized volatility (then logged); for a memory task, the mean answer: the best a
model can do that has learned nothing from its inputs.
"""

from __future__ import annotations

import numpy as np

from lstm_core.baselines.base import Baseline, FitOptions, Predictor, repeat_steps
from lstm_core.targets import Target


def fit(data, options: FitOptions) -> Predictor:
    kind, ends = data.target_kind, data.split_ends["train"]
    raw = kind.raw_target(data, ends, data.config.horizon)  # [S] own units, first step
    mean = kind.from_readable(np.mean(kind.readable(raw, data, ends)))  # averaged in readable terms
    return lambda ends: repeat_steps(np.full(len(ends), float(mean)), data.steps)


BASELINE = Baseline("train_mean", frozenset({Target.LOGVOL, Target.ANSWER}), fit)
