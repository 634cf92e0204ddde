"""The log return over the next ``horizon`` days, ``log(price[t+h] / price[t])``, rebuilt into a price."""

from __future__ import annotations

import numpy as np

from lstm_core.features import Feature, Normalization
from lstm_core.targets.base import Series, Target, TargetKind


class LogReturn(TargetKind):
    id = Target.LOGRET
    defaults = {"features": (Feature.LOGRET,), "horizon": 1, "normalize": Normalization.NONE}  # relative already

    def value_at(self, series: Series, rows: np.ndarray, ends: np.ndarray, horizon: int) -> np.ndarray:
        return np.log(series.close[rows] / series.close[ends])

    def readable(self, raw: np.ndarray, series: Series, ends: np.ndarray) -> np.ndarray:
        return series.close[ends] * np.exp(raw)

    def from_price(self, price: np.ndarray, series: Series, ends: np.ndarray) -> np.ndarray:
        return np.log(np.maximum(price, 1e-12) / series.close[ends])  # a price forecast below zero is a total loss
