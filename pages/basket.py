"""Many series: one network trained on a basket of price series, judged per series and as a panel."""

import streamlit as st

from ui.basket import basket_ui, results_ui, settings_ui, start_basket, upload_ui
from ui.nav import require_router
from ui.runs import basket_result, collect_finished_job, current_job
from ui.text import tr
from ui.training import live_panel
from ui.workspace import show_notices

require_router()

st.title(tr("basket_title"))
st.caption(tr("basket_intro"))
collect_finished_job()
result = basket_result()  # this session's, or the one its workspace kept (a refresh, a restart)
show_notices()  # a basket run the workspace could not keep, or could not read again

job = current_job()
busy = job is not None and not job.finished
if job is not None:
    live_panel(job)  # a workspace trains one job at a time, a basket's or a single series'
with st.expander(tr("basket_settings"), expanded=not busy, icon=":material/tune:"):
    basket = basket_ui(disabled=busy)
    config = settings_ui(basket, disabled=busy) if basket is not None else None
    if st.button(tr("basket_start"), type="primary", icon=":material/play_arrow:", disabled=busy or config is None,
                 key="basket_start") and start_basket(basket, config):
        st.rerun()
if busy:
    st.caption(tr("basket_busy"))

if result is not None:
    results_ui(*result)
else:
    st.info(tr("basket_none"), icon=":material/info:")
upload_ui(disabled=busy)
