"""AppTest of the Many series page: the default basket checked as one dataset, trained as a job, and judged per series
beside the panel's verdict, in both languages."""

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lstm_core.i18n import t
from tests.helpers import wait_for

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def basket_page():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    at.switch_page("pages/basket.py").run()
    assert not at.exception
    yield at
    if "job" in at.session_state:
        at.session_state["job"].stop()


def number(at: AppTest, label: str):
    return next(w for w in at.number_input if w.label == label)


def test_the_default_basket_is_checked_as_one_dataset_and_trained_per_series_and_as_a_panel(basket_page):
    at = basket_page
    picker = next(w for w in at.multiselect if w.label == "Series")
    assert picker.value == ["sample:MSFT", "sample:NVDA", "sample:SP500", "sample:NASDAQ"]
    summary = at.dataframe[0].value
    assert list(summary["Series"]) == ["MSFT (sample)", "NVDA (sample)", "SP500 (sample)", "NASDAQ (sample)"]
    assert list(summary["Rows"]) == [7983, 4012, 5031, 5031]
    assert any("They share 4,012 days (1999-01-22 to 2014-12-31)" in c.value for c in at.caption)
    assert any("No basket has been trained" in i.value for i in at.info)
    number(at, "Max epochs").set_value(1)
    next(b for b in at.button if b.label == "Train on the basket").click().run()
    assert not at.exception and not at.error
    job = at.session_state["job"]
    wait_for(lambda: job.finished, timeout=180)
    at.run()
    assert not at.exception and job.status == "done"
    saved = at.session_state["basket_result"][0]
    assert saved.names == ("MSFT (sample)", "NVDA (sample)", "SP500 (sample)", "NASDAQ (sample)")
    from lstm_core.store.workspace import Workspace

    kept, _ = Workspace.open(at.session_state["workspace_id"], 10).load_basket()  # a refresh brings it back
    assert kept.run_id == saved.run_id and kept.to_json() == saved.to_json()
    panel_verdict = [m.value for m in (*at.success, *at.info, *at.warning) if m.value.startswith("Over the test days of all 4")]
    assert len(panel_verdict) == 1
    lead = panel_verdict[0].splitlines()
    linear = saved.panel["pooled_linear"]
    said = "significantly better" if saved.judgement().standing("pooled_linear") == "beats" else "has not shown an edge"
    assert lead[-1].startswith(f"Against the pooled linear model on the same inputs it {said}: RMSE")
    assert f"{linear.rmse:.4g}" in lead[-1]
    tables = [d.value for d in at.dataframe]
    panel, per_series = tables[1], tables[2]
    assert float(panel.loc["LSTM model", "RMSE"]) == pytest.approx(saved.panel["model"].rmse, abs=1e-4)
    pooled = next(i for i in panel.index if i.startswith("Pooled linear model"))
    assert float(panel.loc[pooled, "RMSE"]) == pytest.approx(linear.rmse, abs=1e-4)
    assert panel.loc[pooled, "p, Holm-adjusted"].startswith("p ")  # a baseline of the Holm family
    assert list(per_series["Series"]) == list(saved.names)
    assert list(per_series["Test windows"]) == [saved.test_windows[n] for n in saved.names]
    assert list(per_series["Verdict"]) == [t(f"outcome_{saved.judgement(n).outcome}", "en") for n in saved.names]
    columns = list(per_series.columns)  # the verdict first, then a skill that names what it is measured against
    assert columns.index("Verdict") + 1 == columns.index("Skill vs reference %") == len(columns) - 1
    skill_help = json.loads(at.dataframe[2].proto.columns)["Skill vs reference %"]["help"]
    assert skill_help.startswith("1 − the model's test RMSE / its reference's: persistence") and "Not the verdict" in skill_help
    for name, model_rmse in zip(saved.names, per_series["LSTM model, RMSE"], strict=True):
        assert model_rmse == pytest.approx(saved.series[name]["model"].rmse, abs=1e-4)
    assert [b.label for b in at.get("download_button")] == ["Download the basket bundle (.zip)"]

    at.switch_page("pages/train.py").run()  # a basket's run is not one of the one-series runs
    assert not at.exception and not at.session_state["runs"]
    links = [link.proto.label for link in at.get("page_link")]
    assert t("train_basket_results", "en") in links  # where its results are
    at.session_state["lang"] = "zh"
    at.switch_page("pages/basket.py").run()
    assert not at.exception
    assert any(m.value.startswith("在全部 4 条序列的测试日上") for m in (*at.success, *at.info, *at.warning))
    assert at.dataframe[2].value.columns[0] == "序列"


def test_a_basket_that_cannot_be_one_says_why_in_a_sentence(basket_page):
    at = basket_page
    next(w for w in at.multiselect if w.label == "Series").set_value(["sample:MSFT"]).run()
    assert [e.value for e in at.error] == ["A basket holds 2 to 12 series; this one has 1."]
    assert next(b for b in at.button if b.label == "Train on the basket").disabled
    assert not at.exception


def test_gates_and_forecast_read_a_baskets_series_with_the_verdict_the_basket_page_says():
    from lstm_core.basket.data import Basket
    from lstm_core.basket.run import train_basket
    from tests.helpers import TINY_BASKET, dataset, walk

    basket = Basket((dataset("a", walk(900, 1)), dataset("b", walk(800, 2, start="2015-03-02"))))
    saved = train_basket(basket, TINY_BASKET.with_(target="logvol", features=("logabsret",), horizon=5)).saved()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.session_state["basket_result"] = (saved, basket)
    at.run()
    at.switch_page("pages/basket.py").run()
    said = {m.value.splitlines()[0].strip("* "): m.value.splitlines()[1]
            for m in (*at.success, *at.info, *at.warning) if m.value.startswith("**")}
    assert set(said) == {"a", "b"}

    for page, picker in (("pages/gates.py", "gates_run"), ("pages/forecast.py", "forecast_run")):
        at.switch_page(page).run()
        assert not at.exception
        box = next(s for s in at.selectbox if s.key == picker)
        assert len(box.options) == 2  # no one-series run in this session: the basket's series alone
        for option, name, k in zip(box.options, ("a", "b"), (0, 1), strict=True):
            assert option.startswith(f"{name} · one network on 2 series · Volatility (next days) · LSTM 4×1 · ")
            assert option.endswith(f" · {saved.run_id}-{k}")
        for k, name in enumerate(("a", "b")):
            box.set_value(f"{saved.run_id}-{k}").run()
            assert not at.exception
            shown = [m.value for m in (*at.success, *at.info, *at.warning)]
            assert said[name] in shown  # the one verdict, word for word, as the Many series page says it
    # the Forecast page's walk-forward charts show the pooled linear model beside the other baselines
    import json

    charts = {c.proto.id.rsplit("-", 1)[1]: json.loads(c.proto.spec) for c in at.get("plotly_chart")}
    for chart in ("forecast_wf_by_step", "forecast_wf_over_time"):
        assert [tr["name"] for tr in charts[chart]["data"]][-1].startswith("Pooled linear model"), chart
    from lstm_core.basket.run import series_runs
    from lstm_core.evaluate import evaluate

    for name, run in zip(("a", "b"), series_runs(saved, basket), strict=True):
        # judged by the basket run's own scores: the pooled linear model in its Holm family
        assert run.scores() is saved.series[name]
        assert "pooled_linear" in [c.name for c in run.judgement().comparisons]
        # its forecasts are the ones it was scored by: scored again, every forecaster's numbers come back
        assert evaluate(run.prepared, run.outputs()).to_json() == saved.series[name].to_json()


def test_a_series_loaded_on_the_data_page_joins_a_basket_and_its_name_stays_text():
    from tests.helpers import dataset, walk

    hostile = dataset("**bold** [x](http://e.x) <b>y</b> $z$", walk(2000, 3, start="2005-01-03"))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.session_state["loaded_series"] = {hostile.name: hostile}
    at.run()
    at.switch_page("pages/basket.py").run()
    picker = next(w for w in at.multiselect if w.label == "Series")
    option = f"loaded:{hostile.name}"
    assert option in picker.options or any(hostile.name in o for o in picker.options)
    picker.set_value(["sample:MSFT", option]).run()
    assert not at.exception and not at.error
    assert list(at.dataframe[0].value["Series"]) == ["MSFT (sample)", f"{hostile.name} (CSV)"]  # a cell: text as it is
    next(w for w in at.selectbox if w.label == "Hidden units").set_value(8)
    next(w for w in at.number_input if w.label == "Max epochs").set_value(1)
    next(b for b in at.button if b.label == "Train on the basket").click().run()
    job = at.session_state["job"]
    wait_for(lambda: job.finished, timeout=120)
    at.run()
    assert not at.exception and job.status == "done"
    headings = [m.value.splitlines()[0] for m in (*at.success, *at.info, *at.warning) if m.value.startswith("**")]
    escaped = next(h for h in headings if "bold" in h)
    assert "\\*\\*bold\\*\\*" in escaped and "\\[x\\]" in escaped and "\\<b\\>" in escaped and "\\$z\\$" in escaped
    caption = next(c.value for c in at.caption if c.value.startswith("Trained on"))
    assert "\\*\\*bold\\*\\*" in caption
