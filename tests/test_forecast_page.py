"""The Forecast page under AppTest, and its pure figure builders."""

import json

import numpy as np
import pandas as pd
import pytest

from lstm_core import forecast
from lstm_core.errors import LabError
from lstm_core.plots.forecast import (
    calibration_figure,
    coverage_over_time_figure,
    error_over_time_figure,
    forecast_figure,
    step_error_figure,
)
from lstm_core.runs.run import train_run
from tests.helpers import TINY, tiny_frame

PAGE = "pages/forecast.py"


@pytest.fixture(scope="module")
def run():
    return train_run(tiny_frame(n_days=500), "synthetic sine (seed 0)", TINY.with_(steps=5, horizon=1, epochs=2))


def test_forecast_figure_shades_one_band_per_level_widest_first(run):
    calibration = forecast.calibrate(run.prepared, run.outputs(), (80, 95))
    ahead = forecast.forecast_ahead(run.prepared, run.model, calibration)
    dates, values = forecast.history(run.prepared, 60)
    labels = {"history": "H", "median": "M", "persistence": "P", "band": "{level} % band"}
    fig = forecast_figure(dates, values, ahead, labels, "Price")
    fills = [trace for trace in fig.data if trace.fill == "toself"]
    assert [trace.name for trace in fills] == ["95 % band", "80 % band"]
    upper95 = np.asarray(fills[0].y[:5], dtype=float)  # polygon: 5 upper ends, 5 lower ends back
    assert np.allclose(upper95, ahead.intervals[95][1])
    assert len(dates) == 60 and values[-1] == run.prepared.close[-1]
    median = next(trace for trace in fig.data if trace.name == "M")
    assert np.allclose(np.asarray(median.y, dtype=float), ahead.median)
    # nothing but the history is drawn on its last day: forecasts start at their own first date
    assert all(dates[-1] not in list(trace.x) for trace in fig.data[1:])


def test_a_single_step_is_a_point_with_a_whisker_per_level(run):
    """The reported fan: one step drew a line and a widening band from the last known day, as if the days between
    had forecasts."""
    calibration = forecast.calibrate(run.prepared, run.outputs(), (80, 95))
    ahead = forecast.forecast_ahead(run.prepared, run.model, calibration, steps=1)
    dates, values = forecast.history(run.prepared, 60)
    fig = forecast_figure(dates, values, ahead, {"history": "H", "median": "M", "persistence": "P",
                                                 "band": "{level} % band"}, "Price")
    assert not [trace for trace in fig.data if trace.fill == "toself"]
    median = next(trace for trace in fig.data if trace.name == "M")
    assert median.mode == "markers" and list(median.x) == list(ahead.dates) and len(median.x) == 1
    whiskers = {trace.name: trace.error_y for trace in fig.data if trace.error_y.array is not None}
    assert list(whiskers) == ["95 % band", "80 % band"]
    for level in (80, 95):
        lower, upper = ahead.intervals[level]
        bar = whiskers[f"{level} % band"]
        assert np.allclose([ahead.median[0] + bar.array[0], ahead.median[0] - bar.arrayminus[0]], [upper[0], lower[0]])
    assert whiskers["95 % band"].array[0] > whiskers["80 % band"].array[0] > 0
    assert next(trace for trace in fig.data if trace.name == "P").mode == "markers"


def test_calibration_figure_plots_nominal_against_empirical():
    fig = calibration_figure({"80": 78.5, "95": 96.0}, {"80": 81.0, "95": 94.0},
                             {"model": "m", "persistence": "p", "ideal": "i", "nominal": "n", "empirical": "e"})
    model = next(trace for trace in fig.data if trace.name == "m")
    assert list(model.x) == [80, 95] and list(model.y) == [78.5, 96.0]
    assert fig.layout.yaxis.range == (60, 100)  # twenty below the lowest level
    low = calibration_figure({"80": 55.5, "95": 84.7}, {"80": 41.2, "95": 90.0}, {k: k for k in ("model", "persistence",
                             "ideal", "nominal", "empirical")})  # bands that cover far less than they claim
    assert low.layout.yaxis.range[0] <= 41.2 - 5 and low.layout.yaxis.range == low.layout.xaxis.range


def _backtest(model_rows, persistence_rows, interval=(70.0, 90.0)):
    """A backtest of two steps at the 80 % level: (width, coverage) of each step, for the model and persistence, and
    the model's coverage interval."""

    def score(rows, bounds):
        return forecast.ForecasterScore(tuple(
            forecast.StepScore(k + 1, 0.0, 0.0, None, {80: forecast.IntervalScore(coverage, width, 0.0, 0.0)})
            for k, (width, coverage) in enumerate(rows)), coverage_interval={80: bounds})

    return forecast.Backtest(origins=10, steps=2, calibration_windows=10, refits=0, seconds=0.0,
                             scores={"model": score(model_rows, interval),
                                     "persistence": score(persistence_rows, (75.0, 85.0))})


def test_width_comparison_and_miscalibration_flags():
    scores = _backtest([(2.0, 79.0), (4.0, 81.0)], [(4.0, 80.0), (4.0, 80.0)])
    (c,) = forecast.compare_widths(scores)
    assert c.model_width == 3.0 and c.persistence_width == 4.0 and c.ratio == 0.75 and c.narrower
    assert forecast.miscalibrated(scores) == []
    short = _backtest([(2.0, 69.0), (4.0, 71.0)], [(4.0, 80.0), (4.0, 80.0)], interval=(64.0, 76.0))
    assert forecast.miscalibrated(short) == [(80, 70.0, 64.0, 76.0)]
    noisy = _backtest([(2.0, 69.0), (4.0, 71.0)], [(4.0, 80.0), (4.0, 80.0)], interval=(58.0, 83.0))
    assert forecast.miscalibrated(noisy) == []  # 70 % is far from 80 %, but not beyond what overlap makes noise
    assert not forecast.compare_widths(short)[0].narrower  # narrower, but by covering less: no fair win


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_page_shows_the_forecast_the_table_and_the_coverage_check(open_app, run, lang):
    at = open_app(None, lang)
    at.session_state["runs"] = [run]
    at.switch_page(PAGE).run()
    assert not at.exception
    charts = [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]
    # the forecast, which days drove it, calibration, then error by step, rolling error, rolling coverage
    assert len(charts) == 6
    drivers = charts[1]["data"]  # one bar per day of the window that ends on the last day, per input
    assert len(drivers) == run.config.n_features and len(drivers[0]["x"]) == run.config.window
    assert drivers[0]["x"][-1].startswith(str(run.prepared.dates[-1].date()))
    charts = [charts[0], *charts[2:]]
    by_step = {trace["name"]: trace["y"] for trace in charts[2]["data"]}
    # the model and every baseline of a log-return target, one line each
    assert len(by_step) == 5 and all(len(y) == 5 for y in by_step.values())
    nominal = [trace["y"] for trace in charts[4]["data"] if trace["line"].get("dash") == "dot"]
    assert nominal == [[80, 80], [95, 95]]
    fills = [trace for trace in charts[0]["data"] if trace.get("fill") == "toself"]
    assert len(fills) == 2
    table = at.dataframe[0].value
    assert len(table) == 5 and table.shape[1] == 2 + 2 * 2 + 1  # date, model, 2 levels x (low, high), persistence
    assert len(at.success) + len(at.info) >= 2  # one width sentence per level


def test_page_without_runs_says_where_to_start(open_app):
    at = open_app(None, "en")
    at.session_state["runs"] = []
    at.switch_page(PAGE).run()
    assert not at.exception
    assert "Train a model" in at.info[0].value


def test_trailing_mean_by_hand():
    assert np.allclose(forecast.trailing_mean(np.array([1.0, 2.0, 3.0, 6.0]), 2), [1.0, 1.5, 2.5, 4.5])
    assert np.allclose(forecast.trailing_mean(np.array([1.0, 2.0, 3.0]), 10), [1.0, 1.5, 2.0])
    with pytest.raises(LabError):
        forecast.trailing_mean(np.ones(3), 0)


def test_walk_forward_spreads_the_backtest_over_its_origins(run):
    levels = (80, 95)
    scores = forecast.backtest(run.prepared, run.outputs(), levels)
    walk = forecast.walk_forward(run.prepared, run.outputs(), levels)
    origins = scores.origins
    assert len(walk.dates) == origins and walk.dates[-1] == run.prepared.dates[run.prepared.split_ends["test"][-1]]
    # the mean of the per-origin squared errors is the mean over steps of each step's squared RMSE
    assert set(walk.squared_errors) == set(scores.scores)
    for who, errors in walk.squared_errors.items():
        assert errors.shape == (origins,)
        assert np.isclose(errors.mean(), np.mean([row.rmse ** 2 for row in scores.scores[who].per_step]))
    for level in levels:
        assert np.isclose(100 * walk.hits[level].mean(), scores.model.coverage[level])
    # with one window covering every origin, the last rolling value is the whole test period's
    assert np.isclose(walk.rolling_coverage(origins)[80][-1], scores.model.coverage[80])
    assert np.isclose(walk.rolling_rmse(origins)["model"][-1] ** 2, walk.squared_errors["model"].mean())


def test_step_error_figure_has_one_line_per_forecaster():
    labels = {"model": "M", "persistence": "P", "linear_ar": "AR", "step": "s"}
    steps = list(range(1, 9))
    fig = step_error_figure({"model": [1.0 + k for k in steps], "persistence": [1.5 + k for k in steps]}, labels, "RMSE")
    assert [trace.name for trace in fig.data] == ["M", "P"] and {trace.type for trace in fig.data} == {"scatter"}
    assert list(fig.data[0].x) == steps and list(fig.data[1].y) == [1.5 + k for k in steps]


def test_few_steps_of_error_are_labelled_bars_not_lone_dots():
    labels = {"model": "M", "persistence": "P", "linear_ar": "AR", "step": "s"}
    fig = step_error_figure({"model": [0.0123], "persistence": [0.0131], "linear_ar": [0.0127]}, labels, "RMSE")
    assert [(trace.type, trace.name) for trace in fig.data] == [("bar", "M"), ("bar", "P"), ("bar", "AR")]
    assert [trace.text[0] for trace in fig.data] == ["0.0123", "0.0131", "0.0127"]
    assert fig.layout.barmode == "group" and fig.layout.yaxis.rangemode == "tozero"


def test_over_time_figures_plot_the_rolling_values_and_the_nominal_levels():
    dates = pd.bdate_range("2024-01-01", periods=4)
    labels = {"model": "M", "persistence": "P", "linear_ar": "AR"}
    fig = error_over_time_figure(dates, {"model": np.array([1.0, 2.0, 3.0, 4.0])}, labels, "RMSE")
    assert fig.data[0].name == "M" and list(fig.data[0].y) == [1.0, 2.0, 3.0, 4.0]
    fig = coverage_over_time_figure(dates, {95: np.array([100.0, 90.0, 93.0, 95.0]), 80: np.full(4, 75.0)},
                                    {"empirical": "{level} emp", "nominal": "{level} nom", "y": "%"})
    assert [trace.name for trace in fig.data] == ["80 emp", "80 nom", "95 emp", "95 nom"]
    assert list(fig.data[3].y) == [95, 95] and list(fig.data[3].x) == [dates[0], dates[-1]]
    assert list(fig.data[2].y) == [100.0, 90.0, 93.0, 95.0]
