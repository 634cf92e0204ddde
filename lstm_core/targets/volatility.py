"""Next-days volatility: the log of the realized volatility of the next ``horizon`` daily returns."""

from __future__ import annotations

import numpy as np

from lstm_core.features import Feature
from lstm_core.targets.base import Series, Target, TargetKind, realized_vol


class Volatility(TargetKind):
    id = Target.LOGVOL
    defaults = {"features": (Feature.LOGABSRET,), "horizon": 20}
    prediction_is_price = False
    can_copy_last = False
    units_key = "units_vol"
    forecast_axis_key = "forecast_y_vol"
    digits = 3

    def min_window(self, horizon: int) -> int:
        return max(2, horizon)  # persistence reads the last `horizon` returns from inside the window

    def first_row(self, horizon: int) -> int:
        return horizon - 1

    def value_at(self, series: Series, rows: np.ndarray, ends: np.ndarray, horizon: int) -> np.ndarray:
        return np.log(realized_vol(series.logret, rows - horizon + 1, horizon))  # the h returns ending at each row

    def readable(self, raw: np.ndarray, series: Series, ends: np.ndarray) -> np.ndarray:
        return 100 * np.exp(raw)  # percent a day

    def from_readable(self, values: np.ndarray) -> np.ndarray:
        return np.log(np.asarray(values) / 100)

    def persistence_label(self, horizon: int) -> tuple[str, dict[str, object]]:
        return "m_persistence_vol", {"h": horizon}

    def persistence_description(self, horizon: int) -> tuple[str, dict[str, object]]:
        return "persist_vol", {"h": horizon}
