"""Figures of the Gates page: the animated gate heatmap, unit lines, saturation scatter and before/after training."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.subplots import make_subplots

from lstm_core.errors import LabError
from lstm_core.gates import (
    ARRAYS,
    MAX_CELLS,
    SIGMOID_GATES,
    Downsampling,
    GateTrace,
    Saturation,
    plan_downsampling,
)
from lstm_core.i18n import t

GATE_COLOURS = {"i": "#2a9d8f", "f": "#e76f51", "g": "#8d6cab", "o": "#3a7bd5", "c": "#264653", "h": "#e9a23b"}
HEATMAP_SCALE = "RdBu_r"  # white at 0, red towards +1, blue towards -1
MAX_BEFORE_AFTER_COLUMNS = 1000  # steps drawn per heatmap in the before/after figure
FRAME_MS = 80  # time per frame while playing

Dates = Sequence[object] | pd.Index | np.ndarray | None


def downsampling_notes(plan: Downsampling, lang: str = "en") -> list[str]:
    """Sentences telling the user which steps and units a figure left out (empty when it shows all)."""
    notes = []
    if plan.steps_reduced:
        notes.append(t("gates_downsampled_steps", lang, stride=plan.step_stride, frames=plan.frames, steps=plan.steps))
    if plan.units_reduced:
        notes.append(t("gates_downsampled_units", lang, shown=plan.shown_units, units=plan.units))
    return notes


def gate_animation_figure(
    trace: GateTrace,
    prices: Sequence[float] | np.ndarray,
    dates: Dates = None,
    *,
    layer: int = 0,
    sample: int = 0,
    prediction: float | None = None,
    prediction_label: str | None = None,
    prediction_x: object | None = None,
    plan: Downsampling | None = None,
    lang: str = "en",
) -> go.Figure:
    """The input window on top with a cursor on the current step, and below a heatmap [gate x unit]
    of i, f, g, o, c, h at that step; Play/Pause buttons and a slider move through the steps.

    ``prices`` ``[T]`` are drawn over ``dates`` (or step numbers 1..T). ``prediction``, in the
    same units as ``prices``, is drawn just after the window's end, labelled ``prediction_label``.
    ``plan`` (default ``plan_downsampling(T, H)``) says which steps become frames and which units show.
    """
    arrays = trace.sample(sample).layer(layer)
    steps, units = trace.steps, trace.hidden
    prices = np.asarray(prices, dtype=float)
    if prices.shape != (steps,):
        raise ValueError(f"prices must have one value per step ({steps}), got shape {prices.shape}")
    plan = plan or plan_downsampling(steps, units)
    if (plan.steps, plan.units) != (steps, units):
        raise ValueError(f"the plan is for {plan.steps} steps x {plan.units} units, the trace has {steps} x {units}")
    x, labels = _x_values(dates, steps)
    # [T, rows, units]: the heatmap of every kept step, rows in ARRAYS order, float32 to keep the JSON small
    cube = np.stack([arrays[name][:, plan.unit_index] for name in ARRAYS], axis=1).astype(np.float32)
    row_names = [t(f"gates_short_{name}", lang) for name in ARRAYS]
    unit_names = [str(u) for u in plan.unit_index]
    low, high = float(prices.min()), float(prices.max())
    pad = 0.05 * (high - low) if high > low else max(abs(high), 1.0) * 0.05
    cursor_low, cursor_high = low - pad, high + pad

    fig = make_subplots(rows=2, cols=1, row_heights=[0.38, 0.62], vertical_spacing=0.17)
    fig.add_trace(
        go.Scatter(x=x, y=prices, mode="lines", name=t("gates_input_window", lang), line=dict(color="#5b6b7f")),
        row=1, col=1,
    )
    if prediction is not None:
        fig.add_trace(
            go.Scatter(
                x=[prediction_x if prediction_x is not None else _next_x(dates, steps)], y=[prediction],
                mode="markers+text", name=t("gates_prediction", lang),
                marker=dict(symbol="star", size=14, color="#e76f51"),
                text=[prediction_label or t("gates_prediction", lang)], textposition="top center",
            ),
            row=1, col=1,
        )
    first = int(plan.step_index[0])
    cursor_trace = len(fig.data)
    fig.add_trace(_cursor(x, prices, first, cursor_low, cursor_high, t("gates_current_step", lang)), row=1, col=1)
    heatmap_trace = len(fig.data)
    fig.add_trace(
        go.Heatmap(
            z=cube[first], x=unit_names, y=row_names, zmin=-1.0, zmax=1.0, zmid=0.0, colorscale=HEATMAP_SCALE,
            colorbar=dict(title=dict(text=t("gates_axis_value", lang)), len=0.6, y=0.3),
            hovertemplate=f"%{{y}}<br>{t('gates_axis_unit', lang)} %{{x}}: %{{z:.4f}}<extra></extra>",
        ),
        row=2, col=1,
    )
    # only the cursor's position and the heatmap's z change from frame to frame; plain dicts are
    # validated once, when assigned, instead of twice
    fig.frames = [
        dict(
            name=str(int(step)),
            data=[
                dict(type="scatter", x=[x[step]] * 3, y=[cursor_low, cursor_high, float(prices[step])]),
                dict(type="heatmap", z=cube[step]),
            ],
            traces=[cursor_trace, heatmap_trace],
        )
        for step in plan.step_index
    ]
    play = dict(frame=dict(duration=FRAME_MS, redraw=True), fromcurrent=True, transition=dict(duration=0))
    jump = dict(mode="immediate", frame=dict(duration=0, redraw=True), transition=dict(duration=0))
    fig.update_layout(
        title=t("gates_fig_animation", lang, layer=layer + 1),
        height=680, margin=dict(t=60, b=130), showlegend=False,
        updatemenus=[dict(
            type="buttons", direction="left", x=0.0, y=-0.13, xanchor="left", yanchor="top", showactive=False,
            buttons=[
                dict(label=t("gates_play", lang), method="animate", args=[None, play]),
                dict(label=t("gates_pause", lang), method="animate", args=[[None], {**jump, "frame": dict(duration=0, redraw=False)}]),
            ],
        )],
        sliders=[dict(
            active=0, x=0.2, y=-0.1, len=0.8, yanchor="top", pad=dict(t=0),
            currentvalue=dict(prefix=t("gates_slider_prefix", lang)),
            steps=[dict(label=labels[step], method="animate", args=[[str(int(step))], jump]) for step in plan.step_index],
        )],
        meta=dict(downsampling=_plan_summary(plan)),
    )
    fig.update_yaxes(title_text=t("gates_axis_price", lang), row=1, col=1)
    fig.update_xaxes(title_text=t("gates_axis_date" if dates is not None else "gates_axis_step", lang), row=1, col=1)
    fig.update_xaxes(title_text=t("gates_axis_unit", lang), type="category", row=2, col=1)
    fig.update_yaxes(autorange="reversed", row=2, col=1)
    return fig


def unit_lines_figure(
    trace: GateTrace,
    units: Sequence[int],
    dates: Dates = None,
    *,
    layer: int = 0,
    sample: int = 0,
    rows: Sequence[str] = ("i", "f", "o", "c", "h"),
    lang: str = "en",
) -> go.Figure:
    """One subplot per array in ``rows``, one line per chosen unit over the window (colour = unit)."""
    arrays = trace.sample(sample).layer(layer)
    if len(units) == 0:
        raise LabError("err_gates_no_units")
    for unit in units:
        if not 0 <= int(unit) < trace.hidden:
            raise LabError("err_gates_bad_unit", unit=unit, last=trace.hidden - 1)
    x, _ = _x_values(dates, trace.steps)
    fig = make_subplots(
        rows=len(rows), cols=1, shared_xaxes=True, vertical_spacing=0.03,
        subplot_titles=[t(f"gates_name_{name}", lang) for name in rows],
    )
    palette = qualitative.Plotly
    for number, unit in enumerate(units):
        colour = palette[number % len(palette)]
        for r, name in enumerate(rows, start=1):
            fig.add_trace(
                go.Scatter(
                    x=x, y=arrays[name][:, int(unit)], mode="lines", line=dict(color=colour, width=1.6),
                    name=t("gates_unit_n", lang, n=int(unit)), legendgroup=str(unit), showlegend=r == 1,
                ),
                row=r, col=1,
            )
    for r, name in enumerate(rows, start=1):
        if name in SIGMOID_GATES:
            fig.update_yaxes(range=[-0.02, 1.02], row=r, col=1)
    fig.update_xaxes(title_text=t("gates_axis_date" if dates is not None else "gates_axis_step", lang), row=len(rows), col=1)
    fig.update_layout(
        title=t("gates_fig_units", lang, layer=layer + 1), height=150 + 140 * len(rows), margin=dict(t=70, b=40),
    )
    return fig


def saturation_figure(saturation: Saturation, *, layer: int = 0, lang: str = "en") -> go.Figure:
    """Per unit, left-saturated fraction (x) against right-saturated fraction (y), one colour per gate."""
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(x=[0, 1], y=[1, 0], mode="lines", line=dict(color="#b0b8c4", dash="dot"), hoverinfo="skip", showlegend=False)
    )
    unit_word = t("gates_axis_unit", lang)
    for name, left in saturation.left.items():
        fig.add_trace(
            go.Scatter(
                x=left, y=saturation.right[name], mode="markers", name=t(f"gates_name_{name}", lang),
                marker=dict(color=GATE_COLOURS[name], size=8, opacity=0.75, line=dict(width=0.5, color="white")),
                customdata=np.arange(len(left)),
                hovertemplate=f"{unit_word} %{{customdata}}<br>< {saturation.low}: %{{x:.0%}}<br>> {saturation.high}: %{{y:.0%}}<extra>{name}</extra>",
            )
        )
    fig.update_layout(
        title=t("gates_fig_saturation", lang, layer=layer + 1), height=520, margin=dict(t=60, b=40),
        xaxis=dict(title=t("gates_sat_left", lang, low=saturation.low), range=[-0.02, 1.02], tickformat=".0%", constrain="domain"),
        yaxis=dict(title=t("gates_sat_right", lang, high=saturation.high), range=[-0.02, 1.02], tickformat=".0%",
                   scaleanchor="x", scaleratio=1),
    )
    return fig


def before_after_figure(
    before: GateTrace,
    after: GateTrace,
    dates: Dates = None,
    *,
    gate: str = "f",
    layer: int = 0,
    sample: int = 0,
    max_cells: int = MAX_CELLS,
    lang: str = "en",
) -> go.Figure:
    """Heatmaps [unit x step] of one gate for the initial and the trained weights side by side,
    and below them the gate's mean over units for both, on the same window."""
    if gate not in ARRAYS:
        raise ValueError(f"'{gate}' is not one of {', '.join(ARRAYS)}")
    if (before.steps, before.hidden, before.n_layers) != (after.steps, after.hidden, after.n_layers):
        raise ValueError("before and after traces must come from the same architecture and window")
    old, new = before.sample(sample).layer(layer)[gate], after.sample(sample).layer(layer)[gate]  # [T, H] each
    plan = plan_downsampling(before.steps, before.hidden, rows=2, max_frames=MAX_BEFORE_AFTER_COLUMNS, max_cells=max_cells)
    x, _ = _x_values(dates, before.steps)
    x_kept = np.asarray(x, dtype=object)[plan.step_index] if dates is not None else np.asarray(x)[plan.step_index]
    unit_names = [str(u) for u in plan.unit_index]
    bounded = gate in SIGMOID_GATES
    fig = make_subplots(
        rows=2, cols=2, specs=[[{}, {}], [{"colspan": 2}, None]], row_heights=[0.65, 0.35],
        vertical_spacing=0.14, horizontal_spacing=0.06,
        subplot_titles=[t("gates_before", lang), t("gates_after", lang), t("gates_axis_mean", lang)],
    )
    for col, values in ((1, old), (2, new)):
        fig.add_trace(
            go.Heatmap(
                z=values[np.ix_(plan.step_index, plan.unit_index)].T.astype(np.float32), x=x_kept, y=unit_names,
                coloraxis="coloraxis",
                hovertemplate=f"{t('gates_axis_unit', lang)} %{{y}}<br>%{{x}}: %{{z:.4f}}<extra></extra>",
            ),
            row=1, col=col,
        )
    for values, label, colour in ((old, "gates_before_short", "#9aa5b1"), (new, "gates_after_short", GATE_COLOURS[gate])):
        fig.add_trace(
            go.Scatter(x=x, y=values.mean(axis=1), mode="lines", name=t(label, lang), line=dict(color=colour)),
            row=2, col=1,
        )
    colour_range = dict(cmin=0.0, cmax=1.0) if bounded else dict(cmid=0.0)
    fig.update_layout(
        title=t("gates_fig_before_after", lang, gate=t(f"gates_name_{gate}", lang), layer=layer + 1),
        height=620, margin=dict(t=80, b=40),
        coloraxis=dict(colorscale=HEATMAP_SCALE, colorbar=dict(title=dict(text=gate), len=0.6, y=0.72), **colour_range),
        legend=dict(orientation="h", y=-0.08),
        meta=dict(downsampling=_plan_summary(plan)),
    )
    fig.update_yaxes(title_text=t("gates_axis_unit", lang), type="category", row=1, col=1)
    fig.update_yaxes(type="category", showticklabels=False, row=1, col=2)
    fig.update_yaxes(title_text=gate, row=2, col=1)
    return fig


def _x_values(dates: Dates, steps: int) -> tuple[list[object] | np.ndarray, list[str]]:
    """x positions of the steps and their slider labels: the dates, or step numbers 1..T."""
    if dates is None:
        x = np.arange(1, steps + 1)
        return x, [str(s) for s in x]
    index = pd.Index(dates)
    if len(index) != steps:
        raise ValueError(f"dates must have one entry per step ({steps}), got {len(index)}")
    if isinstance(index, pd.DatetimeIndex):
        labels = list(index.strftime("%Y-%m-%d"))
        return labels, labels
    labels = [str(d) for d in index]
    return list(index), labels


def _next_x(dates: Dates, steps: int) -> object:
    """Where the step after the window goes: the next step number, or the next trading day after the last date."""
    if dates is None:
        return steps + 1
    index = pd.Index(dates)
    if not isinstance(index, pd.DatetimeIndex):
        return str(index[-1])
    if len(index) < 2:
        return (index[-1] + pd.offsets.BDay(1)).strftime("%Y-%m-%d")
    gap = pd.Series(index).diff().median()
    if gap <= pd.Timedelta(days=1) and (index.day_of_week < 5).all():  # daily trading data: skip the weekend
        return (index[-1] + pd.offsets.BDay(1)).strftime("%Y-%m-%d")
    return (index[-1] + gap).strftime("%Y-%m-%d")


def _cursor(
    x: list[object] | np.ndarray, prices: np.ndarray, step: int, low: float, high: float, name: str | None = None
) -> go.Scatter:
    """A vertical line through the window at ``step`` with a dot on its price, as one trace."""
    xs = [x[step]] * 3
    kwargs = dict(name=name) if name else {}
    return go.Scatter(
        x=xs, y=[low, high, float(prices[step])], mode="lines+markers",
        line=dict(color="#e76f51", width=1, dash="dot"), marker=dict(size=[0, 0, 11], color="#e76f51"),
        hoverinfo="skip", **kwargs,
    )


def _plan_summary(plan: Downsampling) -> dict[str, object]:
    """The downsampling plan as plain JSON values (stored in ``fig.layout.meta``)."""
    return dict(
        steps=plan.steps, units=plan.units, frames=plan.frames, shown_units=plan.shown_units,
        step_stride=plan.step_stride, reduced=plan.reduced,
    )

