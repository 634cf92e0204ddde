"""Figures of the Forecast page: history with the forecast and its bands, and the coverage check; pure builders."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from lstm_core.forecast import Forecast

BAND_COLORS = {80: "rgba(31, 119, 180, 0.35)", 95: "rgba(31, 119, 180, 0.18)"}
OTHER_BAND = "rgba(31, 119, 180, 0.25)"
MODEL_COLOR, PERSISTENCE_COLOR, HISTORY_COLOR = "#1f77b4", "#ff7f0e", "#444444"


def forecast_figure(
    dates: pd.DatetimeIndex, values: np.ndarray, ahead: Forecast, labels: dict[str, str], y_title: str,
) -> go.Figure:
    """History, then the median forecast with one shaded band per level (widest underneath) and persistence.

    ``labels``: ``history``, ``median``, ``persistence`` and ``band`` (formatted with ``level``).
    """
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=dates, y=values, mode="lines", name=labels["history"], line=dict(color=HISTORY_COLOR)))
    # each band is a closed polygon: upper ends left to right, lower ends back; it starts at the last known value
    x = [dates[-1], *ahead.dates]
    for level in sorted(ahead.intervals, reverse=True):
        lower, upper = ahead.intervals[level]
        fig.add_trace(go.Scatter(
            x=[*x, *x[::-1]], y=[values[-1], *upper, *lower[::-1], values[-1]], fill="toself", mode="lines",
            line=dict(width=0), fillcolor=BAND_COLORS.get(level, OTHER_BAND), hoverinfo="skip",
            name=labels["band"].format(level=level),
        ))
    fig.add_trace(go.Scatter(x=x, y=[values[-1], *ahead.median], mode="lines+markers", name=labels["median"],
                             line=dict(color=MODEL_COLOR)))
    fig.add_trace(go.Scatter(x=x, y=[values[-1], *ahead.persistence], mode="lines", name=labels["persistence"],
                             line=dict(color=PERSISTENCE_COLOR, dash="dash")))
    fig.update_layout(yaxis_title=y_title, legend=dict(orientation="h", y=-0.15), margin=dict(t=30))
    return fig


def calibration_figure(
    model_coverage: dict[str, float], persistence_coverage: dict[str, float], labels: dict[str, str],
) -> go.Figure:
    """Nominal against empirical coverage (%) on the test period, one point per level; the diagonal is perfect.

    ``labels``: ``model``, ``persistence``, ``ideal``, ``nominal`` and ``empirical``.
    """
    levels = sorted(model_coverage, key=int)
    nominal = [int(level) for level in levels]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[0, 100], y=[0, 100], mode="lines", name=labels["ideal"],
                             line=dict(color="#999999", dash="dot")))
    fig.add_trace(go.Scatter(x=nominal, y=[model_coverage[lv] for lv in levels], mode="markers+lines",
                             name=labels["model"], marker=dict(size=10, color=MODEL_COLOR)))
    fig.add_trace(go.Scatter(x=nominal, y=[persistence_coverage[lv] for lv in levels], mode="markers+lines",
                             name=labels["persistence"], marker=dict(size=10, color=PERSISTENCE_COLOR, symbol="diamond")))
    low = max(0, min(nominal) - 20)
    fig.update_layout(xaxis=dict(title=labels["nominal"], range=[low, 100]),
                      yaxis=dict(title=labels["empirical"], range=[low, 100]), margin=dict(t=30))
    return fig
