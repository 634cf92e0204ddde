"""Figures of the Data page: candlestick with volume, a line for a single series, or a memory task's first sequences."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from lstm_core.plots import plot_text

MAX_CANDLES = 2500  # beyond this, candles are resampled to weeks so the browser stays smooth


def weekly_bars(frame: pd.DataFrame) -> pd.DataFrame:
    """Daily OHLCV resampled to weekly bars (first open, max high, min low, last close, summed volume)."""
    rules = {"Open": "first", "High": "max", "Low": "min", "Close": "last", "Volume": "sum"}
    return frame.resample("W-FRI").agg({k: v for k, v in rules.items() if k in frame.columns}).dropna(subset=["Close"])


def price_figure(frame: pd.DataFrame, title: str, labels: dict[str, str]) -> go.Figure:
    """Candlestick and volume bars when the frame has OHLC, otherwise a line of Close.

    ``labels`` holds the translated axis names ``price``, ``volume``, ``value``, and ``weekly``, the
    title's note when a long daily series is drawn as weekly candles; ``open``, ``high``, ``low`` and
    ``close``, when given, name the candle's prices in its hover box (plotly's own are English).
    """
    title = plot_text(title)  # a file's or a ticker's name
    has_ohlc = all(c in frame.columns for c in ("Open", "High", "Low", "Close"))
    if not has_ohlc:
        fig = go.Figure(go.Scatter(x=frame.index, y=frame["Close"], mode="lines", name=labels["value"]))
        fig.update_layout(title=title, yaxis_title=labels["value"], height=460, margin=dict(t=50, b=30))
        return fig
    if len(frame) > MAX_CANDLES:
        frame = weekly_bars(frame)
        title = f"{title} · {labels['weekly']}"
    has_volume = "Volume" in frame.columns
    fig = make_subplots(
        rows=2 if has_volume else 1, cols=1, shared_xaxes=True, vertical_spacing=0.03,
        row_heights=[0.75, 0.25] if has_volume else [1.0],
    )
    fig.add_trace(
        go.Candlestick(
            x=frame.index, open=frame["Open"], high=frame["High"], low=frame["Low"], close=frame["Close"],
            name=labels["price"], **_candle_hover(frame, labels),
        ),
        row=1, col=1,
    )
    if has_volume:
        fig.add_trace(go.Bar(x=frame.index, y=frame["Volume"], name=labels["volume"], marker_color="#8a9bb0"), row=2, col=1)
        fig.update_yaxes(title_text=labels["volume"], row=2, col=1)
    fig.update_yaxes(title_text=labels["price"], row=1, col=1)
    fig.update_layout(
        title=title, height=480, showlegend=False, xaxis_rangeslider_visible=False, margin=dict(t=50, b=30)
    )
    return fig


def _candle_hover(frame: pd.DataFrame, labels: dict[str, str]) -> dict[str, object]:
    """Hover text naming the four prices in the page's language; nothing (plotly's English) without the names."""
    names = [labels.get(key) for key in ("open", "high", "low", "close")]
    if not all(names):
        return {}
    prices = frame[["Open", "High", "Low", "Close"]].to_numpy()  # [rows, 4]
    text = ["<br>".join(f"{name}: {value:.6g}" for name, value in zip(names, row, strict=True)) for row in prices]
    return {"hovertext": text, "hoverinfo": "x+text"}


TASK_COLOURS = ("#5b6b7f", "#e63946")  # the value, the marker or reset (as the Gates page draws them)
ANSWER_COLOUR = "#2a9d8f"


def task_figure(frame: pd.DataFrame, length: int, shown: int, labels: dict[str, str]) -> go.Figure:
    """The first ``shown`` sequences of a memory task, one panel each: its channels (the value as a line, the marker
    or reset as bars) and the answer as it stands after each step, whose last value is what the model must say.

    ``labels`` holds the translated ``step``, ``answer``, ``sequence`` (formatted with ``n``) and each channel's name
    by its column (``Value``, ``Marker`` or ``Reset``).
    """
    channels = [c for c in frame.columns if c not in ("Step", "Answer")]
    shown = max(1, min(shown, len(frame) // length))
    fig = make_subplots(rows=shown, cols=1, shared_xaxes=True, vertical_spacing=0.06,
                        subplot_titles=[labels["sequence"].format(n=k + 1) for k in range(shown)])
    steps = list(range(1, length + 1))
    for k in range(shown):
        rows = frame.iloc[k * length : (k + 1) * length]
        for channel, colour in zip(channels, TASK_COLOURS, strict=False):
            common = dict(x=steps, y=rows[channel].to_numpy(), name=labels[channel], legendgroup=channel,
                          showlegend=k == 0)
            if channel == channels[0]:
                fig.add_trace(go.Scatter(mode="lines", line=dict(color=colour, width=1.2), **common), row=k + 1, col=1)
            else:
                fig.add_trace(go.Bar(marker=dict(color=colour), width=0.8, **common), row=k + 1, col=1)
        fig.add_trace(go.Scatter(x=steps, y=rows["Answer"].to_numpy(), mode="lines", name=labels["answer"],
                                 line=dict(color=ANSWER_COLOUR, width=2, shape="hv"), legendgroup="answer",
                                 showlegend=k == 0), row=k + 1, col=1)
    fig.update_layout(height=130 + 170 * shown, margin=dict(t=60, b=40), bargap=0,
                      legend=dict(orientation="h", x=1.0, xanchor="right", y=1.02, yanchor="bottom"))
    fig.update_xaxes(title_text=labels["step"], row=shown, col=1)
    return fig
