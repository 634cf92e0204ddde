"""Gates: the trained model's input, forget and output gates, cell and hidden state, step by step on a real window."""

import streamlit as st

from lstm_core.config import RunConfig
from lstm_core.gates import extract_gates, gate_saturation, plan_downsampling, rank_units, unit_activity
from lstm_core.plots.gates import (
    before_after_figure,
    downsampling_notes,
    gate_animation_figure,
    saturation_figure,
    unit_lines_figure,
)
from ui.gates import SATURATION_WINDOWS, GateSource, fresh_source, run_source
from ui.state import attempt, dataset, lang, plain, require_router, tr
from ui.training import selected_run

require_router()

st.title(tr("gates_title"))
st.caption(tr("gates_caption"))
run = selected_run()
if run is not None and run.config.cell != "lstm":
    st.warning(tr("gates_gru_model"), icon=":material/info:")
    st.stop()
source: GateSource | None = (
    run_source(run) if run is not None else attempt(fresh_source, dataset(), st.session_state.get("train_config", RunConfig(target="logret", features=("logret",), horizon=1)))
)
if source is None:  # the loaded data cannot feed this config: the sentence is already shown
    st.stop()
if run is None:
    st.info(tr("gates_no_model"), icon=":material/info:")
cfg = source.config
st.caption(tr("gates_run_caption", run_id=plain(source.label), dataset=plain(source.dataset_name), hidden=cfg.hidden,
              layers=cfg.layers, window=cfg.window, horizon=cfg.horizon))

prepared = source.prepared
end_dates = prepared.dates[prepared.split_ends["test"]]
cols = st.columns([3, 1], vertical_alignment="bottom")
k = cols[0].select_slider(tr("gates_pick_window"), options=range(len(end_dates)), value=len(end_dates) - 1,
                          format_func=lambda i: end_dates[i].strftime("%Y-%m-%d"), key="gates_window")
layer = 0
if cfg.layers > 1:
    layer = cols[1].segmented_control(tr("gates_pick_layer"), range(cfg.layers), default=cfg.layers - 1,
                                      format_func=lambda n: tr("gates_layer_n", n=n + 1), required=True, key="gates_layer")
window = prepared.window("test", k)
trace = extract_gates(source.model, window.x)  # every layer, [T, H] per array
predicted = source.predicted_price(k)
st.caption(tr("gates_prediction_caption", date=window.target_date.strftime("%Y-%m-%d"), pred=f"{predicted:.2f}",
              actual=f"{window.actual_close:.2f}", last=f"{window.close[-1]:.2f}"))

st.subheader(tr("gates_sec_animation"))
plan = plan_downsampling(trace.steps, trace.hidden, unit_priority=unit_activity(trace, layer))
st.plotly_chart(gate_animation_figure(trace, window.close, window.dates, layer=layer, prediction=predicted,
                                      prediction_label=tr("gates_prediction"), plan=plan, lang=lang()),
                key="gates_animation")
for note in downsampling_notes(plan, lang()):
    st.caption(note)
st.caption(tr("gates_colour_note"))

st.subheader(tr("gates_sec_units"))
ranked = [int(u) for u in rank_units(trace, layer)]
units = st.multiselect(tr("gates_pick_units"), sorted(ranked), default=ranked[:3], help=tr("gates_pick_units_help"),
                       format_func=lambda u: tr("gates_unit_n", n=u), key="gates_units")
if units:
    st.plotly_chart(unit_lines_figure(trace, units, window.dates, layer=layer, lang=lang()), key="gates_units_chart")

st.subheader(tr("gates_sec_saturation"))
batch_trace = extract_gates(source.model, source.last_test_windows(SATURATION_WINDOWS))  # [B, T, H] per array
saturation = gate_saturation(batch_trace, layer)
st.plotly_chart(saturation_figure(saturation, layer=layer, lang=lang()), key="gates_saturation")
st.caption(tr("gates_sat_windows", n=batch_trace.batch))
st.markdown(tr("gates_sat_explain", low=saturation.low, high=saturation.high))

st.subheader(tr("gates_sec_before_after"))
if source.initial_model is None:
    st.caption(tr("gates_before_after_none"))
else:
    gate = st.segmented_control(tr("gates_pick_gate"), ["i", "f", "g", "o", "c", "h"], default="f", required=True,
                                format_func=lambda g: tr(f"gates_short_{g}"), key="gates_before_after_gate")
    before = extract_gates(source.initial_model, window.x)
    st.plotly_chart(before_after_figure(before, trace, window.dates, gate=gate, layer=layer, lang=lang()),
                    key="gates_before_after")
    st.markdown(tr("gates_before_after_explain"))
