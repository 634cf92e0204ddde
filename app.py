"""LSTM Lab's entry point: page set-up, the router over pages/, and the sidebar every page shares."""

import os

import streamlit as st
import torch

from lstm_core.memory import tune_malloc
from ui.state import init_session, sidebar, tr

tune_malloc()
# one core per training job: the server runs up to two jobs and must still answer clicks
torch.set_num_threads(int(os.environ.get("LSTM_LAB_TORCH_THREADS", "1")))
st.set_page_config(page_title="LSTM Lab", page_icon=":material/neurology:", layout="wide")
init_session()

page = st.navigation(
    [
        st.Page("pages/home.py", title=tr("nav_home"), icon=":material/home:", help=tr("nav_home_help"), default=True),
        st.Page("pages/data.py", title=tr("nav_data"), icon=":material/candlestick_chart:", help=tr("nav_data_help")),
        st.Page("pages/train.py", title=tr("nav_train"), icon=":material/model_training:", help=tr("nav_train_help")),
        st.Page("pages/gates.py", title=tr("nav_gates"), icon=":material/memory:", help=tr("nav_gates_help")),
        st.Page("pages/learn.py", title=tr("nav_learn"), icon=":material/school:", help=tr("nav_learn_help")),
    ]
)
sidebar()
page.run()
