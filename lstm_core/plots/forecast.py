"""Figures of the Forecast page: history with the forecast and its bands, and the coverage check; pure builders."""

from __future__ import annotations

import math

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
    """History, then the median forecast with its intervals (widest underneath) and persistence.

    Forecasts start at their own first date, never at the last known value: with a horizon of 20 days the days in
    between have no forecast. Several steps are lines with one shaded band per level; a single step is a point with
    one whisker per level (a band or a line from one point would invent the days around it).
    ``labels``: ``history``, ``median``, ``persistence`` and ``band`` (formatted with ``level``).
    """
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=dates, y=values, mode="lines", name=labels["history"], line=dict(color=HISTORY_COLOR)))
    x = list(ahead.dates)
    single = len(x) == 1
    for level in sorted(ahead.intervals, reverse=True):
        lower, upper = ahead.intervals[level]
        name = labels["band"].format(level=level)
        if single:  # the whisker of each level, the widest thinnest; the point itself is drawn below
            fig.add_trace(go.Scatter(
                x=x, y=list(ahead.median), mode="markers", name=name,  # in the legend: a short whisker of its colour
                marker=dict(size=1, symbol="line-ns-open", color=BAND_COLORS.get(level, OTHER_BAND),
                            line=dict(width=2 if level >= 95 else 6)),
                error_y=dict(type="data", symmetric=False, array=list(upper - ahead.median),
                             arrayminus=list(ahead.median - lower), color=BAND_COLORS.get(level, OTHER_BAND),
                             thickness=2 if level >= 95 else 6, width=6 if level >= 95 else 0),
                hovertemplate=f"{name}: %{{customdata[0]:.4g}} – %{{customdata[1]:.4g}}<extra></extra>",
                customdata=[[lower[0], upper[0]]],
            ))
            continue
        # a closed polygon: upper ends left to right, lower ends back
        fig.add_trace(go.Scatter(
            x=[*x, *x[::-1]], y=[*upper, *lower[::-1]], fill="toself", mode="lines", line=dict(width=0),
            fillcolor=BAND_COLORS.get(level, OTHER_BAND), hoverinfo="skip", name=name,
        ))
    fig.add_trace(go.Scatter(x=x, y=list(ahead.median), mode="markers" if single else "lines+markers",
                             name=labels["median"], line=dict(color=MODEL_COLOR),
                             marker=dict(size=11 if single else 6, color=MODEL_COLOR)))
    fig.add_trace(go.Scatter(x=x, y=list(ahead.persistence), mode="markers" if single else "lines",
                             name=labels["persistence"], line=dict(color=PERSISTENCE_COLOR, dash="dash"),
                             marker=dict(size=10, color=PERSISTENCE_COLOR, symbol="diamond")))
    fig.update_layout(yaxis_title=y_title, legend=dict(orientation="h", y=-0.15, itemsizing="constant"), margin=dict(t=30))
    return fig


def calibration_figure(
    model_coverage: dict[int, float], persistence_coverage: dict[int, float], labels: dict[str, str],
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
    # room for every point: a band that covers 55 % at its 80 % level once fell below the axis and out of sight
    drawn = nominal + [*model_coverage.values(), *persistence_coverage.values()]
    low = max(0, min(min(nominal) - 20, 10 * math.floor((min(drawn) - 5) / 10)))
    fig.update_layout(xaxis=dict(title=labels["nominal"], range=[low, 100]),
                      yaxis=dict(title=labels["empirical"], range=[low, 100]), margin=dict(t=30))
    return fig


# one colour per forecaster, the same on every chart (with Plotly's cycle EWMA once came out as Linear AR's green)
FORECASTER_COLORS = {"model": MODEL_COLOR, "persistence": PERSISTENCE_COLOR, "linear_ar": "#2ca02c", "ewma": "#d62728",
                     "har": "#9467bd", "garch": "#8c564b", "window_mean": "#e377c2", "train_mean": "#7f7f7f",
                     "drift": "#bcbd22", "seasonal_naive": "#17becf", "moving_average": "#aec7e8",
                     "untrained": "#98df8a"}
OTHER_FORECASTER = "#c49c94"  # a baseline registered later, until it is given a colour here
LEVEL_COLORS = {80: "#1f77b4", 95: "#9467bd"}


FEW_STEPS = 5  # up to this many steps the error by step is drawn as grouped bars with their values


def step_error_figure(rmse_by_step: dict[str, list[float]], labels: dict[str, str], y_title: str) -> go.Figure:
    """RMSE at each step ahead on the test period, per forecaster (``labels`` names them by key): lines over many
    steps; grouped bars, each labelled with its value, over a few (three lone dots say nothing)."""
    fig = go.Figure()
    steps = len(next(iter(rmse_by_step.values())))
    few = steps <= FEW_STEPS
    for who, rmse in rmse_by_step.items():
        x = list(range(1, len(rmse) + 1))
        color = FORECASTER_COLORS.get(who, OTHER_FORECASTER)
        if few:
            fig.add_trace(go.Bar(x=x, y=list(rmse), name=labels[who], marker_color=color,
                                 text=[f"{v:.4g}" for v in rmse], textposition="outside", cliponaxis=False))
        else:
            fig.add_trace(go.Scatter(x=x, y=list(rmse), mode="lines+markers", name=labels[who], line=dict(color=color)))
    fig.update_layout(xaxis=dict(title=labels["step"], dtick=1 if steps <= 20 else None), barmode="group",
                      yaxis=dict(title=y_title, rangemode="tozero"), legend=dict(orientation="h", y=-0.2),
                      margin=dict(t=30))
    return fig


def error_over_time_figure(dates: pd.DatetimeIndex, rolling_rmse: dict[str, np.ndarray], labels: dict[str, str],
                           y_title: str) -> go.Figure:
    """Trailing RMSE over the test origins, one line per forecaster: when the model beat the baselines, and when not."""
    fig = go.Figure()
    for who, rmse in rolling_rmse.items():
        fig.add_trace(go.Scatter(x=dates, y=rmse, mode="lines", name=labels[who],
                                 line=dict(color=FORECASTER_COLORS.get(who, OTHER_FORECASTER))))
    fig.update_layout(yaxis_title=y_title, legend=dict(orientation="h", y=-0.2), margin=dict(t=30))
    return fig


def coverage_over_time_figure(dates: pd.DatetimeIndex, rolling_coverage: dict[int, np.ndarray],
                              labels: dict[str, str]) -> go.Figure:
    """Trailing empirical coverage (%) of each level's intervals, with the level itself as a dotted line.

    ``labels``: ``empirical`` and ``nominal`` (formatted with ``level``), and ``y`` (the axis title).
    """
    fig = go.Figure()
    for level in sorted(rolling_coverage):
        color = LEVEL_COLORS.get(level, OTHER_BAND)
        fig.add_trace(go.Scatter(x=dates, y=rolling_coverage[level], mode="lines", line=dict(color=color),
                                 name=labels["empirical"].format(level=level)))
        # a trace, not a shape: the nominal line gets a legend entry and stays in fig.data for tests
        fig.add_trace(go.Scatter(x=[dates[0], dates[-1]], y=[level, level], mode="lines", hoverinfo="skip",
                                 line=dict(color=color, dash="dot"), name=labels["nominal"].format(level=level)))
    fig.update_layout(yaxis=dict(title=labels["y"], range=[0, 101]), legend=dict(orientation="h", y=-0.2),
                      margin=dict(t=30))
    return fig
