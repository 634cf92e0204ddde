"""Persistence: what was known at the sample's end carries on (the last price, a zero return, the last h days' volatility)."""

from __future__ import annotations

from lstm_core.baselines.base import Baseline, FitOptions, Predictor, repeat_steps
from lstm_core.targets import PRICE_TARGETS, Target, target_of


def fit(data, options: FitOptions) -> Predictor:
    kind, h = target_of(data.config.target), data.config.horizon
    return lambda ends: repeat_steps(kind.persistence(data, ends, h), data.steps)


class _Persistence(Baseline):
    def label(self, target: Target, horizon: int) -> tuple[str, dict[str, object]]:
        return target_of(target).persistence_label(horizon)


BASELINE = _Persistence("persistence", PRICE_TARGETS, fit)  # a task knows nothing at a sequence's end
