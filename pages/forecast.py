"""Forecast: a run's forecasts past the data's last day with conformal bands, and how well those bands covered the test period."""

import streamlit as st

from ui.forecast import (
    ahead_ui,
    coverage_ui,
    drivers_ui,
    forecast_report,
    interval_kind_ui,
    pick_ui,
    verdict_line_ui,
    walk_forward_ui,
)
from ui.nav import require_router
from ui.text import tr

require_router()

st.title(tr("forecast_title"))
st.caption(tr("forecast_caption"))
picked = pick_ui()
if picked is None:
    st.stop()
run, levels, months = picked
result = forecast_report(run, levels)
verdict_line_ui(run)
kind = interval_kind_ui(result)
ahead_ui(run, result, months, kind)
drivers_ui(run)  # which days drove it
coverage_ui(run, result)
walk_forward_ui(run, result)
