"""Gates: the trained model's input, forget and output gates, cell and hidden state, step by step on a real window; on a
memory task, what each unit does, and a search for where units fire alike."""

import streamlit as st

from lstm_core.gates import extract_gates
from ui.gates import (
    animation_ui,
    attribution_ui,
    before_after_ui,
    roles_ui,
    saturation_ui,
    source_ui,
    unit_lines_ui,
    window_ui,
)
from ui.nav import require_router
from ui.text import tr
from ui.unit_search import search_ui

require_router()

st.title(tr("gates_title"))
st.caption(tr("gates_caption"))
source = source_ui()
if source is None:
    st.stop()
k, layer, window = window_ui(source)
trace = source.view(("trace", k), lambda: extract_gates(source.model, window.x))  # every layer, [T, H] per array
reading = roles_ui(source, layer)  # a memory task's units in words; None for prices
ranked = animation_ui(source, trace, window, k, layer, reading)
attribution_ui(source, window, k)  # which days drove this window's forecast, beside its gates
unit_lines_ui(source, trace, window, ranked, layer)
search_ui(source, window, k, layer, ranked, reading)
saturation_ui(source, layer)
before_after_ui(source, trace, window, layer)
