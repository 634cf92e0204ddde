"""Tests of the Data page's figure builders: what each trace holds, exactly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import make_prices

from lstm_core.plots.data import MAX_CANDLES, price_figure, weekly_bars

LABELS = {"price": "Price", "volume": "Volume", "value": "Value", "weekly": "weekly candles"}
LABELS_ZH = {"price": "价格", "volume": "成交量", "value": "数值", "weekly": "周K线"}


@pytest.mark.parametrize("labels", [LABELS, LABELS_ZH], ids=["en", "zh"])
def test_candlestick_with_volume_holds_the_prices(labels: dict[str, str]) -> None:
    frame = make_prices(120)
    fig = price_figure(frame, "MSFT (sample)", labels)
    candles, volume = fig.data
    assert (candles.type, volume.type) == ("candlestick", "bar")
    for column in ("open", "high", "low", "close"):
        np.testing.assert_array_equal(getattr(candles, column), frame[column.title()].to_numpy())
    np.testing.assert_array_equal(volume.y, frame["Volume"].to_numpy())
    assert pd.DatetimeIndex(candles.x).equals(frame.index)
    assert fig.layout.title.text == "MSFT (sample)"
    assert (fig.layout.yaxis.title.text, fig.layout.yaxis2.title.text) == (labels["price"], labels["volume"])
    assert fig.layout.xaxis.rangeslider.visible is False


def test_candlestick_without_volume_has_one_panel() -> None:
    fig = price_figure(make_prices(60).drop(columns="Volume"), "no volume", LABELS)
    assert [trace.type for trace in fig.data] == ["candlestick"]
    assert "yaxis2" not in fig.to_plotly_json()["layout"]


def test_single_series_is_a_line() -> None:
    frame = make_prices(90)[["Close"]]
    fig = price_figure(frame, "synthetic sine (seed 0)", LABELS)
    (line,) = fig.data
    assert (line.type, line.mode) == ("scatter", "lines")
    np.testing.assert_array_equal(line.y, np.arange(100.0, 190.0))
    assert fig.layout.yaxis.title.text == "Value"


@pytest.mark.parametrize(("n_days", "candles"), [(MAX_CANDLES, MAX_CANDLES), (MAX_CANDLES + 1, 501)])
def test_long_daily_series_is_drawn_as_weekly_candles(n_days: int, candles: int) -> None:
    fig = price_figure(make_prices(n_days), "long", LABELS)
    assert len(fig.data[0].x) == candles
    weekly = n_days > MAX_CANDLES
    assert fig.layout.title.text == ("long · weekly candles" if weekly else "long")


def test_weekly_bars_aggregate_each_week() -> None:
    frame = make_prices(10)  # Wed 1 Jan 2020 .. Tue 14 Jan: weeks ending Fri 3, 10 and 17 Jan
    weeks = weekly_bars(frame)
    assert list(weeks.index.strftime("%Y-%m-%d")) == ["2020-01-03", "2020-01-10", "2020-01-17"]
    np.testing.assert_array_equal(weeks["Open"], [99.5, 102.5, 107.5])
    np.testing.assert_array_equal(weeks["High"], [103.0, 108.0, 110.0])
    np.testing.assert_array_equal(weeks["Low"], [99.0, 102.0, 107.0])
    np.testing.assert_array_equal(weeks["Close"], [102.0, 107.0, 109.0])
    np.testing.assert_array_equal(weeks["Volume"], [frame["Volume"].iloc[s].sum() for s in (slice(0, 3), slice(3, 8), slice(8, 10))])
