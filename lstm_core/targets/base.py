"""What every target answers for: its values in the model's own units and in readable ones, and the words around it.

A sample *ends* at row ``e`` (its last input row) and looks ``h`` rows ahead. Rows are those of ``Prepared``:
``close[e]`` is the price at row ``e`` and ``logret[e] = log(close[e] / close[e - 1])``. A target's *own units* are
what the network is trained on (before scaling): log volatility, a log return, a price. *Readable* units are what a
person reads (volatility in percent a day, a price); the map from own to readable units is increasing, so an
interval maps end to end.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from enum import StrEnum
from typing import Protocol

import numpy as np

from lstm_core.features import VOL_FLOOR, Feature


class Target(StrEnum):
    """What the model predicts ``horizon`` days ahead; each member has its ``TargetKind`` in the registry."""

    LOGVOL = "logvol"  # log of the realized volatility of the next `horizon` daily returns
    LOGRET = "logret"  # log(price[t+h] / price[t]), rebuilt into a price
    PRICE = "price"  # the price level itself


class Series(Protocol):
    """The rows a target reads (``Prepared`` is one): closing prices and their daily log returns, ``[N]`` each."""

    close: np.ndarray
    logret: np.ndarray | None


def realized_vol(logret: np.ndarray, first: np.ndarray, days: int) -> np.ndarray:
    """Daily realized volatility of rows ``first .. first + days - 1`` for each start: ``sqrt(mean r^2)``, floored."""
    squares = np.concatenate([[0.0], np.cumsum(logret**2)])  # any run of rows sums in O(1)
    return np.sqrt((squares[first + days] - squares[first]) / days + VOL_FLOOR**2)


class TargetKind(ABC):
    """One target: its defaults, its values, its units and the words the pages use for it.

    A new target is a subclass in a file of its own, a member of ``Target`` and its sentences in the i18n table.
    """

    id: Target
    # the settings a run of this target starts from (the form and the command line apply them when it is chosen)
    defaults: Mapping[str, object]
    reads_returns = True  # its values are logs of price ratios: the prices must be positive
    prediction_is_price = True  # a prediction is a price (drawn on the price axis), or else said in words
    shows_change_chart = True  # a chart of predicted against actual change tells whether it sees moves
    can_copy_last = True  # errors that match persistence's mean it learned to copy the last value
    units_key = "units_price"  # the axis title of its readable values
    forecast_axis_key = "forecast_y_price"
    digits = 2  # decimals its readable values are shown with
    scores_variance = False  # its readable values are volatilities: QLIKE scores them beside RMSE and MAE
    direction_baseline: str | None = None  # the baseline whose directional accuracy is the base rate (else the
    # majority direction's share)

    def min_window(self, horizon: int) -> int:
        """The shortest input window this target allows at ``horizon``."""
        return 2

    def first_row(self, horizon: int) -> int:
        """The first row at which ``value_at`` is defined."""
        return 0

    def first_target_row(self, ends: np.ndarray, horizon: int) -> np.ndarray:
        """The first row the targets of samples ending at ``ends`` read (a price: the one on the horizon day)."""
        return ends + horizon

    @abstractmethod
    def value_at(self, series: Series, rows: np.ndarray, ends: np.ndarray, horizon: int) -> np.ndarray:
        """The target as it stands at row ``rows``, seen from samples ending at ``ends``, in its own units: ``[S]``.

        At ``rows = ends + horizon`` this is what a sample predicts; at ``rows = ends`` it is what persistence says.
        """

    @abstractmethod
    def readable(self, raw: np.ndarray, series: Series, ends: np.ndarray) -> np.ndarray:
        """Values in its own units, of samples ending at ``ends``, in the units a person reads: ``[S]``."""

    def from_price(self, price: np.ndarray, series: Series, ends: np.ndarray) -> np.ndarray:
        """A price forecast for samples ending at ``ends`` in this target's own units (targets of prices only)."""
        raise NotImplementedError(f"{self.id} is not a price")

    def raw_target(self, series: Series, ends: np.ndarray, horizon: int, delay: int = 0) -> np.ndarray:
        """What a sample is trained on, ``delay`` days past the horizon (a multi-step forecast's step ``delay + 1``)."""
        return self.value_at(series, ends + horizon + delay, ends, horizon)

    def persistence(self, series: Series, ends: np.ndarray, horizon: int) -> np.ndarray:
        """What was known at each sample's end, in own units: the last price, a zero return, the last h days' volatility."""
        return self.value_at(series, ends, ends, horizon)

    def relative(self, raw: np.ndarray, series: Series, ends: np.ndarray, window: int) -> np.ndarray:
        """Own-unit values ``[S]`` of samples ending at ``ends`` relative to each window's own level (``WINDOW``
        normalisation): what the network learns instead. The identity for a target that is relative already."""
        return raw

    def absolute(self, relative: np.ndarray, series: Series, ends: np.ndarray, window: int) -> np.ndarray:
        """The inverse of ``relative``: the network's output mapped back to own units, ``[S]``."""
        return relative

    def persistence_label(self, horizon: int) -> tuple[str, dict[str, object]]:
        """The persistence baseline's name as (translation key, params)."""
        return "m_persistence", {}


    def warnings(self, features: tuple[Feature, ...]) -> list[tuple[str, dict[str, object]]]:
        """Settings that run but will probably mislead, as (translation key, params) pairs."""
        return []
