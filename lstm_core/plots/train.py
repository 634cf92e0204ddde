"""Figures of the Train page: live loss curves, predictions against actual prices, residuals, run comparison."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from lstm_core.trainer import EpochRecord

COLORS = {"train": "#1f77b4", "val": "#ff7f0e", "batch": "rgba(31,119,180,0.25)", "model": "#d62728",
          "actual": "#222222", "persistence": "#7f7f7f"}
FIRST_VIEW_DAYS = 60  # the test-period chart opens on its last days, where the lines can be told apart


def log_axis_ticks(values: list[float]) -> dict[str, object]:
    """Tick values and labels for a log axis over ``values`` that read as the numbers they are.

    Plotly labels a log axis spanning less than a decade with bare mantissas ("9 8 7 6 5"); this picks
    1-2-5 steps (finer when the span is narrow) and writes each tick out in full.
    """
    finite = [v for v in values if v is not None and math.isfinite(v) and v > 0]
    if not finite:
        return {}
    low, high = min(finite), max(finite)
    decades = range(math.floor(math.log10(low)) - 1, math.ceil(math.log10(high)) + 1)
    span = math.log10(high / low)
    if span >= 2:  # a loss over decades (a memory task's, to 1e-4): few labels per decade, or they overlap
        ticks = [m * 10.0**e for e in decades for m in ((1,) if span >= 3 else (1, 2, 5))]
        inside = [v for v in ticks if low / 1.05 <= v <= high * 1.05]
        return dict(tickvals=inside, ticktext=[f"{v:.3g}" for v in inside])
    fine = (1, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.8, 2, 2.5, 3, 3.5, 4, 5, 6, 7, 8, 9)
    for mantissas in ((1, 2, 5), (1, 1.5, 2, 3, 4, 5, 6, 7, 8, 9), fine):
        ticks = [m * 10.0**e for e in decades for m in mantissas]
        inside = [v for v in ticks if low / 1.05 <= v <= high * 1.05]
        # enough ticks, and none of the drawn lines far from one (a loss falling from 1.3 to 1.1 gets its own)
        if len(inside) >= 3 and inside[0] <= low * 1.2 and inside[-1] >= high / 1.2:
            break
    inside = inside or [low, high]
    return dict(tickvals=inside, ticktext=[f"{v:.3g}" for v in inside])


def loss_figure(
    history: list[EpochRecord], batch_steps: list[float], batch_losses: list[float], labels: dict[str, str]
) -> go.Figure:
    """Train and validation loss per epoch over the running batch loss, log scale.

    ``labels``: ``train``, ``val``, ``batch``, ``epoch``, ``loss``.
    """
    fig = go.Figure()

    def hover(name: str, epoch_format: str) -> str:  # "Validation loss 0.4712 · epoch 3", not a bare (x, y) pair
        return f"{name} %{{y:.4g}} · {labels['epoch']} %{{x:{epoch_format}}}<extra></extra>"

    if batch_losses:
        fig.add_trace(go.Scatter(x=batch_steps, y=batch_losses, mode="lines", name=labels["batch"],
                                 line=dict(color=COLORS["batch"], width=1), hovertemplate=hover(labels["batch"], ".2f")))
    epochs = [h.epoch for h in history]
    fig.add_trace(go.Scatter(x=epochs, y=[h.train_loss for h in history], mode="lines+markers",
                             name=labels["train"], line=dict(color=COLORS["train"], width=2),
                             hovertemplate=hover(labels["train"], "d")))
    fig.add_trace(go.Scatter(x=epochs, y=[h.val_loss for h in history], mode="lines+markers",
                             name=labels["val"], line=dict(color=COLORS["val"], width=2),
                             hovertemplate=hover(labels["val"], "d")))
    ticks = log_axis_ticks([*batch_losses, *(h.train_loss for h in history), *(h.val_loss for h in history)])
    fig.update_layout(
        height=360, margin=dict(t=30, b=40, l=60, r=20), xaxis_title=labels["epoch"], yaxis_title=labels["loss"],
        yaxis=dict(type="log", **ticks), xaxis=dict(rangemode="tozero"), legend=dict(orientation="h", y=1.1),
        uirevision="loss",
    )
    return fig


def prediction_figure(
    dates: pd.DatetimeIndex, actual: np.ndarray, predicted: np.ndarray, persistence: np.ndarray, labels: dict[str, str],
    first_view_days: int = FIRST_VIEW_DAYS,
) -> go.Figure:
    """Predicted against actual values over the test period, with the persistence forecast drawn beside them.

    It opens on the last ``first_view_days`` samples, where three lines a few percent apart can be told apart
    (over years they lie on top of each other and look perfect); the range slider reaches the rest.
    ``labels``: ``actual``, ``model``, ``persistence``, ``price`` (the y axis).
    """
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=dates, y=actual, name=labels["actual"], line=dict(color=COLORS["actual"], width=2)))
    fig.add_trace(go.Scatter(x=dates, y=persistence, name=labels["persistence"],
                             line=dict(color=COLORS["persistence"], width=1.5, dash="dot")))
    fig.add_trace(go.Scatter(x=dates, y=predicted, name=labels["model"], line=dict(color=COLORS["model"], width=1.5)))
    shown = slice(max(len(dates) - first_view_days, 0), None)
    in_view = np.concatenate([np.asarray(a, dtype=float)[shown] for a in (actual, predicted, persistence)])
    low, high = float(np.nanmin(in_view)), float(np.nanmax(in_view))
    pad = 0.05 * (high - low) if high > low else 1.0
    fig.update_layout(
        height=400, margin=dict(t=30, b=40, l=60, r=20), yaxis=dict(title=labels["price"], range=[low - pad, high + pad]),
        xaxis=dict(range=[dates[shown][0], dates[-1]], rangeslider=dict(visible=True, thickness=0.08)),
        legend=dict(orientation="h", y=1.1), hovermode="x unified",
    )
    _sequence_axis(fig, dates, labels)
    return fig


def _sequence_axis(fig: go.Figure, positions: pd.Index, labels: dict[str, str]) -> None:
    """A memory task's samples are sequences, not days: numbers grouped as numbers (1,950, never a year), named."""
    if not isinstance(positions, pd.DatetimeIndex):
        fig.update_xaxes(tickformat=",d", title=labels.get("sequence"))


def change_figure(actual_change: np.ndarray, predicted_change: np.ndarray, labels: dict[str, str]) -> go.Figure:
    """Predicted against actual change from the last known value, one dot per test sample.

    A model with skill puts its dots along the diagonal; one that has learned to copy the last value puts them
    on the flat line at zero. Both axes span the data (the dots of either kind, 5 % on each side) with the same
    range, so the diagonal runs corner to corner; equal scales forced by plotly on a wide chart stretched the x axis
    to three times the data. ``labels``: ``model``, ``actual_change``, ``predicted_change``, ``diagonal``.
    """
    actual_change, predicted_change = np.asarray(actual_change, float), np.asarray(predicted_change, float)
    both = np.concatenate([actual_change, predicted_change])
    low, high = (float(np.nanmin(both)), float(np.nanmax(both))) if np.isfinite(both).any() else (-1.0, 1.0)
    pad = 0.05 * (high - low) if high > low else max(abs(high), 1.0) * 0.05
    span = [low - pad, high + pad]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=span, y=span, mode="lines", name=labels["diagonal"],
                             line=dict(color="#9aa5b1", dash="dot"), hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=actual_change, y=predicted_change, mode="markers", name=labels["model"],
                             marker=dict(color=COLORS["model"], size=5, opacity=0.45),
                             hovertemplate=f"{labels['actual_change']} %{{x:.4g}}<br>{labels['predicted_change']} "
                                           "%{y:.4g}<extra></extra>"))
    fig.update_layout(height=400, margin=dict(t=30, b=40, l=60, r=20), legend=dict(orientation="h", y=1.1),
                      xaxis=dict(title=labels["actual_change"], range=span),
                      yaxis=dict(title=labels["predicted_change"], range=span))
    return fig


def residual_figure(dates: pd.DatetimeIndex, residual_model: np.ndarray, residual_persistence: np.ndarray,
                    labels: dict[str, str]) -> go.Figure:
    """Forecast errors (predicted - actual) over the test period, for the model and for persistence.

    ``labels``: ``model``, ``persistence``, ``residual``.
    """
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=dates, y=residual_persistence, name=labels["persistence"], mode="lines",
                             line=dict(color=COLORS["persistence"], width=1)))
    fig.add_trace(go.Scatter(x=dates, y=residual_model, name=labels["model"], mode="lines",
                             line=dict(color=COLORS["model"], width=1)))
    fig.add_hline(y=0, line=dict(color="#444", width=1))
    fig.update_layout(height=300, margin=dict(t=30, b=40, l=60, r=20), yaxis_title=labels["residual"],
                      legend=dict(orientation="h", y=1.12))
    _sequence_axis(fig, dates, labels)
    return fig


def compare_loss_figure(histories: dict[str, list[EpochRecord]], labels: dict[str, str]) -> go.Figure:
    """Validation loss per epoch of several runs on one chart. ``labels``: ``epoch``, ``val``.

    Only runs whose losses share a scale belong here (same data, target and horizon: see the Train page).
    """
    fig = go.Figure()
    for name, history in histories.items():
        fig.add_trace(go.Scatter(x=[h.epoch for h in history], y=[h.val_loss for h in history],
                                 mode="lines+markers", name=name))
    ticks = log_axis_ticks([h.val_loss for history in histories.values() for h in history])
    fig.update_layout(height=320, margin=dict(t=30, b=40, l=60, r=20), xaxis_title=labels["epoch"],
                      yaxis=dict(title=labels["val"], type="log", **ticks), legend=dict(orientation="h", y=1.12))
    return fig
