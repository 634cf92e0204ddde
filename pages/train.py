"""Train: choose hyperparameters, train in the background with a live loss chart, judge the result honestly."""

import streamlit as st

from lstm_core.config import RunConfig
from ui.state import dataset, lang, plain, require_router, tr
from ui.training import (
    collect_finished_job,
    config_form_ui,
    current_job,
    live_panel,
    results_ui,
    runs_ui,
    selected_run,
    start_job,
)

require_router()

st.title(tr("train_title"))
st.caption(tr("train_caption", name=plain(dataset().title(lang())), rows=len(dataset().frame)))
collect_finished_job()

job = current_job()
busy = job is not None and not job.finished
if job is not None:
    live_panel(job)
config = config_form_ui(st.session_state.get("train_config", RunConfig()), disabled=busy, expanded=job is None)
if config is not None and start_job(config):
    st.rerun()  # redraw with the form disabled and the live panel on top
if busy:
    st.caption(tr("train_busy"))

run = selected_run()
if run is not None:
    results_ui(run)
runs_ui()
