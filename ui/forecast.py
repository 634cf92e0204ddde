"""Widget groups of the Forecast page: the walk-forward backtest section."""

from __future__ import annotations

import streamlit as st
from torch import nn

from lstm_core.forecast import WalkForward, walk_forward
from lstm_core.pipeline import Prepared
from lstm_core.plots.forecast import coverage_over_time_figure, error_over_time_figure, step_error_figure
from lstm_core.plots.locale import localize_dates
from lstm_core.runs import Run
from ui.state import lang, tr

FORECASTERS = ("model", "persistence", "linear_ar")
DEFAULT_WINDOW_ORIGINS = 63  # about a quarter of trading days


@st.cache_data(show_spinner=False, max_entries=8)
def cached_walk_forward(run_id: str, levels: tuple[int, ...], _prepared: Prepared, _model: nn.Module) -> WalkForward:
    """One batched forward over the test origins; run_id (a random id per trained run) stands for its data and weights."""
    return walk_forward(_prepared, _model, levels)


def walk_forward_ui(run: Run, levels: tuple[int, ...], scores: dict[str, object], y_title: str) -> None:
    """The walk-forward section: error by step, rolling error and rolling coverage over the test origins."""
    st.subheader(tr("forecast_wf_title"))
    st.caption(tr("forecast_wf_caption"))
    walk = cached_walk_forward(run.run_id, levels, run.prepared, run.model)
    origins = len(walk.dates)
    if st.session_state.get("forecast_wf_window", 0) > origins:  # a run with fewer test origins than the last one
        st.session_state["forecast_wf_window"] = origins
    window = int(st.number_input(tr("forecast_wf_window"), min_value=1, max_value=max(origins, 1),
                                 value=min(DEFAULT_WINDOW_ORIGINS, origins), help=tr("forecast_wf_window_help"),
                                 key="forecast_wf_window"))
    labels = {who: tr(f"forecast_wf_{who}") for who in (*FORECASTERS, "step")}
    per_step = {"model": scores["per_step"], **{who: scores["baselines"][who]["per_step"] for who in FORECASTERS[1:]}}
    st.markdown(f"**{tr('forecast_wf_by_step')}**")
    st.plotly_chart(step_error_figure({who: [row["rmse"] for row in rows] for who, rows in per_step.items()},
                                      labels, f"{tr('forecast_wf_rmse')} ({y_title})"), key="forecast_wf_by_step")
    st.markdown(f"**{tr('forecast_wf_over_time')}**")
    st.plotly_chart(localize_dates(error_over_time_figure(walk.dates, walk.rolling_rmse(window), labels,
                                                          f"{tr('forecast_wf_rmse')} ({y_title})"), lang()),
                    key="forecast_wf_over_time")
    st.markdown(f"**{tr('forecast_wf_coverage')}**")
    coverage_labels = {"empirical": tr("forecast_wf_empirical"), "nominal": tr("forecast_wf_nominal"),
                       "y": tr("forecast_wf_coverage_y")}
    st.plotly_chart(localize_dates(coverage_over_time_figure(walk.dates, walk.rolling_coverage(window),
                                                             coverage_labels), lang()), key="forecast_wf_coverage")
    st.caption(tr("forecast_wf_no_refit"))
