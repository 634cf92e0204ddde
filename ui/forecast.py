"""Widget groups of the Forecast page: the run and levels, the forecast past the last day, its coverage check and the
walk-forward backtest, all read from one cached report per run and levels."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import streamlit as st

from lstm_core.baselines import PERSISTENCE
from lstm_core.forecast import (
    DEFAULT_LEVELS,
    FORECAST_BOUNDS,
    Backtest,
    Forecast,
    IntervalKind,
    WalkForward,
    compare_widths,
    history,
    report,
    walk_forward,
)
from lstm_core.gates.explain import explain_last
from lstm_core.plots.forecast import (
    calibration_figure,
    coverage_over_time_figure,
    error_over_time_figure,
    forecast_figure,
    step_error_figure,
)
from lstm_core.plots.gates import attribution_figure
from lstm_core.plots.locale import localize_dates
from lstm_core.runs.run import Run
from ui.results import forecaster_label, verdict_lead_ui
from ui.runs import pickable_runs, run_picker_ui
from ui.session import kept
from ui.text import lang, tr

LEVEL_CHOICES = (50, 80, 90, 95, 99)
TRADING_DAYS_A_MONTH = 21
DEFAULT_WINDOW_ORIGINS = 63  # about a quarter of trading days


@dataclass(frozen=True)
class ForecastReport:
    """Everything the page shows for one run at some levels, computed once from the run's cached forecasts."""

    ahead: dict[IntervalKind, Forecast]  # the forecast past the last day, with each kind of interval
    backtest: Backtest
    walk: WalkForward


def forecast_report(run: Run, levels: tuple[int, ...]) -> ForecastReport:
    """The run's report at ``levels``, made once per run (a run shared by a class is reported once for all of them; a
    slider move recomputes nothing)."""

    def build() -> ForecastReport:
        outputs = run.outputs()  # the model's and baselines' forecasts, made once per run
        ahead, scores = report(run.prepared, run.model, outputs, levels)
        return ForecastReport(ahead, scores, walk_forward(run.prepared, outputs, levels))

    return run.memo(("forecast_report", levels), build)


def pick_ui() -> tuple[Run, tuple[int, ...], int] | None:
    """The run, the interval levels and the months of history to show; None (with a sentence) when there is nothing."""
    if not pickable_runs():
        st.info(tr("forecast_no_run"), icon=":material/info:")
        return None
    cols = st.columns([2, 2, 1], vertical_alignment="bottom")
    run = run_picker_ui("forecast_run", tr("forecast_pick_run"), cols[0])
    if not run.prepared.target_kind.forecasts_ahead:  # a memory task: nothing comes after its last sequence, and
        st.info(tr("err_forecast_not_for_target", target=run.config.target), icon=":material/info:")
        return None  # no interval or history controls that would do nothing
    levels = tuple(sorted(cols[1].pills(tr("forecast_levels"), LEVEL_CHOICES, selection_mode="multi",
                                        format_func=lambda v: f"{v} %",
                                        **kept("forecast_levels", list(DEFAULT_LEVELS),
                                               lambda v: isinstance(v, list) and set(v) <= set(LEVEL_CHOICES)))))
    bound = FORECAST_BOUNDS["months"]
    months = cols[2].number_input(tr("forecast_months"), **bound.widget(),
                                  **kept("forecast_months", 6, lambda v: bound.low <= v <= bound.high))
    if not levels:
        st.info(tr("forecast_pick_levels"), icon=":material/info:")
        return None
    return run, levels, int(months)


def verdict_line_ui(run: Run) -> None:
    """The run's judgement, as the Train page leads with it."""
    verdict_lead_ui(run)


def interval_kind_ui(result: ForecastReport) -> IntervalKind:
    """Which intervals to draw: those that pass their own check on the test period by default (the adaptive ones where
    the split ones are flagged), the other kind a click away; each option says whether its check flagged it."""
    scores = result.backtest
    kinds = [k for k in IntervalKind if k is IntervalKind.SPLIT or scores.adaptive is not None]

    def label(kind: IntervalKind) -> str:
        flagged = [level for level in scores.levels if scores.interval_kind(kind).flagged(level)]
        check = tr("forecast_kind_flagged", levels=", ".join(f"{lv} %" for lv in flagged)) if flagged else tr(
            "forecast_kind_passes")
        return f"{tr(f'forecast_kind_{kind}')} ({check})"

    recommended = scores.recommended
    picked = st.segmented_control(tr("forecast_kind"), kinds, format_func=label, required=True,
                                  help=tr("forecast_kind_help"),
                                  **kept(f"forecast_kind_{recommended}", recommended, lambda v: v in kinds))
    return IntervalKind(picked)


def ahead_ui(run: Run, result: ForecastReport, months: int, kind: IntervalKind) -> None:
    """History with the forecast and its bands (of ``kind``), then the forecast as a table."""
    target = run.prepared.target_kind
    dates, values = history(run.prepared, months * TRADING_DAYS_A_MONTH)
    labels = {key: tr(f"forecast_{key}") for key in ("history", "median", "persistence")}
    labels["band"] = tr(f"forecast_band_{kind}")
    ahead = result.ahead[kind]
    fig = forecast_figure(dates, values, ahead, labels, tr(target.forecast_axis_key))
    st.plotly_chart(localize_dates(fig, lang()), key="forecast_chart")
    st.subheader(tr("forecast_table"))
    table = {tr("forecast_col_date"): [d.strftime("%Y-%m-%d") for d in ahead.dates],
             tr("forecast_col_median"): ahead.median.round(target.digits)}
    for level, (lower, upper) in ahead.intervals.items():
        table[tr("forecast_col_lower", level=level)] = lower.round(target.digits)
        table[tr("forecast_col_upper", level=level)] = upper.round(target.digits)
    table[tr("forecast_col_persistence")] = ahead.persistence.round(target.digits)
    st.dataframe(pd.DataFrame(table), hide_index=True)


def drivers_ui(run: Run) -> None:
    """Which days drove the forecast past the last day: integrated gradients over the window that ends on it."""
    st.subheader(tr("forecast_drivers_title"))
    found, dates = run.memo("explain_last", lambda: explain_last(run.model, run.prepared))
    labels = {"title": tr("gates_attr_title"), "y": tr("gates_attr_axis"), "x": tr("gates_axis_date")}
    names = [tr(f"features_{f}") for f in run.config.features]
    st.plotly_chart(localize_dates(attribution_figure(found.attribution, list(dates), names, labels=labels), lang()),
                    key="forecast_drivers")
    change = found.prediction - found.baseline_prediction
    st.caption(tr("gates_attr_caption", pred=f"{found.prediction:.3f}", base=f"{found.baseline_prediction:.3f}",
                  change=f"{change:.3f}", total=f"{found.attribution.sum():.3f}", gap=f"{100 * found.gap:.2f}"))


def coverage_ui(run: Run, result: ForecastReport) -> None:
    """Both kinds of interval checked on the test period (nominal against empirical, with the interval of that figure),
    and whether the model's bands are narrower than the random walk's, said only of a run that learned something."""
    scores = result.backtest
    st.subheader(tr("forecast_coverage_title"))
    st.caption(tr("forecast_coverage_caption", origins=f"{scores.origins:,}", calibration=f"{scores.calibration_windows:,}"))
    kinds = [k for k in IntervalKind if k is IntervalKind.SPLIT or scores.adaptive is not None]
    for kind in kinds:
        score = scores.interval_kind(kind)
        for level, (low, high) in score.coverage_interval.items():
            flagged = score.flagged(level)
            line = tr("forecast_check_line", kind=tr(f"forecast_kind_{kind}"), level=level,
                      coverage=score.coverage[level], low=low, high=high)
            if flagged:
                st.warning(line + " " + tr("forecast_check_flagged", level=level), icon=":material/warning:")
            else:
                st.markdown(f":material/check: {line} {tr('forecast_check_passes', level=level)}")
    st.caption(tr("forecast_coverage_why"))
    st.caption(tr("forecast_adaptive_why"))
    cal_labels = {key: tr(f"forecast_cal_{key}") for key in ("model", "persistence", "ideal", "nominal", "empirical")}
    st.plotly_chart(calibration_figure(scores.model.coverage, scores.scores[PERSISTENCE].coverage, cal_labels),
                    key="forecast_calibration")
    if not run.judgement().learned:  # no page says a model that learned nothing knows anything
        st.info(tr("forecast_widths_learned_nothing"), icon=":material/block:")
    else:
        for c in compare_widths(scores):
            params = dict(level=c.level, model_coverage=c.model_coverage, persistence_coverage=c.persistence_coverage)
            if c.narrower:
                st.success(tr("forecast_narrower", percent=f"{100 * (1 - c.ratio):.0f}", **params), icon=":material/check:")
            elif c.comparable:
                st.info(tr("forecast_not_narrower", width_ratio=c.ratio, **params), icon=":material/info:")
            else:
                st.info(tr("forecast_widths_apart", width_ratio=c.ratio, **params), icon=":material/info:")
    with st.expander(tr("forecast_by_year")):
        by_year = scores.model.coverage_by_year
        years = sorted({year for values in by_year.values() for year in values})
        st.dataframe(pd.DataFrame({tr("forecast_col_year"): [str(y) for y in years],
                                   **{tr("forecast_col_coverage", level=level): [round(by_year[level][y], 1) for y in years]
                                      for level in by_year}}), hide_index=True)
    with st.expander(tr("forecast_per_step")):
        st.dataframe(pd.DataFrame([{
            tr("forecast_col_step"): row.step, tr("m_rmse"): round(row.rmse, 4), tr("m_mae"): round(row.mae, 4),
            **{tr("forecast_col_coverage", level=level): round(s.coverage, 1) for level, s in row.intervals.items()},
        } for row in scores.model.per_step]), hide_index=True)


def walk_forward_ui(run: Run, result: ForecastReport) -> None:
    """The walk-forward section: error by step, rolling error and rolling coverage over the test origins."""
    st.subheader(tr("forecast_wf_title"))
    st.caption(tr("forecast_wf_caption"))
    walk, scores = result.walk, result.backtest
    y_title = f"{tr('forecast_wf_rmse')} ({tr(run.prepared.target_kind.forecast_axis_key)})"
    origins = len(walk.dates)
    window = int(st.number_input(tr("forecast_wf_window"), min_value=1, max_value=max(origins, 1),
                                 help=tr("forecast_wf_window_help"),
                                 **kept("forecast_wf_window", min(DEFAULT_WINDOW_ORIGINS, origins),
                                        lambda v: 1 <= v <= origins)))
    labels = {name: forecaster_label(name, run) for name in scores.scores} | {"step": tr("forecast_wf_step")}
    st.markdown(f"**{tr('forecast_wf_by_step')}**")
    st.plotly_chart(step_error_figure({name: [row.rmse for row in s.per_step] for name, s in scores.scores.items()},
                                      labels, y_title), key="forecast_wf_by_step")
    st.markdown(f"**{tr('forecast_wf_over_time')}**")
    st.plotly_chart(localize_dates(error_over_time_figure(walk.dates, walk.rolling_rmse(window), labels, y_title),
                                   lang()), key="forecast_wf_over_time")
    st.markdown(f"**{tr('forecast_wf_coverage')}**")
    coverage_labels = {"empirical": tr("forecast_wf_empirical"), "nominal": tr("forecast_wf_nominal"),
                       "y": tr("forecast_wf_coverage_y")}
    st.plotly_chart(localize_dates(coverage_over_time_figure(walk.dates, walk.rolling_coverage(window),
                                                             coverage_labels), lang()), key="forecast_wf_coverage")
    st.caption(tr("forecast_wf_no_refit"))
