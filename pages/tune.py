"""Tune: search hyperparameters with Optuna, watch the study's trials live, and train the best config."""

import streamlit as st

from ui.loaders import dataset
from ui.nav import require_router
from ui.text import lang, tr
from ui.tune import current_study, is_busy, live_ui, storage_line, study_form_ui, train_best_ui

require_router()

st.title(tr("tune_title"))
st.caption(tr("tune_intro"))
if st.session_state.get("tune_on") == "basket" and not dataset().is_task:
    st.caption(tr("tune_basket_caption"))
else:
    st.caption(tr("train_caption", name=dataset().title(lang()), rows=len(dataset().frame)))

spec, jobs = current_study()
busy = is_busy(jobs)
with st.expander(tr("tune_search"), expanded=spec is None or not busy, icon=":material/tune:"):
    study_form_ui(disabled=busy)
    st.caption(storage_line())

if spec is not None:
    st.caption(tr("tune_study_line", study=spec.study))
    live_ui(spec, jobs)
    train_best_ui(spec)
