"""LSTM Lab's entry point: page set-up, the router over pages/, and the sidebar every page shares."""

import streamlit as st

from lstm_core.jobs import default_manager
from ui.state import app_pages, init_session, mark_router_ran, sidebar

st.set_page_config(page_title="LSTM Lab", page_icon="🧠", layout="wide")
# Training runs in worker processes (lstm_core.workers), each on one thread at lowered priority, so this server
# process needs no torch thread or priority settings of its own. The first call starts the workers' forkserver
# in the background: torch is imported there once, before anyone presses Start.
default_manager()
mark_router_ran()
init_session()

page = st.navigation(app_pages())
sidebar()
page.run()
