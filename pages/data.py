"""Data: pick a source, see the prices and what was fixed on the way in (or a memory task's sequences); the dataset
stays for the other pages."""

import streamlit as st

from ui.data import dataset_ui, source_ui
from ui.loaders import dataset
from ui.nav import require_router
from ui.text import tr

require_router()  # a deep link to /data on a fresh server would otherwise run before app.py set the session up
st.title(tr("data_title"))
st.caption(tr("data_caption"))
source_ui()
ds = dataset()
if ds.task is None:  # a price series can join a basket: one network on several series
    st.page_link("pages/basket.py", label=tr("data_to_basket"), icon=":material/stacked_line_chart:")
dataset_ui(ds)
