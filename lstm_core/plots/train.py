"""Figures of the Train page: live loss curves, predictions against actual prices, residuals, run comparison."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from lstm_core.trainer import EpochRecord

COLORS = {"train": "#1f77b4", "val": "#ff7f0e", "batch": "rgba(31,119,180,0.25)", "model": "#d62728",
          "actual": "#222222", "persistence": "#7f7f7f"}


def loss_figure(
    history: list[EpochRecord], batch_steps: list[float], batch_losses: list[float], labels: dict[str, str]
) -> go.Figure:
    """Train and validation loss per epoch over the running batch loss, log scale.

    ``labels``: ``train``, ``val``, ``batch``, ``epoch``, ``loss``.
    """
    fig = go.Figure()
    if batch_losses:
        fig.add_trace(go.Scatter(x=batch_steps, y=batch_losses, mode="lines", name=labels["batch"],
                                 line=dict(color=COLORS["batch"], width=1)))
    epochs = [h.epoch for h in history]
    fig.add_trace(go.Scatter(x=epochs, y=[h.train_loss for h in history], mode="lines+markers",
                             name=labels["train"], line=dict(color=COLORS["train"], width=2)))
    fig.add_trace(go.Scatter(x=epochs, y=[h.val_loss for h in history], mode="lines+markers",
                             name=labels["val"], line=dict(color=COLORS["val"], width=2)))
    fig.update_layout(
        height=360, margin=dict(t=30, b=40, l=60, r=20), xaxis_title=labels["epoch"], yaxis_title=labels["loss"],
        yaxis_type="log", legend=dict(orientation="h", y=1.1), uirevision="loss",
    )
    return fig


def prediction_figure(
    dates: pd.DatetimeIndex, actual: np.ndarray, predicted: np.ndarray, persistence: np.ndarray, labels: dict[str, str]
) -> go.Figure:
    """Predicted against actual prices over the test period, with the persistence forecast for scale.

    ``labels``: ``actual``, ``model``, ``persistence``, ``price``.
    """
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=dates, y=actual, name=labels["actual"], line=dict(color=COLORS["actual"], width=1.5)))
    fig.add_trace(go.Scatter(x=dates, y=persistence, name=labels["persistence"],
                             line=dict(color=COLORS["persistence"], width=1, dash="dot"), visible="legendonly"))
    fig.add_trace(go.Scatter(x=dates, y=predicted, name=labels["model"], line=dict(color=COLORS["model"], width=1.5)))
    fig.update_layout(height=380, margin=dict(t=30, b=40, l=60, r=20), yaxis_title=labels["price"],
                      legend=dict(orientation="h", y=1.1), hovermode="x unified")
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
    return fig


def compare_loss_figure(histories: dict[str, list[EpochRecord]], labels: dict[str, str]) -> go.Figure:
    """Validation loss per epoch of several runs on one chart. ``labels``: ``epoch``, ``val``."""
    fig = go.Figure()
    for name, history in histories.items():
        fig.add_trace(go.Scatter(x=[h.epoch for h in history], y=[h.val_loss for h in history],
                                 mode="lines+markers", name=name))
    fig.update_layout(height=320, margin=dict(t=30, b=40, l=60, r=20), xaxis_title=labels["epoch"],
                      yaxis_title=labels["val"], yaxis_type="log", legend=dict(orientation="h", y=1.12))
    return fig
