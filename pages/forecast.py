"""Forecast: a run's forecasts past the data's last day with conformal bands, and how well those bands covered the test period."""

import pandas as pd
import streamlit as st

from lstm_core.config import Target
from lstm_core.forecast import DEFAULT_LEVELS, compare_widths, forecast_report, history, miscalibrated
from lstm_core.plots.forecast import calibration_figure, forecast_figure
from lstm_core.plots.locale import localize_dates
from ui.forecast import walk_forward_ui
from ui.state import dataset_label, lang, plain, require_router, tr
from ui.training import runs, selected_run

LEVEL_CHOICES = (50, 80, 90, 95, 99)
TRADING_DAYS_A_MONTH = 21

require_router()

st.title(tr("forecast_title"))
st.caption(tr("forecast_caption"))
all_runs = {r.run_id: r for r in runs()}
if not all_runs:
    st.info(tr("forecast_no_run"), icon=":material/info:")
    st.stop()

ids = list(all_runs)
if st.session_state.get("forecast_run") not in all_runs:
    st.session_state["forecast_run"] = selected_run().run_id
cols = st.columns([2, 2, 1], vertical_alignment="bottom")
run_id = cols[0].selectbox(tr("forecast_pick_run"), ids, key="forecast_run",
                           format_func=lambda i: plain(f"{i} · {dataset_label(all_runs[i].dataset_name)}"))
levels = tuple(sorted(cols[1].pills(tr("forecast_levels"), LEVEL_CHOICES, selection_mode="multi",
                                    default=list(DEFAULT_LEVELS), format_func=lambda v: f"{v} %", key="forecast_levels")))
months = cols[2].number_input(tr("forecast_months"), min_value=1, max_value=120, value=6, key="forecast_months")
if not levels:
    st.info(tr("forecast_pick_levels"), icon=":material/info:")
    st.stop()

run = all_runs[run_id]
# two forwards over the validation and test windows: cheap, but kept for reruns that only move the history slider
cache = st.session_state.setdefault("forecast_results", {})
if (run_id, levels) not in cache:
    cache.clear()
    cache[(run_id, levels)] = forecast_report(run.prepared, run.model, levels)
ahead, scores = cache[(run_id, levels)]

is_vol = run.config.target == Target.LOGVOL
dates, values = history(run.prepared, int(months) * TRADING_DAYS_A_MONTH)
labels = {key: tr(f"forecast_{key}") for key in ("history", "median", "persistence", "band")}
fig = forecast_figure(dates, values, ahead, labels, tr("forecast_y_vol" if is_vol else "forecast_y_price"))
st.plotly_chart(localize_dates(fig, lang()), key="forecast_chart")

st.subheader(tr("forecast_table"))
digits = 3 if is_vol else 2
table = {tr("forecast_col_date"): [d.strftime("%Y-%m-%d") for d in ahead.dates],
         tr("forecast_col_median"): ahead.median.round(digits)}
for level in levels:
    lower, upper = ahead.intervals[level]
    table[tr("forecast_col_lower", level=level)] = lower.round(digits)
    table[tr("forecast_col_upper", level=level)] = upper.round(digits)
table[tr("forecast_col_persistence")] = ahead.persistence.round(digits)
st.dataframe(pd.DataFrame(table), hide_index=True)

st.subheader(tr("forecast_coverage_title"))
st.caption(tr("forecast_coverage_caption", origins=scores["origins"], calibration=scores["calibration_windows"]))
for level, coverage in miscalibrated(scores):
    st.warning(tr("forecast_miscalibrated", level=level, coverage=coverage), icon=":material/warning:")
cal_labels = {key: tr(f"forecast_cal_{key}") for key in ("model", "persistence", "ideal", "nominal", "empirical")}
st.plotly_chart(calibration_figure(scores["coverage"], scores["baselines"]["persistence"]["coverage"], cal_labels),
                key="forecast_calibration")
for c in compare_widths(scores):
    params = dict(level=c.level, model_coverage=c.model_coverage, persistence_coverage=c.persistence_coverage)
    if c.narrower:
        st.success(tr("forecast_narrower", percent=f"{100 * (1 - c.ratio):.0f}", **params), icon=":material/check:")
    else:
        st.info(tr("forecast_wider", width_ratio=c.ratio, **params), icon=":material/info:")

with st.expander(tr("forecast_per_step")):
    st.dataframe(pd.DataFrame([{
        tr("forecast_col_step"): row["step"], tr("m_rmse"): round(row["rmse"], 4), tr("m_mae"): round(row["mae"], 4),
        **{tr("forecast_col_coverage", level=level): round(row["coverage"][str(level)], 1) for level in levels},
    } for row in scores["per_step"]]), hide_index=True)

walk_forward_ui(run, levels, scores, tr("forecast_y_vol" if is_vol else "forecast_y_price"))
