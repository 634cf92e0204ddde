"""Data: pick a source, see the prices and what was fixed on the way in; the dataset stays for the other pages."""

import streamlit as st

from ui.data import prices_ui, quality_ui, source_ui
from ui.loaders import dataset
from ui.nav import require_router
from ui.text import tr

require_router()  # a deep link to /data on a fresh server would otherwise run before app.py set the session up
st.title(tr("data_title"))
st.caption(tr("data_caption"))
source_ui()
prices_ui(dataset())
quality_ui(dataset())
