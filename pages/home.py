"""Home: what LSTM Lab is and where to start."""

import streamlit as st

from ui.nav import require_router
from ui.text import tr

require_router()

st.title(tr("app_title"))
st.subheader(tr("app_tagline"))
st.markdown(tr("home_intro"))
st.markdown(tr("home_steps"))
st.info(tr("home_honesty"), icon=":material/balance:")
st.page_link("pages/data.py", label=tr("home_start"), icon=":material/arrow_forward:")
