"""Gates: placeholder until its issue lands."""

import streamlit as st

from ui.state import tr

st.title(tr("nav_gates"))
