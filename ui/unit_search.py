"""The Gates page's unit search (LSTMVis): pick units, an array and a stretch of the window where they are on, and see
the other stretches of the test period where the same units fire in the same pattern, with the inputs around them."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from lstm_core.config import Cell
from lstm_core.errors import LabError
from lstm_core.gates import (
    CELL_ARRAYS,
    DEFAULT_THRESHOLD,
    MAX_MATCHES,
    Match,
    all_tied,
    extract_gates,
    holds_event,
    on_cells,
    search_units,
)
from lstm_core.gates.roles import Role, TaskReading
from lstm_core.gates.search import BOUNDED
from lstm_core.pipeline import Window
from lstm_core.plots.gates import SearchRow, search_figure
from lstm_core.plots.locale import localize_dates
from ui.gates import EVENTS, GateSource, input_channels
from ui.results import position_label
from ui.session import kept
from ui.text import lang, show_error, tr

MAX_SEARCH_WINDOWS = 1000  # test windows searched (around the one shown): bench/run.py times this many
DRAWN_MATCHES = 6  # matches drawn with their inputs (the table lists every one)
DEFAULT_STRETCH = 5  # steps of a price window's default stretch


def _batch(source: GateSource, k: int, layer: int, array: str) -> tuple[np.ndarray, np.ndarray, int, int]:
    """One array of ``layer`` over up to ``MAX_SEARCH_WINDOWS`` test windows around window ``k``: values
    ``[B, T, H]``, each window's first row ``[B]``, the index of the first window searched and ``k``'s place."""
    n = source.prepared.n_samples("test")
    first = int(np.clip(k - MAX_SEARCH_WINDOWS // 2, 0, max(n - MAX_SEARCH_WINDOWS, 0)))
    ends = source.prepared.split_ends["test"][first : first + MAX_SEARCH_WINDOWS]

    def trace() -> dict[int, np.ndarray]:  # the costly part, made once for every session that shows this run
        x, _ = source.prepared.tensors_at(ends)  # [B, T, F]
        return {first: extract_gates(source.model, x).layer(layer)[array]}

    with source.lock:
        kept_for = source.memo(("search", layer, array), trace)  # one stretch of windows kept per layer and array
        if first not in kept_for:
            kept_for.clear()
            kept_for.update(trace())
        values = kept_for[first]
    return values, ends - (source.config.window - 1), first, k - first


def _default_threshold(values: np.ndarray, array: str) -> float:
    """``DEFAULT_THRESHOLD``, or lower (on a grid of 0.05) where the unit never reaches it in the window shown: an
    untrained model's states stay small, and a search should start from something that is on."""
    reach = float(np.max(values if array in BOUNDED else np.abs(values)))
    if reach > DEFAULT_THRESHOLD:
        return DEFAULT_THRESHOLD
    return float(np.clip(np.floor(0.8 * reach / 0.05) * 0.05, 0.05, 0.95))


def _default_stretch(source: GateSource, window: Window, values: np.ndarray, unit: int, array: str,
                     threshold: float) -> tuple[int, int]:
    """Where to start: a task's first event step in the window; else five steps from the unit's first on-step."""
    features = source.config.features
    event = next((f for f in EVENTS if f in features), None)
    if source.kind.reads_roles and event is not None:
        steps = np.flatnonzero(window.inputs[:, features.index(event)] > 0.5)
        if len(steps):
            return int(steps[0]), int(steps[0])
    on = np.flatnonzero(on_cells(values[:, unit], array, threshold))
    if not len(on):
        return len(values) - 1, len(values) - 1
    # five steps from the unit's first on-step: a pattern of on and off, not one on-cell that any on-cell matches
    # (one-day stretches once all scored 1.00)
    start = int(min(on[0], max(len(values) - DEFAULT_STRETCH, 0)))
    return start, int(min(start + DEFAULT_STRETCH - 1, len(values) - 1))


def search_ui(source: GateSource, window: Window, k: int, layer: int, ranked: list[int],
              reading: TaskReading | None) -> None:
    """Pick units, an array, a threshold and a stretch; the matches as a table and with their inputs."""
    st.subheader(tr("gates_sec_search"))
    st.caption(tr("gates_search_caption"))
    latch = reading.finding(Role.LATCH) if reading is not None else None
    start_unit = latch.unit if latch is not None else ranked[0]
    # units and the threshold side by side; the array below them at full width (six choices, cut off in a column)
    cols = st.columns([3, 1], vertical_alignment="bottom")
    read_row = st.container()
    units = cols[0].multiselect(tr("gates_search_units"), ranked, format_func=lambda u: tr("gates_unit_n", n=u),
                                **kept("gates_search_units", [start_unit],
                                       lambda v: isinstance(v, list) and bool(v) and set(v) <= set(ranked)))
    arrays = CELL_ARRAYS[source.config.cell]  # the cell's own: a GRU's r, z, n, h
    start_array = ("i" if latch is not None else source.kind.search_array) if source.config.cell == Cell.LSTM else "h"
    array = read_row.segmented_control(tr("gates_search_array"), arrays, format_func=lambda g: tr(f"gates_short_{g}"),
                                      required=True, **kept("gates_search_array", start_array, lambda v: v in arrays))
    if not units:
        st.caption(tr("gates_search_pick_units"))
        return
    values, first_rows, first, here = _batch(source, k, layer, array)
    steps = values.shape[1]
    threshold = cols[1].number_input(tr("gates_search_threshold"), min_value=0.05, max_value=0.95, step=0.05,
                                     **kept("gates_search_threshold", _default_threshold(values[here, :, units[0]], array),
                                            lambda v: 0.05 <= v <= 0.95))
    default = _default_stretch(source, window, values[here], units[0], array, threshold)
    labels = source.kind.step_labels(window)
    start, stop = st.select_slider(tr("gates_search_stretch"), options=range(steps), format_func=lambda s: labels[s],
                                   **kept("gates_search_stretch", default,
                                          lambda v: isinstance(v, tuple) and len(v) == 2 and 0 <= v[0] <= v[1] < steps))
    try:
        matches = search_units(values, units, here, start, stop, array=array, threshold=threshold,
                               first_rows=first_rows, top=MAX_MATCHES, one_per_window=source.kind.one_match_per_window)
    except LabError as err:
        show_error(err)
        return
    if not matches:
        st.info(tr("gates_search_none"), icon=":material/search_off:")
        return
    _say(source, matches, first, stop - start + 1)
    view = ("search", k, layer, array, tuple(units), threshold, start, stop, lang())
    st.plotly_chart(source.view(view, lambda: _figure(source, window, matches, first, (start, stop))),
                    key="gates_search_chart")


def _say(source: GateSource, matches: list[Match], first: int, length: int) -> None:
    """The matches in one sentence (and, on a memory task, how many hold a marker), then as a table."""
    positions = source.prepared.sample_positions("test")
    st.markdown(tr("gates_search_found", n=len(matches), best=f"{matches[0].score:.2f}"))
    if all_tied(matches):
        st.info(tr("gates_search_tied", best=f"{matches[0].score:.2f}"), icon=":material/drag_handle:")
    features = source.config.features
    event = next((f for f in EVENTS if f in features), None)
    if source.kind.reads_roles and event is not None:
        x, _ = source.prepared.tensors_at(source.prepared.split_ends["test"][[first + m.window for m in matches]])
        raw = source.prepared.feature_scaler.inverse(x.numpy().astype(np.float64))[..., features.index(event)] > 0.5
        inside = holds_event([Match(i, m.start, m.row, m.score) for i, m in enumerate(matches)], raw, length)
        st.markdown(tr(f"gates_search_events_{event}", n=sum(inside), total=len(matches)))
    st.dataframe({
        tr("gates_search_col_where"): [_where(source, positions, first, m) for m in matches],
        tr("gates_search_col_steps"): [f"{m.start + 1}–{m.start + length}" for m in matches],
        tr("gates_search_col_overlap"): [round(m.score, 3) for m in matches],
    }, hide_index=True, key="gates_search_table")


def _where(source: GateSource, positions, first: int, m: Match) -> str:
    """Where a match lies: the date its stretch starts (two stretches of overlapping windows once showed their
    windows' one date twice), or a task's sequence."""
    if source.kind.dated:
        return position_label(source.prepared.dates[m.row])
    return position_label(positions[first + m.window])


def _figure(source: GateSource, window: Window, matches: list[Match], first: int,
            stretch: tuple[int, int]) -> go.Figure:
    """The picked stretch and the best matches, each with the inputs the model read in its window."""
    positions = source.prepared.sample_positions("test")
    channels = input_channels(source, window)
    rows = [SearchRow(tr("gates_search_picked"), _xs(source, window), channels["inputs"], *_bounds(source, window, *stretch))]
    for number, m in enumerate(matches[:DRAWN_MATCHES], start=1):
        shown = source.prepared.window("test", first + m.window)
        inputs = input_channels(source, shown)["inputs"]
        stop = m.start + stretch[1] - stretch[0]
        title = tr("gates_search_match", n=number, where=_where(source, positions, first, m), overlap=f"{m.score:.2f}")
        rows.append(SearchRow(title, _xs(source, shown), inputs, *_bounds(source, shown, m.start, stop)))
    x_title = tr(source.kind.axis_key)
    fig = search_figure(rows, channels["input_names"], bars=channels["bars"], x_title=x_title, lang=lang())
    return localize_dates(fig, lang())


def _xs(source: GateSource, window: Window) -> list[object]:
    return source.kind.x_values(window)


def _bounds(source: GateSource, window: Window, start: int, stop: int) -> tuple[object, object]:
    """A stretch's shaded span on its panel's x axis: half a step either side, so one step shows as a band."""
    return source.kind.span(window, start, stop)
