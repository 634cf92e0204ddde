"""Figures of the Gates page: the animated gate heatmap over the model's inputs, unit lines, the unit search's stretches
and before/after training (the saturation view is ``lstm_core.plots.saturation``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.subplots import make_subplots

from lstm_core.errors import LabError
from lstm_core.gates import (
    MAX_CELLS,
    Downsampling,
    GateTrace,
    UnitOrder,
    plan_downsampling,
)
from lstm_core.i18n import t

INPUT_COLOURS = ("#5b6b7f", "#e63946", "#2a9d8f", "#8d6cab", "#e9a23b", "#3a7bd5", "#264653")  # channel by channel
CONTEXT_COLOUR = "#9aa5b1"  # the price, where the inputs are made from it
GATE_COLOURS = {"i": "#2a9d8f", "f": "#e76f51", "g": "#8d6cab", "o": "#3a7bd5", "c": "#264653", "h": "#e9a23b",
                "r": "#3a7bd5", "z": "#e76f51", "n": "#8d6cab"}  # a GRU's reset, update and candidate
HEATMAP_SCALE = "RdBu_r"  # white at 0, red towards +1, blue towards -1
MAX_BEFORE_AFTER_COLUMNS = 1000  # steps drawn per heatmap in the before/after figure
FRAME_MS = 60  # shortest time per frame while playing; redrawing the figure takes about as long

Dates = Sequence[object] | pd.Index | np.ndarray | None


def downsampling_notes(plan: Downsampling, lang: str = "en", order: UnitOrder | None = None) -> list[str]:
    """Sentences telling the user which steps and units a figure shows, and in which order (empty when
    it shows every step and unit in the layer's own order)."""
    notes = []
    if plan.steps_reduced:
        notes.append(t("gates_downsampled_steps", lang, stride=plan.step_stride, frames=plan.frames, steps=plan.steps))
    if plan.units_thinned:
        notes.append(t("gates_downsampled_units", lang, shown=plan.shown_units, units=plan.units))
    elif plan.units_reduced or (order is not None and order is not UnitOrder.INDEX):
        order_phrase = t(f"gates_order_note_{UnitOrder(order or UnitOrder.INDEX)}", lang)
        notes.append(t("gates_units_shown", lang, shown=plan.shown_units, units=plan.units, order=order_phrase))
    return notes


def gate_animation_figure(
    trace: GateTrace,
    inputs: Sequence[float] | np.ndarray,
    dates: Dates = None,
    *,
    layer: int = 0,
    sample: int = 0,
    prediction: float | None = None,
    prediction_label: str | None = None,
    prediction_x: object | None = None,
    plan: Downsampling | None = None,
    input_names: Sequence[str] | None = None,
    input_title: str | None = None,
    bars: Sequence[int] = (),
    context: Sequence[float] | np.ndarray | None = None,
    context_name: str | None = None,
    lang: str = "en",
) -> go.Figure:
    """The model's inputs on top with a cursor on the current step, and below a heatmap [gate x unit] of i, f, g, o,
    c, h at that step; Play/Pause buttons and a slider move through the steps.

    ``inputs`` ``[T]`` or ``[T, F]`` (one line per channel, named ``input_names``; the channels listed in ``bars``,
    such as a task's 0/1 marker, drawn as bars so each event stands out) over ``dates`` (or step numbers 1..T).
    ``context`` ``[T]``, such as the price where the inputs are made from it, is drawn on a right-hand axis.
    ``prediction``, in the units of ``context`` (of the inputs when there is none), is drawn just after the window's
    end, labelled ``prediction_label``. ``plan`` (default ``plan_downsampling(T, H)``) says which steps become frames
    and which units show.
    """
    arrays = trace.sample(sample).layer(layer)
    steps, units = trace.steps, trace.hidden
    inputs = np.asarray(inputs, dtype=float)
    inputs = inputs[:, None] if inputs.ndim == 1 else inputs  # [T] -> [T, 1]
    if inputs.ndim != 2 or inputs.shape[0] != steps:
        raise ValueError(f"inputs must have one row per step ({steps}), got shape {inputs.shape}")
    names = list(input_names) if input_names is not None else [t("gates_input_window", lang)] * inputs.shape[1]
    if len(names) != inputs.shape[1]:
        raise ValueError(f"{len(names)} names for {inputs.shape[1]} input channels")
    if context is not None and np.shape(context) != (steps,):
        raise ValueError(f"the context must have one value per step ({steps}), got shape {np.shape(context)}")
    plan = plan or plan_downsampling(steps, units, rows=len(trace.arrays))
    if (plan.steps, plan.units) != (steps, units):
        raise ValueError(f"the plan is for {plan.steps} steps x {plan.units} units, the trace has {steps} x {units}")
    x, labels = _x_values(dates, steps)
    # [T, rows, units]: the heatmap of every kept step, rows in the cell's order, float32 to keep the JSON small
    cube = np.stack([arrays[name][:, plan.unit_index] for name in trace.arrays], axis=1).astype(np.float32)
    row_names = [t(f"gates_short_{name}", lang) for name in trace.arrays]
    unit_names = [str(u) for u in plan.unit_index]
    low, high = float(np.nanmin(inputs)), float(np.nanmax(inputs))
    if bars:
        low = min(low, 0.0)  # a bar stands on zero
    pad = 0.05 * (high - low) if high > low else max(abs(high), 1.0) * 0.05
    cursor_low, cursor_high = low - pad, high + pad
    on_cursor = inputs[:, 0]  # the cursor's dot rides on the first channel

    fig = make_subplots(rows=2, cols=1, row_heights=[0.38, 0.62], vertical_spacing=0.17)
    for channel, name in enumerate(names):
        colour = INPUT_COLOURS[channel % len(INPUT_COLOURS)]
        if channel in bars:
            fig.add_trace(go.Bar(x=x, y=inputs[:, channel], name=name, marker=dict(color=colour), width=_bar_width(dates)),
                          row=1, col=1)
        else:
            fig.add_trace(go.Scatter(x=x, y=inputs[:, channel], mode="lines", name=name, line=dict(color=colour)),
                          row=1, col=1)
    if context is not None:
        # the right-hand axis overlays the top panel, so the heatmap keeps its subplot (x2, y2)
        fig.add_trace(go.Scatter(x=x, y=np.asarray(context, dtype=float), mode="lines", yaxis="y3",
                                 name=context_name or t("gates_axis_price", lang),
                                 line=dict(color=CONTEXT_COLOUR, width=1.2, dash="dot")))
    if prediction is not None:
        fig.add_trace(
            go.Scatter(
                x=[prediction_x if prediction_x is not None else _next_x(dates, steps)], y=[prediction],
                mode="markers+text", name=t("gates_prediction", lang), yaxis="y3" if context is not None else "y",
                marker=dict(symbol="star", size=14, color="#e76f51"),
                text=[prediction_label or t("gates_prediction", lang)], textposition="top center",
                cliponaxis=False,  # the label sits above the star, often above the highest price
            ),
        )
    first = int(plan.step_index[0])
    heatmap_trace = len(fig.data)
    fig.add_trace(
        go.Heatmap(
            z=cube[first], x=unit_names, y=row_names, zmin=-1.0, zmax=1.0, zmid=0.0, colorscale=HEATMAP_SCALE,
            colorbar=dict(title=dict(text=t("gates_axis_value", lang)), len=0.6, y=0.3), showlegend=False,
            hovertemplate=f"%{{y}}<br>{t('gates_axis_unit', lang)} %{{x}}: %{{z:.4f}}<extra></extra>",
        ),
        row=2, col=1,
    )
    # Frames carry the heatmap alone and move the cursor as layout shapes: in Chromium, plotly.js
    # left the heatmap blank for the whole of Play as soon as a frame also carried a scatter trace
    # (the old cursor), while the slider kept moving and made it look alive.
    fig.frames = [
        dict(
            name=str(int(step)),
            data=[dict(type="heatmap", z=cube[step])],
            traces=[heatmap_trace],
            layout=dict(shapes=_cursor_shapes(x[step], float(on_cursor[step]), cursor_low, cursor_high)),
        )
        for step in plan.step_index
    ]
    play = dict(frame=dict(duration=FRAME_MS, redraw=True), fromcurrent=True, transition=dict(duration=0))
    jump = dict(mode="immediate", frame=dict(duration=0, redraw=True), transition=dict(duration=0))
    several = len(names) > 1 or context is not None
    fig.update_layout(
        title=t("gates_fig_animation", lang, layer=layer + 1),
        height=680, margin=dict(t=60, b=130), showlegend=several, bargap=0,
        legend=dict(orientation="h", x=1.0, xanchor="right", y=1.0, yanchor="bottom", bgcolor="rgba(255,255,255,0)"),
        shapes=_cursor_shapes(x[first], float(on_cursor[first]), cursor_low, cursor_high),
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
    if context is not None:
        fig.update_layout(yaxis3=dict(overlaying="y", side="right", title=dict(text=context_name or t("gates_axis_price", lang)),
                                      showgrid=False, anchor="x"))
    fig.update_yaxes(title_text=input_title or t("gates_axis_price", lang), range=[cursor_low, cursor_high], row=1, col=1)
    fig.update_xaxes(title_text=t("gates_axis_date" if dates is not None else "gates_axis_step", lang), row=1, col=1)
    if dates is not None:
        fig.update_xaxes(tickformatstops=date_tick_stops(lang), row=1, col=1)
    fig.update_xaxes(title_text=t("gates_axis_unit", lang), type="category", row=2, col=1)
    fig.update_yaxes(autorange="reversed", row=2, col=1)
    return fig


def _bar_width(dates: Dates) -> float | None:
    """Bars a step wide on step numbers (dates get plotly's own width)."""
    return 0.8 if dates is None else None


def unit_lines_figure(
    trace: GateTrace,
    units: Sequence[int],
    dates: Dates = None,
    *,
    layer: int = 0,
    sample: int = 0,
    rows: Sequence[str] | None = None,
    lang: str = "en",
) -> go.Figure:
    """One subplot per array in ``rows`` (default: the cell's, an LSTM's without its candidate g), one line per chosen
    unit over the window (colour = unit)."""
    arrays = trace.sample(sample).layer(layer)
    rows = rows or [name for name in trace.arrays if name != "g"]
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
        if name in trace.sigmoid_gates:
            fig.update_yaxes(range=[-0.02, 1.02], row=r, col=1)
    fig.update_xaxes(title_text=t("gates_axis_date" if dates is not None else "gates_axis_step", lang), row=len(rows), col=1)
    if dates is not None:
        fig.update_xaxes(tickformatstops=date_tick_stops(lang))
    fig.update_layout(
        title=t("gates_fig_units", lang, layer=layer + 1), height=150 + 140 * len(rows), margin=dict(t=70, b=40),
    )
    return fig


@dataclass(frozen=True)
class SearchRow:
    """One stretch of the search to draw with its inputs around it: the picked one, or a match."""

    title: str  # e.g. "Match 1 · overlap 1.00 · sequence 12"
    x: Sequence[object] | np.ndarray  # [L] positions of the steps drawn (step numbers or dates)
    inputs: np.ndarray  # [L, F] what the model read at those steps
    start: object  # the stretch's first and last positions, among ``x``
    stop: object


def search_figure(rows: Sequence[SearchRow], input_names: Sequence[str], *, bars: Sequence[int] = (),
                  x_title: str = "", lang: str = "en") -> go.Figure:
    """The picked stretch and each stretch the search found, one small panel each, with the inputs the model read
    around it and the stretch shaded, so that what they share (a marker inside, a calm before a jump) shows."""
    if not rows:
        raise ValueError("nothing to draw: no stretch")
    # every panel has its own date axis (two lines of ticks) and a title above the next: room for both between panels
    panel_px, gap_px, margins_px = 110, 80, 80
    height = margins_px + panel_px * len(rows) + gap_px * (len(rows) - 1)
    fig = make_subplots(rows=len(rows), cols=1, shared_xaxes=False, subplot_titles=[row.title for row in rows],
                        vertical_spacing=gap_px / (height - margins_px) if len(rows) > 1 else 0.0)
    for r, row in enumerate(rows, start=1):
        inputs = np.asarray(row.inputs, dtype=float)
        for channel, name in enumerate(input_names):
            colour = INPUT_COLOURS[channel % len(INPUT_COLOURS)]
            common = dict(x=list(row.x), y=inputs[:, channel], name=name, legendgroup=name, showlegend=r == 1)
            if channel in bars:
                fig.add_trace(go.Bar(marker=dict(color=colour), **common), row=r, col=1)
            else:
                fig.add_trace(go.Scatter(mode="lines", line=dict(color=colour, width=1.4), **common), row=r, col=1)
        fig.add_vrect(x0=row.start, x1=row.stop, fillcolor="#f4a261", opacity=0.35, line_width=0, row=r, col=1)
    fig.update_layout(height=height, margin=dict(t=40, b=40), bargap=0.2, title=t("gates_fig_search", lang),
                      legend=dict(orientation="h", x=1.0, xanchor="right", y=1.0, yanchor="bottom"))
    fig.update_xaxes(title_text=x_title, row=len(rows), col=1)
    fig.update_annotations(font_size=12)
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
    if gate not in after.arrays:
        raise ValueError(f"'{gate}' is not one of {', '.join(after.arrays)}")
    if (before.steps, before.hidden, before.n_layers) != (after.steps, after.hidden, after.n_layers):
        raise ValueError("before and after traces must come from the same architecture and window")
    old, new = before.sample(sample).layer(layer)[gate], after.sample(sample).layer(layer)[gate]  # [T, H] each
    plan = plan_downsampling(before.steps, before.hidden, rows=2, max_frames=MAX_BEFORE_AFTER_COLUMNS, max_cells=max_cells)
    x, _ = _x_values(dates, before.steps)
    x_kept = np.asarray(x, dtype=object)[plan.step_index] if dates is not None else np.asarray(x)[plan.step_index]
    unit_names = [str(u) for u in plan.unit_index]
    bounded = gate in after.sigmoid_gates
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
    if dates is not None:
        fig.update_xaxes(tickformatstops=date_tick_stops(lang))
    return fig


def date_tick_stops(lang: str = "en") -> list[dict[str, object]]:
    """``tickformatstops`` for a date axis in ``lang``: plotly.js writes English month names by itself."""
    levels = (("hour", None, 86_400_000), ("day", 86_400_000, "M1"), ("month", "M1", "M12"), ("year", "M12", None))
    return [dict(dtickrange=[low, high], value=t(f"gates_date_tick_{name}", lang)) for name, low, high in levels]


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


def _cursor_shapes(x: object, price: float, low: float, high: float) -> list[dict[str, object]]:
    """The cursor on the price chart at one step: a dotted vertical line and a dot on the price (11 px)."""
    colour = "#e76f51"
    x = x.item() if isinstance(x, np.generic) else x  # step numbers come as numpy integers
    return [
        dict(type="line", xref="x", yref="y", x0=x, x1=x, y0=low, y1=high, line=dict(color=colour, width=1, dash="dot")),
        dict(type="circle", xref="x", yref="y", xsizemode="pixel", ysizemode="pixel", xanchor=x, yanchor=price,
             x0=-5.5, x1=5.5, y0=-5.5, y1=5.5, fillcolor=colour, line=dict(color=colour, width=1)),
    ]


def _plan_summary(plan: Downsampling) -> dict[str, object]:
    """The downsampling plan as plain JSON values (stored in ``fig.layout.meta``)."""
    return dict(
        steps=plan.steps, units=plan.units, frames=plan.frames, shown_units=plan.shown_units,
        step_stride=plan.step_stride, reduced=plan.reduced,
    )



def attribution_figure(attribution: np.ndarray, x: Sequence[object], input_names: Sequence[str], *,
                       labels: dict[str, str], events: Sequence[int] = ()) -> go.Figure:
    """Integrated gradients over one window: each step's share of the forecast's change from a window where nothing
    happened, stacked by input channel (``attribution [T, F]``); ``events``: steps to mark (a task's markers)."""
    fig = go.Figure()
    for channel, name in enumerate(input_names):
        fig.add_trace(go.Bar(x=list(x), y=attribution[:, channel], name=name,
                             marker=dict(color=INPUT_COLOURS[channel % len(INPUT_COLOURS)])))
    for step in events:
        fig.add_vline(x=x[step], line=dict(color="#e63946", width=1, dash="dot"))
    fig.update_layout(barmode="relative", height=320, margin=dict(t=50, b=40, l=60, r=20), bargap=0.1,
                      title=labels["title"], yaxis_title=labels["y"], xaxis_title=labels["x"],
                      showlegend=len(input_names) > 1,
                      legend=dict(orientation="h", x=1.0, xanchor="right", y=1.02, yanchor="bottom"))
    return fig
