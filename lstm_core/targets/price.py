"""The price level ``horizon`` days ahead itself (the network must extrapolate when prices leave the training range)."""

from __future__ import annotations

import numpy as np

from lstm_core.features import PRICE_LEVELS, Feature, Normalization
from lstm_core.targets.base import Series, Target, TargetKind


class Price(TargetKind):
    id = Target.PRICE
    # measured (seeds 0-2): a daily price, 30 epochs, RMSE against persistence's: MSFT 7.71 vs 0.639 with one scaler
    # for every window (the test period's prices lie far above the training period's), 0.637 relative to each window's
    # last price; NVDA 0.299 vs 0.234; monthly MSFT, 12 months ahead, window 120: skill -1.60 against 0.43 to 0.48
    defaults = {"features": (Feature.CLOSE,), "horizon": 1, "normalize": Normalization.WINDOW}
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
