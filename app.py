"""LSTM Lab's entry point: page set-up, the router over pages/, and the sidebar every page shares."""

import os

import streamlit as st
import torch

from lstm_core.memory import tune_malloc
from ui.state import app_pages, init_session, mark_router_ran, sidebar

tune_malloc()
# one core per training job: the server runs up to two jobs and must still answer clicks
torch.set_num_threads(int(os.environ.get("LSTM_LAB_TORCH_THREADS", "1")))
st.set_page_config(page_title="LSTM Lab", page_icon="🧠", layout="wide")
mark_router_ran()
init_session()

page = st.navigation(app_pages())
sidebar()
page.run()
