"""Widget groups of the Gates page: what it inspects (a trained run, or a freshly initialised model on the loaded data),
the window and layer, what a memory task's units do, and each view of the gates, every choice kept for the session."""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st
import torch

from lstm_core.config import Cell, Feature, RunConfig, Target
from lstm_core.data import Dataset
from lstm_core.gates import (
    GateTrace,
    TaskReading,
    UnitOrder,
    extract_gates,
    gate_saturation,
    order_units,
    plan_downsampling,
    read_task_units,
)
from lstm_core.gates.explain import explain_window
from lstm_core.gates.kinds import GatesKind, gates_kind
from lstm_core.gates.roles import task_sequences
from lstm_core.model import Forecaster, build_model, predict
from lstm_core.pipeline import Prepared, Window
from lstm_core.plots.gates import (
    attribution_figure,
    before_after_figure,
    downsampling_notes,
    gate_animation_figure,
    unit_lines_figure,
)
from lstm_core.plots.locale import localize_dates
from lstm_core.plots.saturation import saturation_figure
from lstm_core.runs.run import Run
from ui.loaders import dataset, dataset_label
from ui.results import position_label, verdict_lead_ui
from ui.runs import pickable_runs, run_picker_ui
from ui.session import kept
from ui.settings import config_for_data
from ui.text import attempt, lang, tr

# with nothing trained yet, the page shows an untrained model of the article's kind (1 x 50): tomorrow's price from returns
UNTRAINED_PREVIEW = RunConfig.for_target(target=Target.LOGRET, hidden=50)
SATURATION_WINDOWS = 128  # test windows whose steps the saturation scatter counts
DEFAULT_SHOWN_UNITS = 24  # a 6 x 24 heatmap still reads at a glance; the slider shows more
READING_SEQUENCES = 1000  # a task's test sequences its units' roles are measured on (at most)
EVENTS = (Feature.MARKER, Feature.RESET)  # a task's event channels, drawn as bars
T = TypeVar("T")
KEPT_VIEWS = 32  # per run shown: a view's gates and figures are made once, then read by every session that shows it


@dataclass(eq=False)
class GateSource:
    """A model, its prepared data, the predicted value of every test window and (for a run) its initial weights."""

    label: str
    dataset_title: str
    config: RunConfig
    model: Forecaster
    prepared: Prepared
    initial_model: Forecaster | None
    test_prices: np.ndarray  # [S] predicted value of each test window, in the order of prepared.split_ends["test"]
    learned: bool = True  # False: the run's judgement: nothing it shows beats the same network before training
    kept_initial: bool = False  # no epoch beat the untrained network: the weights it kept are its initial ones
    _memo: dict[object, object] = field(default_factory=dict, repr=False)
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    _views: collections.OrderedDict[object, object] = field(default_factory=collections.OrderedDict, repr=False)

    def memo(self, key: object, build: Callable[[], T]) -> T:
        """``build()`` made once per ``key`` for this source, shared by every session that shows its run."""
        with self.lock:
            if key not in self._memo:
                self._memo[key] = build()
            return self._memo[key]  # type: ignore[return-value]

    def view(self, key: object, build: Callable[[], T]) -> T:
        """What one view of this source shows (a window's gates, a figure), kept for the next session that asks for
        the same view (the newest KEPT_VIEWS): a class that shares a run opens the same window, layer and options at
        the same moment."""
        with self.lock:
            if key in self._views:
                self._views.move_to_end(key)
            else:
                self._views[key] = build()
                while len(self._views) > KEPT_VIEWS:
                    self._views.popitem(last=False)
            return self._views[key]  # type: ignore[return-value]

    @property
    def kind(self) -> GatesKind:
        """What the page needs to know about this data (prices or a memory task), decided once."""
        return gates_kind(self.prepared)

    def predicted_price(self, k: int) -> float:
        """The model's predicted value (a price, a volatility, a task's answer) for test window ``k``."""
        return float(self.test_prices[k])

    def last_test_windows(self, n: int) -> torch.Tensor:
        x, _ = self.prepared.tensors("test")  # [S, T, F]
        return x[-n:]

    def reading(self, layer: int) -> TaskReading | None:
        """What the units of ``layer`` do on the task's test sequences; None for prices (or without a marker)."""

        def read() -> TaskReading | None:
            found = task_sequences(self.prepared) if self.kind.reads_roles else None
            if found is None:
                return None
            x, events, answers, event = found
            last = slice(-READING_SEQUENCES, None)  # the last test sequences: a bounded cost on any task
            trace = extract_gates(self.model, x[last])
            return read_task_units(trace, events[last], answers[last], event, layer)

        return self.memo(("reading", layer), read)


def run_source(run: Run) -> GateSource:
    """The run as the Gates page reads it, made once per run (and shared by the sessions that show it)."""
    return run.memo("gate_source", lambda: GateSource(run.run_id, run.dataset_name, run.config, run.model,
                                                      run.prepared, run.initial_model(), run.test_predictions,
                                                      run.judgement().learned, run.record.best_epoch == 0))


def predicted_test_prices(model: Forecaster, prepared: Prepared) -> np.ndarray:
    """Predicted values of all test windows at once: ``[S]``.

    ``Prepared.to_readable`` turns a return into a price from each sample's own last price, so it must
    get one output per test window; one output alone came back priced off the first window.
    """
    return prepared.to_readable("test", predict(model, prepared.tensors("test")[0]).numpy())


@st.cache_resource(max_entries=4, show_spinner=False)
def _fresh(fingerprint: str, config: RunConfig, _frame: pd.DataFrame) -> tuple[Prepared, Forecaster, np.ndarray]:
    # keyed by a hash of the prices themselves: two visitors' files that share a name, a length and a last
    # date must not share an entry; read-only afterwards, so sharing one entry per content is safe
    prepared = Prepared(_frame, config)
    model = build_model(config).eval()
    return prepared, model, predicted_test_prices(model, prepared)


def fresh_source(ds: Dataset, config: RunConfig, dataset_title: str) -> GateSource:
    config = config.with_(cell=Cell.LSTM)
    prepared, model, prices = _fresh(ds.fingerprint, config, ds.frame)
    return GateSource("—", dataset_title, config, model, prepared, None, prices)


def source_ui() -> GateSource | None:
    """The run to inspect, picked from the session's runs (the newest, or the one chosen on Train, first); without
    one, an untrained model on the loaded data. None, with a sentence, when there is nothing to show."""
    if pickable_runs():
        run = run_picker_ui("gates_run", tr("gates_pick_run"))
        verdict_lead_ui(run)  # the run's judgement, as the Train page leads with it
        source = run_source(run)
    else:
        ds = dataset()
        source = attempt(fresh_source, ds, config_for_data(ds, UNTRAINED_PREVIEW), ds.title(lang()))
        if source is None:  # the loaded data cannot feed this config: the sentence is already shown
            return None
        st.info(tr("gates_no_model"), icon=":material/info:")
    cfg = source.config
    st.caption(tr(source.kind.caption_key, run_id=source.label, dataset=dataset_label(source.dataset_title),
                  cell=cfg.cell.upper(), hidden=cfg.hidden, layers=cfg.layers, window=cfg.window, horizon=cfg.horizon))
    if cfg.cell != Cell.LSTM:  # what this cell has to show instead of an LSTM's four gates and cell
        st.info(tr(f"gates_cell_{cfg.cell}"), icon=":material/info:")
    return source


# what a visitor chose on this page for one run: a new run starts from its own defaults (a 4-unit run's "units shown",
# or the price run's unit order on a memory task, once carried over and hid the units the sentences name)
RUN_CHOICES = ("gates_window", "gates_layer", "gates_unit_order", "gates_shown_units", "gates_units",
               "gates_before_after_gate", "gates_search_units", "gates_search_array", "gates_search_threshold",
               "gates_search_stretch")


def follow_run(source: GateSource) -> None:
    """Forget this page's choices when the run shown is another than the one they were made for."""
    if st.session_state.get("gates_choices_for") != source.label:
        for key in RUN_CHOICES:
            st.session_state.pop(key, None)
        st.session_state["gates_choices_for"] = source.label


def window_ui(source: GateSource) -> tuple[int, int, Window]:
    """The test window (by its last date, or a task's sequence) and the layer to inspect: (window index, layer, window)."""
    follow_run(source)
    prepared, cfg = source.prepared, source.config
    positions = prepared.window_ends("test")  # the slider names each window by its own last day, not its target's
    default = source.kind.first_window(prepared, len(positions) - 1)
    cols = st.columns([3, 1], vertical_alignment="bottom")
    labels = source.memo(("window_labels", lang()), lambda: [position_label(p) for p in positions])
    k = cols[0].select_slider(tr(source.kind.pick_key),
                              options=range(len(positions)), format_func=labels.__getitem__,
                              **kept("gates_window", default, lambda v: v in range(len(positions))))
    layer = 0
    if cfg.layers > 1:
        layer = cols[1].segmented_control(tr("gates_pick_layer"), range(cfg.layers), required=True,
                                          format_func=lambda n: tr("gates_layer_n", n=n + 1),
                                          **kept("gates_layer", cfg.layers - 1, lambda v: v in range(cfg.layers)))
    window = prepared.window("test", k)
    predicted = source.predicted_price(k)
    kind = prepared.target_kind
    if source.kind.states_prediction:  # a task's answer, against always answering the training mean
        mean = float(np.mean(prepared.raw_targets("train")))
        st.caption(tr("gates_task_prediction_caption", n=position_label(positions[k]), pred=f"{predicted:.3f}",
                      actual=f"{window.actual_value:.3f}", mean=f"{mean:.3f}"))
    elif not kind.prediction_is_price:  # a volatility: said in words, not drawn on the price axis
        st.caption(tr("gates_vol_prediction_caption", h=cfg.horizon, pred=f"{predicted:.2f}",
                      actual=f"{window.actual_value:.2f}", last=f"{prepared.last_values('test')[k]:.2f}"))
    else:
        st.caption(tr("gates_prediction_caption", date=window.target_date.strftime("%Y-%m-%d"), pred=f"{predicted:.2f}",
                      actual=f"{window.actual_close:.2f}", last=f"{window.close[-1]:.2f}"))
    return k, layer, window


def roles_ui(source: GateSource, layer: int) -> TaskReading | None:
    """What each unit does on a memory task, in sentences measured on the test sequences (nothing for prices)."""
    reading = source.reading(layer)
    if reading is None:
        if source.kind.reads_roles:
            st.caption(tr("gates_roles_no_event"))
        return None
    st.subheader(tr("gates_sec_roles"))
    st.markdown("\n".join(f"- {tr(key, **params)}" for key, params in reading.claims()))
    st.caption(tr("gates_roles_caption", n=reading.sequences))
    return reading


def input_channels(source: GateSource, window: Window) -> dict[str, object]:
    """The animation's top panel: the model's own inputs (before scaling where one channel or a task's, as read where
    several price channels of different units meet), their names, a task's events as bars and the price as context."""
    features = source.config.features
    raw = source.kind.raw_inputs or len(features) == 1
    return dict(
        inputs=window.inputs if raw else window.x, input_names=[tr(f"features_{f}") for f in features],
        input_title=tr("gates_axis_inputs" if raw else "gates_axis_inputs_scaled"),
        bars=[n for n, f in enumerate(features) if f in EVENTS], context=window.close,
        context_name=tr("gates_axis_price"),
    )


def animation_ui(source: GateSource, trace: GateTrace, window: Window, k: int, layer: int,
                 reading: TaskReading | None) -> list[int]:
    """The animated heatmap of every gate and state under the model's inputs; returns the units, most telling first."""
    st.subheader(tr("gates_sec_animation"))
    cols = st.columns([1, 2], vertical_alignment="bottom")
    orders = [o for o in UnitOrder if o.applies(window.close is not None, reading is not None)]
    default_order = UnitOrder.TASK if reading is not None else UnitOrder.CHANGE
    order = UnitOrder(cols[0].selectbox(tr("gates_pick_order"), orders, format_func=lambda o: tr(f"gates_order_{o}"),
                                        help=tr("gates_pick_order_help"),
                                        **kept("gates_unit_order", default_order, lambda v: v in orders)))
    shown = trace.hidden
    if trace.hidden > 1:
        shown = cols[1].slider(tr("gates_pick_shown"), 1, trace.hidden,
                               **kept("gates_shown_units", min(trace.hidden, DEFAULT_SHOWN_UNITS),
                                      lambda v: v in range(1, trace.hidden + 1)))
    task_scores = reading.unit_scores() if reading is not None else None
    ranked = order_units(trace, order, layer, window.close, task_scores)  # [H] unit indices, the most telling first
    plan = plan_downsampling(trace.steps, trace.hidden, rows=len(trace.arrays), unit_order=ranked, max_units=shown)
    kind = source.prepared.target_kind
    stated = source.kind.states_prediction
    prediction = source.predicted_price(k) if kind.prediction_is_price or stated else None
    label = f"{tr('gates_prediction')} {prediction:.3f}" if stated else tr("gates_prediction")
    view = ("animation", k, layer, order, shown, lang())
    st.plotly_chart(source.view(view, lambda: gate_animation_figure(
        trace, dates=source.kind.dates(window), layer=layer, prediction=prediction,
        prediction_label=label, plan=plan, lang=lang(), **input_channels(source, window))), key="gates_animation")
    for note in downsampling_notes(plan, lang(), order=order):
        st.caption(note)
    st.caption(tr("gates_colour_note"))
    return [int(u) for u in ranked]


def attribution_ui(source: GateSource, window: Window, k: int) -> None:
    """Which days drove this window's forecast: integrated gradients against a window where nothing happened."""
    st.subheader(tr("gates_sec_attribution"))
    found = source.view(("attribution", k), lambda: explain_window(source.model, source.prepared, "test", k))
    channels = input_channels(source, window)
    events = [step for step in range(len(window.x)) for f, feature in enumerate(source.config.features)
              if feature in EVENTS and window.inputs[step, f] > 0.5]
    labels = {"title": tr("gates_attr_title"), "y": tr("gates_attr_axis"), "x": tr(source.kind.axis_key)}
    dates = source.kind.dates(window)
    steps = list(range(1, len(window.x) + 1)) if dates is None else list(dates)  # a task's steps, counted from 1
    st.plotly_chart(source.view(("attribution_chart", k, lang()), lambda: localize_dates(attribution_figure(
        found.attribution, steps, channels["input_names"], labels=labels, events=events), lang())),
        key="gates_attribution")
    change = found.prediction - found.baseline_prediction
    st.caption(tr("gates_attr_caption", pred=f"{found.prediction:.3f}", base=f"{found.baseline_prediction:.3f}",
                  change=f"{change:.3f}", total=f"{found.attribution.sum():.3f}", gap=f"{100 * found.gap:.2f}"))
    if events:
        st.caption(tr("gates_attr_events", share=f"{100 * found.share_on(np.isin(np.arange(len(window.x)), events)):.0f}"))


def unit_lines_ui(source: GateSource, trace: GateTrace, window: Window, ranked: list[int], layer: int) -> None:
    """Chosen units' gates and states as lines over the window."""
    st.subheader(tr("gates_sec_units"))
    units = st.multiselect(tr("gates_pick_units"), ranked, help=tr("gates_pick_units_help"),
                           format_func=lambda u: tr("gates_unit_n", n=u), placeholder=tr("gates_pick_units_placeholder"),
                           **kept("gates_units", ranked[:3], lambda v: isinstance(v, list) and set(v) <= set(ranked)))
    if units:
        dates = source.kind.dates(window)
        view = ("units", window.target_date, layer, tuple(units), lang())
        st.plotly_chart(source.view(view, lambda: unit_lines_figure(trace, units, dates, layer=layer, lang=lang())),
                        key="gates_units_chart")


def saturation_ui(source: GateSource, layer: int) -> None:
    """How often each unit's gates sit nearly shut or nearly open over the last test windows."""
    if source.config.cell == Cell.RNN:  # no gate to saturate
        return
    st.subheader(tr("gates_sec_saturation"))
    batch_trace = source.memo("saturation_windows",  # [B, T, H] per array
                              lambda: extract_gates(source.model, source.last_test_windows(SATURATION_WINDOWS)))
    saturation = source.memo(("saturation", layer), lambda: gate_saturation(batch_trace, layer))
    st.plotly_chart(source.view(("saturation", layer, lang()),
                                  lambda: saturation_figure(saturation, layer=layer, lang=lang())), key="gates_saturation")
    st.caption(tr("gates_sat_windows", n=batch_trace.batch) + " " + tr("gates_sat_groups"))
    explain = "gates_sat_explain_gru" if source.config.cell == Cell.GRU else "gates_sat_explain"
    st.markdown(tr(explain, low=saturation.low, high=saturation.high))


def before_after_ui(source: GateSource, trace: GateTrace, window: Window, layer: int) -> None:
    """The same window through the untrained and the trained weights."""
    st.subheader(tr("gates_sec_before_after"))
    if source.initial_model is None:
        st.caption(tr("gates_before_after_none"))
        return
    if not source.learned:  # the run's judgement, as the Train page says it
        same = source.kept_initial
        st.warning(tr("gates_learned_nothing_same" if same else "gates_learned_nothing"), icon=":material/block:")
    arrays = trace.arrays  # the cell's own: a GRU's r, z, n, h
    first = next(name for name in ("f", "z", "h") if name in arrays)  # what keeps the memory
    gate = st.segmented_control(tr("gates_pick_gate"), arrays, format_func=lambda g: tr(f"gates_short_{g}"),
                                required=True, **kept("gates_before_after_gate", first, lambda v: v in arrays))
    dates = source.kind.dates(window)

    def build() -> go.Figure:
        before = extract_gates(source.initial_model, window.x)
        return before_after_figure(before, trace, dates, gate=gate, layer=layer, lang=lang())

    st.plotly_chart(source.view(("before_after", window.target_date, layer, gate, lang()), build),
                    key="gates_before_after")
    if source.learned:  # the explanation says training taught the gates something
        st.markdown(tr("gates_before_after_explain"))
