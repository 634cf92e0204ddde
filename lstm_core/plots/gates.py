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
    UnitOrder,
    plan_downsampling,
)
from lstm_core.i18n import t

GATE_COLOURS = {"i": "#2a9d8f", "f": "#e76f51", "g": "#8d6cab", "o": "#3a7bd5", "c": "#264653", "h": "#e9a23b"}
HEATMAP_SCALE = "RdBu_r"  # white at 0, red towards +1, blue towards -1
MAX_BEFORE_AFTER_COLUMNS = 1000  # steps drawn per heatmap in the before/after figure
SATURATION_DOT_PX = 7  # marker diameter in the saturation scatter
SATURATION_DOT_SPACING = 0.017  # about one marker diameter in axis units on the 520 px tall, square plot
SPIRAL_PLACES = 4000  # candidate places per dot; covers the whole triangle at that spacing
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
                cliponaxis=False,  # the label sits above the star, often above the highest price
            ),
            row=1, col=1,
        )
    first = int(plan.step_index[0])
    heatmap_trace = len(fig.data)
    fig.add_trace(
        go.Heatmap(
            z=cube[first], x=unit_names, y=row_names, zmin=-1.0, zmax=1.0, zmid=0.0, colorscale=HEATMAP_SCALE,
            colorbar=dict(title=dict(text=t("gates_axis_value", lang)), len=0.6, y=0.3),
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
            layout=dict(shapes=_cursor_shapes(x[step], float(prices[step]), cursor_low, cursor_high)),
        )
        for step in plan.step_index
    ]
    play = dict(frame=dict(duration=FRAME_MS, redraw=True), fromcurrent=True, transition=dict(duration=0))
    jump = dict(mode="immediate", frame=dict(duration=0, redraw=True), transition=dict(duration=0))
    fig.update_layout(
        title=t("gates_fig_animation", lang, layer=layer + 1),
        height=680, margin=dict(t=60, b=130), showlegend=False,
        shapes=_cursor_shapes(x[first], float(prices[first]), cursor_low, cursor_high),
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
    if dates is not None:
        fig.update_xaxes(tickformatstops=date_tick_stops(lang), row=1, col=1)
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
    if dates is not None:
        fig.update_xaxes(tickformatstops=date_tick_stops(lang))
    fig.update_layout(
        title=t("gates_fig_units", lang, layer=layer + 1), height=150 + 140 * len(rows), margin=dict(t=70, b=40),
    )
    return fig


def saturation_figure(saturation: Saturation, *, layer: int = 0, lang: str = "en") -> go.Figure:
    """Per unit, left-saturated fraction (x) against right-saturated fraction (y), one colour per gate.

    Most gates of a young model never saturate, so nearly every dot would sit on (0, 0): dots that
    would overlap are moved apart (``spread_overlapping``) and hovering one shows its exact fractions.
    """
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(x=[0, 1], y=[1, 0], mode="lines", line=dict(color="#b0b8c4", dash="dot"), hoverinfo="skip", showlegend=False)
    )
    names = list(saturation.left)
    left = np.concatenate([saturation.left[name] for name in names])  # [G * H], gates one after another
    right = np.concatenate([saturation.right[name] for name in names])
    # placed unit by unit, gates interleaved, so a crowd mixes its colours instead of forming rings by gate
    units = len(saturation.left[names[0]])
    interleaved = np.arange(len(left)).reshape(len(names), units).T.ravel()  # i0, f0, o0, i1, ...
    shown_x, shown_y = np.empty_like(left), np.empty_like(right)
    shown_x[interleaved], shown_y[interleaved] = spread_overlapping(left[interleaved], right[interleaved], SATURATION_DOT_SPACING)
    unit_word = t("gates_axis_unit", lang)
    for number, name in enumerate(names):
        part = slice(number * units, (number + 1) * units)
        fig.add_trace(
            go.Scatter(
                x=shown_x[part], y=shown_y[part], mode="markers", name=t(f"gates_name_{name}", lang),
                marker=dict(color=GATE_COLOURS[name], size=SATURATION_DOT_PX, opacity=0.85, line=dict(width=0.5, color="white")),
                customdata=np.stack([np.arange(units), left[part], right[part]], axis=1),  # [H, 3]: unit, true x, true y
                hovertemplate=(
                    f"{unit_word} %{{customdata[0]}}<br>< {saturation.low}: %{{customdata[1]:.1%}}"
                    f"<br>> {saturation.high}: %{{customdata[2]:.1%}}<extra>{name}</extra>"
                ),
            )
        )
    never = int(((left == 0) & (right == 0)).sum())
    if never:
        reach = float(np.hypot(shown_x, shown_y)[(left == 0) & (right == 0)].max())  # how far the corner's dots spread
        fig.add_annotation(
            x=reach * 0.72 + 0.03, y=reach * 0.72 + 0.03, xanchor="left", yanchor="bottom", showarrow=False,
            text=t("gates_sat_never", lang, n=never, total=len(left)), font=dict(size=12, color="#44505f"),
        )
    fig.update_layout(
        title=t("gates_fig_saturation", lang, layer=layer + 1), height=520, margin=dict(t=60, b=40),
        xaxis=dict(title=t("gates_sat_left", lang, low=saturation.low), range=[-0.02, 1.02], tickformat=".0%", constrain="domain"),
        yaxis=dict(title=t("gates_sat_right", lang, high=saturation.high), range=[-0.02, 1.02], tickformat=".0%",
                   scaleanchor="x", scaleratio=1),
    )
    return fig


def spread_overlapping(x: np.ndarray, y: np.ndarray, spacing: float) -> tuple[np.ndarray, np.ndarray]:
    """Positions for dots at ``(x, y)`` ``[N]`` in the triangle x, y >= 0, x + y <= 1 such that no two
    are closer than ``spacing``: each dot, in turn, takes the first free place on a sunflower spiral
    around its own position (its own position when free), inside the triangle. Deterministic.
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    k = np.arange(SPIRAL_PLACES)
    # Vogel's sunflower: place k sits at radius ~ sqrt(k), turned by the golden angle, so the
    # places fill the disc evenly and the nearest free one is also about the closest to the dot
    radius = 0.6 * spacing * np.sqrt(k)
    angle = k * np.pi * (3.0 - np.sqrt(5.0))
    offsets = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)  # [K, 2]
    placed = np.empty((len(x), 2))
    eps = 1e-12
    for n in range(len(x)):
        places = np.array([x[n], y[n]]) + offsets  # [K, 2]
        inside = (places[:, 0] >= -eps) & (places[:, 1] >= -eps) & (places.sum(axis=1) <= 1 + eps)
        places = places[inside]
        placed[n] = places[0]
        best_gap = -1.0
        for start in range(0, len(places) if n else 0, 256):  # nearest places first, a chunk at a time
            chunk = places[start : start + 256]  # [C, 2]
            gaps = np.linalg.norm(chunk[:, None, :] - placed[None, :n, :], axis=2).min(axis=1)  # [C]
            free = np.flatnonzero(gaps >= spacing * (1 - 1e-9))
            if len(free):
                placed[n] = chunk[free[0]]
                break
            if gaps.max() > best_gap:  # a full triangle: the least crowded place seen
                best_gap, placed[n] = float(gaps.max()), chunk[int(np.argmax(gaps))]
    return placed[:, 0], placed[:, 1]


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

