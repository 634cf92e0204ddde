"""The registry of baselines: every member answers for itself, and one added through the registry alone reaches the
Train verdict, the Forecast page and the backtest's JSON without another file changing."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lstm_core import baselines
from lstm_core.baselines import BASELINES, Baseline, FitOptions, baselines_for, register, unregister
from lstm_core.baselines.base import ALL_TARGETS, repeat_steps
from lstm_core.cli import main as cli_main
from lstm_core.i18n import TABLE
from lstm_core.pipeline import Prepared
from lstm_core.runs.bundle import save_bundle
from lstm_core.runs.run import train_run
from lstm_core.targets import TARGETS, Target
from tests.helpers import TINY, baseline_outputs, tiny_frame


def test_every_target_has_its_kind_and_every_baseline_its_name_in_both_languages():
    assert set(TARGETS) == set(Target)
    for name in BASELINES:
        for lang in ("en", "zh"):
            assert f"m_{name}" in TABLE[lang], (name, lang)
    for target in Target:
        names = [b.name for b in baselines_for(target)]
        assert TARGETS[target].reference in names and "linear_ar" in names  # every target has its reference
        if target != Target.ANSWER:
            assert names[0] == "persistence"  # persistence leads every price and volatility table
    assert "seasonal_naive" not in [b.name for b in baselines_for(Target.PRICE)]  # only with a period
    assert "seasonal_naive" in [b.name for b in baselines_for(Target.PRICE, FitOptions(period=5))]


def test_the_training_mean_is_the_mean_volatility_of_the_training_targets_only():
    frame = tiny_frame("random_walk", n_days=400)
    prepared = Prepared(frame, TINY.with_(target="logvol", features=("logabsret",), window=20, horizon=5))
    forecast = np.exp(baseline_outputs(prepared, "train_mean"))  # own units: log volatility
    train = prepared.raw_targets("train")[:, 0]
    assert np.allclose(forecast, np.mean(np.exp(train)))  # one constant, from training rows alone
    poisoned = frame.copy()
    poisoned.iloc[prepared.train_rows + 10 :, 0] *= 3.0  # later prices: no training target reads them
    again = Prepared(poisoned, prepared.config)
    assert np.allclose(np.exp(baseline_outputs(again, "train_mean")), forecast[0])


def _toy_fit(data, options):
    """Persistence plus a whisker: a baseline nobody wrote a page for."""
    persistence = BASELINES["persistence"].fit(data, options)
    return lambda ends: persistence(ends) + 1e-3


@pytest.fixture
def toy(monkeypatch):
    """A baseline added through the registry (and its name through the table) for one test."""
    register(Baseline("toy", ALL_TARGETS, _toy_fit))
    for lang, name in (("en", "Toy baseline"), ("zh", "玩具基线")):
        monkeypatch.setitem(TABLE[lang], "m_toy", name)
    yield "toy"
    unregister("toy")


@pytest.fixture
def toy_run(toy):
    return train_run(tiny_frame(n_days=400), "sine", TINY.with_(steps=2, epochs=1))


def test_a_baseline_registered_once_reaches_the_verdict_the_forecast_page_and_the_backtest(toy_run, open_app, tmp_path,
                                                                                          capsys):
    run = toy_run
    assert "toy" in run.metrics and run.metrics["toy"].rmse > 0
    # the Train page's table and verdict read the run's metrics
    at = open_app("pages/train.py")
    at.session_state["runs"] = [run]
    at.run()
    assert not at.exception
    table = at.dataframe[0].value
    assert "Toy baseline" in list(table.index)
    # the Forecast page's error-by-step chart has a line for it
    at.switch_page("pages/forecast.py").run()
    assert not at.exception
    charts = [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]
    assert "Toy baseline" in {trace["name"] for trace in charts[3]["data"]}
    # and the command line's backtest JSON scores it beside the others
    bundle = save_bundle(run, tmp_path / "b")
    assert cli_main(["backtest", "--bundle", str(bundle)]) == 0
    payload = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    toy_rmse = payload["baselines"]["toy"]["per_step"][0]["rmse"]
    assert toy_rmse == pytest.approx(run.metrics["toy"].rmse, rel=1e-6)


def test_a_bundle_naming_a_baseline_this_server_does_not_know_is_refused(toy_run, tmp_path):
    from lstm_core.errors import LabError
    from lstm_core.runs.bundle import load_bundle

    bundle = save_bundle(toy_run, tmp_path / "b")
    unregister("toy")
    with pytest.raises(LabError) as err:
        load_bundle(bundle)
    assert err.value.key == "err_bundle_field" and err.value.params["field"] == "metrics"


def test_repeat_steps_and_the_registry_helpers():
    assert repeat_steps(np.array([1.0, 2.0]), 3).tolist() == [[1, 1, 1], [2, 2, 2]]
    assert baselines.PERSISTENCE == "persistence"
