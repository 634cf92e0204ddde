"""Learn: the LSTM lesson, a step-by-step calculator checked live against PyTorch, and why gates beat a plain RNN."""

import streamlit as st

from ui.learn import tabs_ui
from ui.nav import require_router
from ui.text import tr

require_router()
st.title(tr("learn_title"))
st.caption(tr("learn_caption"))
tabs_ui()
