"""AppTest of the Many series page: the default basket checked as one dataset, trained as a job, and judged per series
beside the panel's verdict, in both languages."""

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
    for name, model_rmse in zip(saved.names, per_series["LSTM model, RMSE"], strict=True):
        assert model_rmse == pytest.approx(saved.series[name]["model"].rmse, abs=1e-4)
    assert [b.label for b in at.get("download_button")] == ["Download the basket bundle (.zip)"]

    at.switch_page("pages/train.py").run()  # a basket's run is not one of the one-series runs
    assert not at.exception and not at.session_state["runs"]
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
