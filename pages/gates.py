"""Gates: the trained model's input, forget and output gates, cell and hidden state, step by step on a real window."""

import streamlit as st

from lstm_core.config import Cell
from lstm_core.gates import ARRAYS, UnitOrder, extract_gates, gate_saturation, order_units, plan_downsampling
from lstm_core.plots.gates import (
    before_after_figure,
    downsampling_notes,
    gate_animation_figure,
    saturation_figure,
    unit_lines_figure,
)
from ui.gates import (
    SATURATION_WINDOWS,
    UNTRAINED_PREVIEW,
    GateSource,
    fresh_source,
    remember_choice,
    restore_choice,
    run_source,
)
from ui.state import attempt, dataset, dataset_label, lang, plain, require_router, tr
from ui.training import selected_run

DEFAULT_SHOWN_UNITS = 24  # a 6 x 24 heatmap still reads at a glance; the slider shows more

require_router()

st.title(tr("gates_title"))
st.caption(tr("gates_caption"))
run = selected_run()
if run is not None and run.config.cell != Cell.LSTM:
    st.warning(tr("gates_not_lstm_model", kind=tr(f"cell_{run.config.cell}")), icon=":material/info:")
    st.stop()
source: GateSource | None = (
    run_source(run) if run is not None
    else attempt(fresh_source, dataset(), st.session_state.get("train_config", UNTRAINED_PREVIEW), dataset().title(lang()))
)
if source is None:  # the loaded data cannot feed this config: the sentence is already shown
    st.stop()
if run is None:
    st.info(tr("gates_no_model"), icon=":material/info:")
cfg = source.config
st.caption(tr("gates_run_caption", run_id=plain(source.label), dataset=plain(dataset_label(source.dataset_title)), hidden=cfg.hidden,
              layers=cfg.layers, window=cfg.window, horizon=cfg.horizon))

prepared = source.prepared
end_dates = prepared.dates[prepared.split_ends["test"]]
cols = st.columns([3, 1], vertical_alignment="bottom")
restore_choice("gates_window", len(end_dates) - 1, lambda v: v in range(len(end_dates)))
cols[0].select_slider(tr("gates_pick_window"), options=range(len(end_dates)),
                      format_func=lambda i: end_dates[i].strftime("%Y-%m-%d"), key="gates_window")
k = remember_choice("gates_window")
layer = 0
if cfg.layers > 1:
    restore_choice("gates_layer", cfg.layers - 1, lambda v: v in range(cfg.layers))
    cols[1].segmented_control(tr("gates_pick_layer"), range(cfg.layers), format_func=lambda n: tr("gates_layer_n", n=n + 1),
                              required=True, key="gates_layer")
    layer = remember_choice("gates_layer")
window = prepared.window("test", k)
trace = extract_gates(source.model, window.x)  # every layer, [T, H] per array
predicted = source.predicted_price(k)
if not prepared.target_kind.prediction_is_price:  # a volatility: said in words, not drawn on the price axis
    st.caption(tr("gates_vol_prediction_caption", h=cfg.horizon, pred=f"{predicted:.2f}",
                  actual=f"{window.actual_value:.2f}", last=f"{prepared.last_values('test')[k]:.2f}"))
else:
    st.caption(tr("gates_prediction_caption", date=window.target_date.strftime("%Y-%m-%d"), pred=f"{predicted:.2f}",
                  actual=f"{window.actual_close:.2f}", last=f"{window.close[-1]:.2f}"))

st.subheader(tr("gates_sec_animation"))
cols = st.columns([1, 2], vertical_alignment="bottom")
restore_choice("gates_unit_order", UnitOrder.CHANGE, lambda v: v in list(UnitOrder))
cols[0].selectbox(tr("gates_pick_order"), list(UnitOrder), format_func=lambda o: tr(f"gates_order_{o}"),
                  help=tr("gates_pick_order_help"), key="gates_unit_order")
order = UnitOrder(remember_choice("gates_unit_order"))
shown = trace.hidden
if trace.hidden > 1:
    restore_choice("gates_shown_units", min(trace.hidden, DEFAULT_SHOWN_UNITS), lambda v: v in range(1, trace.hidden + 1))
    cols[1].slider(tr("gates_pick_shown"), 1, trace.hidden, key="gates_shown_units")
    shown = remember_choice("gates_shown_units")
ranked = order_units(trace, order, layer, window.close)  # [H] unit indices, the most telling first
plan = plan_downsampling(trace.steps, trace.hidden, unit_order=ranked, max_units=shown)
st.plotly_chart(gate_animation_figure(trace, window.close, window.dates, layer=layer, prediction=predicted if prepared.target_kind.prediction_is_price else None,
                                      prediction_label=tr("gates_prediction"), plan=plan, lang=lang()),
                key="gates_animation")
for note in downsampling_notes(plan, lang(), order=order):
    st.caption(note)
st.caption(tr("gates_colour_note"))

st.subheader(tr("gates_sec_units"))
ranked_units = [int(u) for u in ranked]
restore_choice("gates_units", ranked_units[:3], lambda v: isinstance(v, list) and set(v) <= set(ranked_units))
units = st.multiselect(tr("gates_pick_units"), ranked_units, help=tr("gates_pick_units_help"),
                       format_func=lambda u: tr("gates_unit_n", n=u), placeholder=tr("gates_pick_units_placeholder"),
                       key="gates_units")
remember_choice("gates_units")
if units:
    st.plotly_chart(unit_lines_figure(trace, units, window.dates, layer=layer, lang=lang()), key="gates_units_chart")

st.subheader(tr("gates_sec_saturation"))
batch_trace = extract_gates(source.model, source.last_test_windows(SATURATION_WINDOWS))  # [B, T, H] per array
saturation = gate_saturation(batch_trace, layer)
st.plotly_chart(saturation_figure(saturation, layer=layer, lang=lang()), key="gates_saturation")
st.caption(tr("gates_sat_windows", n=batch_trace.batch) + " " + tr("gates_sat_spread"))
st.markdown(tr("gates_sat_explain", low=saturation.low, high=saturation.high))

st.subheader(tr("gates_sec_before_after"))
if source.initial_model is None:
    st.caption(tr("gates_before_after_none"))
else:
    restore_choice("gates_before_after_gate", "f", lambda v: v in ARRAYS)
    st.segmented_control(tr("gates_pick_gate"), ARRAYS, format_func=lambda g: tr(f"gates_short_{g}"), required=True,
                         key="gates_before_after_gate")
    gate = remember_choice("gates_before_after_gate")
    before = extract_gates(source.initial_model, window.x)
    st.plotly_chart(before_after_figure(before, trace, window.dates, gate=gate, layer=layer, lang=lang()),
                    key="gates_before_after")
    st.markdown(tr("gates_before_after_explain"))
