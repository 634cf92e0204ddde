"""Figures of the Learn page: the calculator's states over time and the gradient-decay comparison."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from lstm_core.learn import CellTrace

CELL_COLORS = {"rnn": "#d62728", "lstm": "#1f77b4", "gru": "#2ca02c"}
GATE_COLORS = {"i": "#2ca02c", "f": "#1f77b4", "o": "#ff7f0e", "g": "#9467bd"}


def gradient_figure(norms: dict[str, np.ndarray], names: dict[str, str], labels: dict[str, str]) -> go.Figure:
    """One line per cell of ‖∂h_T/∂x_t‖ against the distance T − t, on a log scale.

    ``norms`` maps a cell ("rnn", "lstm", "gru") to ``[T]`` norms ordered by t; ``names`` holds the
    legend names and ``labels`` the translated ``title``, ``x`` and ``y`` axis titles.
    """
    fig = go.Figure()
    for cell, values in norms.items():
        distance = np.arange(len(values))  # 0 = the last input
        # log axes cannot show 0: a gradient that underflowed is left out rather than drawn at -inf
        shown = np.where(values[::-1] > 0, values[::-1], np.nan)
        fig.add_trace(
            go.Scatter(
                x=distance, y=shown, mode="lines", name=names[cell], line=dict(color=CELL_COLORS.get(cell), width=2.5)
            )
        )
    fig.update_layout(
        title=labels["title"], xaxis_title=labels["x"], yaxis_title=labels["y"], height=440,
        legend=dict(orientation="h", y=1.02, yanchor="bottom", x=1, xanchor="right"), margin=dict(t=70, b=40),
    )
    fig.update_yaxes(type="log", exponentformat="power")
    return fig


def trace_figure(trace: CellTrace, unit: int, labels: dict[str, str]) -> go.Figure:
    """The gates, the cell state and the hidden state of hidden unit ``unit`` (0-based) over the calculator's steps.

    ``labels`` holds the translated ``gates``, ``states`` and ``x`` titles.
    """
    steps = np.arange(1, trace.steps + 1)
    fig = make_subplots(rows=1, cols=2, subplot_titles=(labels["gates"], labels["states"]), horizontal_spacing=0.1)
    for gate, color in GATE_COLORS.items():
        fig.add_trace(
            go.Scatter(x=steps, y=trace.get(gate)[:, unit], mode="lines+markers", name=gate, line=dict(color=color)),
            row=1, col=1,
        )
    for state, color in (("c", "#8c564b"), ("h", "#17becf")):
        fig.add_trace(
            go.Scatter(x=steps, y=trace.get(state)[:, unit], mode="lines+markers", name=state, line=dict(color=color)),
            row=1, col=2,
        )
    fig.update_xaxes(title_text=labels["x"], dtick=1)
    fig.update_yaxes(range=[-1.05, 1.05], row=1, col=1)
    fig.update_layout(height=320, margin=dict(t=40, b=40))
    return fig
