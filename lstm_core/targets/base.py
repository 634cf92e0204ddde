"""What every target answers for: its values in the model's own units and in readable ones, and the words around it.

A sample *ends* at row ``e`` (its last input row) and looks ``h`` rows ahead. Rows are those of ``Prepared``:
``close[e]`` is the price at row ``e`` and ``logret[e] = log(close[e] / close[e - 1])``; a memory task's rows are its
steps, one sequence after another, and its samples end on each sequence's last step (``sample_ends``). A target's *own units* are
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
import pandas as pd

from lstm_core.errors import LabError
from lstm_core.features import VOL_FLOOR, Feature


class Target(StrEnum):
    """What the model predicts ``horizon`` days ahead; each member has its ``TargetKind`` in the registry."""

    LOGVOL = "logvol"  # log of the realized volatility of the next `horizon` daily returns
    LOGRET = "logret"  # log(price[t+h] / price[t]), rebuilt into a price
    PRICE = "price"  # the price level itself
    ANSWER = "answer"  # a memory task's answer at the last step of each sequence (lstm_core.data.tasks)


class Series(Protocol):
    """The rows a target reads (``Prepared`` is one), ``[N]`` each: closing prices and their daily log returns, or a
    memory task's answer and each row's step inside its sequence (None where the data has no such column)."""

    close: np.ndarray | None
    logret: np.ndarray | None
    answer: np.ndarray | None
    position: np.ndarray | None


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
    column = "Close"  # the frame column its values come from: data without it cannot give this target
    lead_rows = 1  # frame rows before a sample's first row: the first price only gives the first return
    # the baseline the skill, the verdict and the test charts set the model beside (a name in lstm_core.baselines)
    reference = "persistence"
    forecasts_ahead = True  # the Forecast page and the forecast/backtest commands apply
    states_error_share = False  # the verdict also says the model's squared error as a share of the reference's
    window_note_key = "chart_window_note"  # the test chart's note on what it opens on

    def min_window(self, horizon: int) -> int:
        """The shortest input window this target allows at ``horizon``."""
        return 2

    def check(self, window: int, horizon: int, steps: int) -> None:
        """LabError when a config's window, horizon and steps cannot make samples of this target."""
        if window < self.min_window(horizon):
            raise LabError("err_cfg_window_horizon", window=window, horizon=horizon)

    def first_row(self, horizon: int) -> int:
        """The first row at which ``value_at`` is defined."""
        return 0

    def first_target_row(self, ends: np.ndarray, horizon: int) -> np.ndarray:
        """The first row the targets of samples ending at ``ends`` read (a price: the one it predicts)."""
        return self.target_rows(ends, horizon)

    def sample_ends(self, series: Series, n_rows: int, window: int, horizon: int, steps: int) -> np.ndarray:
        """Every sample's last input row, ascending: ``[S]``. Prices: every row with a whole window before it and
        every step's target inside the data."""
        return np.arange(window - 1, n_rows - horizon - steps + 1)

    def split_block(self, series: Series, window: int) -> int:
        """Rows that belong together in the chronological split (a split boundary falls between blocks): one row."""
        return 1

    def sample_count(self, n_rows: int, window: int, horizon: int) -> int:
        """About how many samples ``n_rows`` rows give, before any data is read (the memory estimate's)."""
        return max(n_rows - window - horizon, 1)

    def target_rows(self, ends: np.ndarray, horizon: int) -> np.ndarray:
        """The row the first step of samples ending at ``ends`` predicts: ``[S]``."""
        return ends + horizon

    def sample_positions(self, dates: pd.Index, series: Series, ends: np.ndarray, horizon: int) -> pd.Index:
        """Where samples ending at ``ends`` sit on a chart's x axis: the date each predicts."""
        return dates[self.target_rows(ends, horizon)]

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
        return self.value_at(series, self.target_rows(ends, horizon) + delay, ends, horizon)

    def from_readable(self, values: np.ndarray) -> np.ndarray:
        """Readable values back in own units, for targets whose map does not depend on the sample (not prices)."""
        raise NotImplementedError(f"{self.id}'s readable values depend on each sample")

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
