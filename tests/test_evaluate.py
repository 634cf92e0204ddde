"""Tests of lstm_core.evaluate: metric values by hand, baselines for any horizon, skill."""

import numpy as np
import pandas as pd
import pytest

from lstm_core.config import RunConfig
from lstm_core.evaluate import collect_outputs, diebold_mariano_p, evaluate, metrics
from lstm_core.pipeline import Prepared


def test_metrics_by_hand():
    actual = np.array([10.0, 12.0, 9.0, 11.0])
    predicted = np.array([11.0, 11.0, 10.0, 11.0])
    last = np.array([10.5, 10.0, 10.0, 10.0])
    m = metrics(actual, predicted, last)
    assert m["rmse"] == pytest.approx(np.sqrt((1 + 1 + 1 + 0) / 4))
    assert m["mae"] == pytest.approx(0.75)
    assert m["mape"] == pytest.approx(100 * np.mean([1 / 10, 1 / 12, 1 / 9, 0]))
    # moves: up/up (ok), up/up (ok), 0 -> skipped, up/up (ok)... third predicted 10 vs last 10 = no move
    assert m["direction_acc"] == pytest.approx(100 * 2 / 3)


def test_metrics_survive_zeros_and_negatives():
    actual = np.array([0.0, -1.0, 2.0])
    m = metrics(actual, np.array([0.5, -1.5, 2.0]), np.array([0.0, 0.0, 1.0]))
    assert m["mape"] is None  # a series that touches or crosses zero has no meaningful percentage error
    assert np.isfinite(m["rmse"])
    assert metrics(np.zeros(3), np.ones(3), np.zeros(3))["mape"] is None
    assert metrics(np.array([1.0, 2.0, 4.0]), np.array([1.5, 2.0, 4.0]), np.ones(3))["mape"] == pytest.approx(100 * 0.5 / 3)
    assert metrics(np.ones(3), np.ones(3), np.ones(3))["direction_acc"] is None  # never moves


def test_direction_leaves_out_flat_days():
    last = np.array([10.0, 10.0, 10.0, 10.0])
    actual = np.array([11.0, 10.0, 9.0, 12.0])  # the second day is flat: it has no direction to get right
    predicted = np.array([10.5, 9.0, 9.5, 9.0])  # right, (flat day), right, wrong
    assert metrics(actual, predicted, last)["direction_acc"] == pytest.approx(100 * 2 / 3)


@pytest.mark.parametrize("horizon", [1, 3])
def test_baselines_and_skill(horizon):
    n = 300
    close = 100 + np.arange(n, dtype=float)  # a straight line: drift is perfect, persistence lags by `horizon`
    frame = pd.DataFrame({"Close": close}, index=pd.bdate_range("2020-01-01", periods=n))
    p = Prepared(frame, RunConfig(target="price", features=("close",), window=10, horizon=horizon))
    perfect = p.raw_targets("test")  # a price target's own units are prices
    outputs = collect_outputs(p, {"val": p.raw_targets("val"), "cal": p.raw_targets("cal"), "test": perfect})
    base = {name: outputs.readable(p, "test", name) for name in outputs.baselines}
    np.testing.assert_allclose(base["persistence"], p.actual_values("test") - horizon)
    np.testing.assert_allclose(base["drift"], p.actual_values("test"))
    np.testing.assert_allclose(base["moving_average"], p.actual_values("test") - horizon - 2)
    np.testing.assert_allclose(base["linear_ar"], p.actual_values("test"), rtol=1e-6)  # a line is an AR(1) with drift
    table = evaluate(p, outputs)
    assert table["persistence"].rmse == pytest.approx(horizon)
    assert table["model"].skill == pytest.approx(1.0)
    worse = evaluate(p, outputs.with_model_test(perfect + 2 * horizon))
    assert worse["model"].skill == pytest.approx(-1.0)


def test_diebold_mariano():
    rng = np.random.default_rng(0)
    noise = rng.standard_normal(2000)
    assert diebold_mariano_p(noise, noise * 1.0) is None  # identical errors: nothing to test
    same = diebold_mariano_p(noise, rng.standard_normal(2000))
    assert same > 0.01  # equally good forecasts: no evidence of a difference
    better = diebold_mariano_p(0.5 * noise, noise)
    assert better < 1e-6
    # against a hand computation for horizon 1
    a, b = np.array([1.0, 2.0, 0.5, 1.5]), np.array([1.0, 1.0, 1.0, 1.0])
    d = a**2 - b**2
    stat = d.mean() / np.sqrt(d.var() / 4) * np.sqrt(3 / 4)  # Harvey-Leybourne-Newbold: (n + 1 - 2h + h(h-1)/n) / n
    # Student's t with 3 degrees of freedom has a closed form: P(|T| > t) = 1 - 2/pi (atan(u) + u / (1 + u^2)), u = t/sqrt 3
    u = abs(stat) / np.sqrt(3)
    assert diebold_mariano_p(a, b) == pytest.approx(1 - 2 / np.pi * (np.arctan(u) + u / (1 + u**2)), rel=1e-9)


@pytest.mark.parametrize("t,df,p", [(2.228, 10, 0.05), (4.303, 2, 0.05), (2.750, 30, 0.01), (1.960, 100_000, 0.05)])
def test_student_t_p_values_match_the_printed_tables(t, df, p):
    from lstm_core.evaluate import student_t_two_sided_p

    assert student_t_two_sided_p(t, df) == pytest.approx(p, abs=2e-4)


def test_diebold_mariano_carries_the_harvey_leybourne_newbold_correction():
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal(60), 1.2 * rng.standard_normal(60)
    d = a**2 - b**2
    centred = d - d.mean()
    variance = centred @ centred / 60 + sum(2 * (centred[k:] @ centred[:-k]) / 60 for k in range(1, 5))
    stat = d.mean() / np.sqrt(variance / 60) * np.sqrt((60 + 1 - 10 + 5 * 4 / 60) / 60)
    from lstm_core.evaluate import student_t_two_sided_p

    assert diebold_mariano_p(a, b, horizon=5) == pytest.approx(student_t_two_sided_p(stat, 59), rel=1e-12)
