"""LSTM Lab's entry point: page set-up, the router over pages/, and the sidebar every page shares."""

import streamlit as st
import torch

from lstm_core.jobs.manager import default_manager
from lstm_core.server_settings import problems, setting
from ui.nav import app_pages, mark_router_ran, warm_imports
from ui.sidebar import init_session, sidebar
from ui.text import show_error
from ui.workspace import sweep_crash_leftovers

# Training runs in worker processes (lstm_core.jobs.workers), each on one thread at lowered priority. The server's own
# torch work is small (one window's gates, the Learn calculator) and runs for many sessions at once: on a 2-core
# host a second intra-op thread per call only contends with the workers and the other sessions.
torch.set_num_threads(setting("torch_threads"))
st.set_page_config(page_title="LSTM Lab", page_icon="🧠", layout="wide")
default_manager()  # the first call starts the workers' forkserver in the background: torch is imported there once
warm_imports()  # the first call imports what the first scores need (GARCH's arch) on a thread of its own
sweep_crash_leftovers()  # the first call removes what a crash mid-save left in the data dir
mark_router_ran()
init_session()

page = st.navigation(app_pages())
sidebar()
for wrong in problems():  # a server setting set wrong (docs/settings.md): said on every page until it is right
    show_error(wrong)
page.run()
