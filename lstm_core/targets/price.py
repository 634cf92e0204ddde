"""The price level ``horizon`` days ahead itself (the network must extrapolate when prices leave the training range)."""

from __future__ import annotations

import numpy as np

from lstm_core.features import PRICE_LEVELS, Feature, Normalization
from lstm_core.targets.base import Series, Target, TargetKind


class Price(TargetKind):
    id = Target.PRICE
    defaults = {"features": (Feature.CLOSE,), "horizon": 1, "normalize": Normalization.NONE}
    reads_returns = False
    shows_change_chart = False

    def value_at(self, series: Series, rows: np.ndarray, ends: np.ndarray, horizon: int) -> np.ndarray:
        return series.close[rows]

    def readable(self, raw: np.ndarray, series: Series, ends: np.ndarray) -> np.ndarray:
        return raw

    def from_price(self, price: np.ndarray, series: Series, ends: np.ndarray) -> np.ndarray:
        return price

    def relative(self, raw: np.ndarray, series: Series, ends: np.ndarray, window: int) -> np.ndarray:
        return raw / series.close[ends]  # the price as a multiple of the window's last one

    def absolute(self, relative: np.ndarray, series: Series, ends: np.ndarray, window: int) -> np.ndarray:
        return relative * series.close[ends]

    def warnings(self, features: tuple[Feature, ...]) -> list[tuple[str, dict[str, object]]]:
        return [] if PRICE_LEVELS & set(features) else [("warn_price_without_level", {})]
