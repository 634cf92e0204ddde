"""Train: choose hyperparameters, train in the background with a live loss chart, judge the result honestly."""

import streamlit as st

from ui.loaders import dataset, dataset_label
from ui.nav import require_router
from ui.results import results_ui
from ui.runs import basket_result, collect_finished_job, current_job, selected_run, start_job, unfinished_training_ui
from ui.settings import settings_ui
from ui.text import lang, tr
from ui.training import live_panel, runs_ui, where_jobs_run_ui

require_router()

st.title(tr("train_title"))
st.caption(tr("train_caption", name=dataset().title(lang()), rows=len(dataset().frame)))
collect_finished_job()
unfinished_training_ui()

job = current_job()
busy = job is not None and not job.finished
if job is not None:
    live_panel(job)
with st.expander(tr("cfg_title"), expanded=job is None, icon=":material/tune:"):
    settings_ui(start_job, disabled=busy, ds=dataset())
if busy:
    st.caption(tr("train_busy"))
where_jobs_run_ui()

run = selected_run()
if run is not None and run.dataset_name != dataset().name and not busy:
    st.info(tr("train_other_dataset", run_data=dataset_label(run.dataset_name), data=dataset().title(lang())),
            icon=":material/swap_horiz:")
if run is not None:
    if busy:  # the results below are the previous run's, not the one training now
        st.info(tr("train_previous_results", run_id=run.run_id), icon=":material/history:")
    results_ui(run)
if basket_result() is not None:  # a basket's run is read on its own page, with its panel
    st.page_link("pages/basket.py", label=tr("train_basket_results"), icon=":material/stacked_line_chart:")
runs_ui()
