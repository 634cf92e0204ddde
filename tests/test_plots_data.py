"""Tests of the Data page's figure builders (what each trace holds, exactly) and of localize_dates."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from conftest import make_prices
from plotly.subplots import make_subplots

from lstm_core.plots.data import MAX_CANDLES, price_figure, weekly_bars
from lstm_core.plots.locale import localize_dates

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


def test_candle_hover_names_the_prices_in_the_given_language() -> None:
    frame = make_prices(3)
    fig = price_figure(frame, "t", LABELS_ZH | {"open": "开盘价", "high": "最高价", "low": "最低价", "close": "收盘价"})
    assert fig.data[0].hoverinfo == "x+text"
    assert fig.data[0].hovertext[1] == "开盘价: 100.5<br>最高价: 102<br>最低价: 100<br>收盘价: 101"
    assert price_figure(frame, "t", LABELS).data[0].hovertext is None  # without the names: plotly's own hover


# ---------------------------------------------------------------- localize_dates


def _two_panel(lang: str):
    return localize_dates(price_figure(make_prices(120), "t", LABELS), lang)


def test_chinese_date_axes_get_numeric_formats_on_every_panel() -> None:
    fig = _two_panel("zh")
    for axis in (fig.layout.xaxis, fig.layout.xaxis2):  # the candles' axis and the volume bars' axis below it
        assert [(list(s.dtickrange), s.value) for s in axis.tickformatstops] == [
            ([None, 86_400_000], "%m月%d日 %H:%M"), ([86_400_000, "M1"], "%m月%d日"), (["M1", "M12"], "%Y年%m月"), (["M12", None], "%Y年"),
        ]  # fmt: skip
        assert axis.hoverformat == "%Y-%m-%d"
    assert not any(re.search(r"%[bB]", s.value) for s in fig.layout.xaxis.tickformatstops)  # no month names anywhere


def test_english_figures_are_left_exactly_as_built() -> None:
    assert _two_panel("en").to_json() == price_figure(make_prices(120), "t", LABELS).to_json()
    assert _two_panel("zh").to_json() != _two_panel("en").to_json()


@pytest.mark.parametrize(
    ("x", "is_date"),
    [
        (pd.date_range("2020-01-01", periods=3), True),
        (["2020-01-01", "2020-01-02"], True),
        ([dt.date(2020, 1, 1), dt.date(2020, 1, 2)], True),
        ([1, 2, 3], False),
        (["a", "b"], False),
    ],
    ids=["datetime64", "iso_strings", "date_objects", "numbers", "categories"],
)
def test_only_date_axes_are_touched(x, is_date: bool) -> None:
    fig = make_subplots(rows=1, cols=2)
    fig.add_trace(go.Scatter(x=[0, 1, 2], y=[1, 2, 3]), row=1, col=1)
    fig.add_trace(go.Scatter(x=x, y=list(range(len(x)))), row=1, col=2)
    localize_dates(fig, "zh")
    assert fig.layout.xaxis.tickformatstops == () and fig.layout.xaxis.hoverformat is None  # numbers stay numbers
    assert (fig.layout.xaxis2.hoverformat == "%Y-%m-%d") is is_date
    assert len(fig.layout.xaxis2.tickformatstops) == (4 if is_date else 0)


def test_an_axis_typed_date_counts_without_traces() -> None:
    fig = go.Figure().update_xaxes(type="date")
    assert localize_dates(fig, "zh").layout.xaxis.hoverformat == "%Y-%m-%d"
