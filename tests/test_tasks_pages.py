"""AppTest of a memory task through the pages: generated on Data, followed by the Train form, judged against the
training mean, refused by Forecast in one sentence, and read unit by unit on Gates (its roles and the search)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from lstm_core.config import RunConfig
from lstm_core.data import TaskKind, load_sample, load_task
from lstm_core.errors import LabError
from lstm_core.i18n import t
from lstm_core.runs.run import train_run
from tests.helpers import plotly_array, wait_for
from ui.settings import in_form_labels

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def task_run():
    """The test_tasks one: a 4-unit LSTM that solves remember at length 60 (1.6 s on one thread)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    ds = load_task(TaskKind.REMEMBER, length=60, sequences=800, seed=0)
    run = train_run(ds.frame, ds.name, RunConfig.for_target(**ds.settings(), epochs=100, patience=100, seed=0))
    torch.set_num_threads(threads)
    return ds, run


def page(path: str, lang: str = "en", **state) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.session_state["lang"] = lang
    at.run()
    for key, value in state.items():
        at.session_state[key] = value
    at.switch_page(path).run()
    assert not at.exception, at.exception[0].message if at.exception else ""
    return at


def specs(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def test_data_generates_a_task_and_the_train_form_follows_it_and_back():
    at = page("pages/data.py")
    at.segmented_control(key="data_source").set_value("task").run()
    at.number_input(key="task_length").set_value(30)
    at.number_input(key="task_sequences").set_value(200)
    at.button(key="task_load").click().run()
    assert not at.exception
    ds = at.session_state["dataset"]
    assert ds.task is not None and (ds.task.length, ds.task.sequences) == (30, 200)
    chart = next(s for s in specs(at) if len(s["data"]) == 9)  # 3 sequences x (value, marker, answer)
    answer = plotly_array(chart["data"][2]["y"]).astype(float)
    assert answer[-1] == pytest.approx(ds.frame["Answer"].iloc[29])
    assert any("200 sequences of 30 steps" in c.value for c in at.caption)

    at.switch_page("pages/train.py").run()
    assert not at.exception and not at.error
    assert at.session_state["setting_target"] == "answer" and at.session_state["setting_window"] == 30
    assert list(at.session_state["setting_features"]) == ["value", "marker"] and at.session_state["setting_hidden"] == 4
    assert at.segmented_control(key="setting_target").options == [t("target_answer")]  # the task's answer alone
    # the channels this task's frame has (no Reset column in the adding task: not offered, rather than refused later)
    assert "Reset" not in ds.frame.columns
    assert at.multiselect(key="setting_features").options == [t("features_value"), t("features_marker")]

    at.session_state["dataset"] = load_sample("MSFT")  # what loading the sample again does: back to prices
    at.switch_page("pages/train.py").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.session_state["setting_target"] == "logvol" and at.session_state["setting_window"] == 60
    assert at.session_state["setting_hidden"] == RunConfig().hidden


def test_train_results_judge_a_task_against_the_training_mean(task_run):
    ds, run = task_run
    at = page("pages/train.py", runs=[run], selected_run=run.run_id, dataset=ds)
    verdict = next(s.value for s in at.success)
    assert verdict.startswith("The model beats the strongest simple method, Training-period mean")
    share = (run.metrics["model"].rmse / run.metrics["train_mean"].rmse) ** 2
    assert f"{100 * share:.2g} %" in verdict
    assert any("Sequence 681" in c.value for c in at.caption)  # the first test sequence: 800 x 0.85 + 1


def test_forecast_says_in_one_sentence_that_a_task_has_no_future(task_run):
    ds, run = task_run
    for lang in ("en", "zh"):
        at = page("pages/forecast.py", lang, runs=[run], selected_run=run.run_id, dataset=ds)
        assert [i.value for i in at.info] == [t("err_forecast_not_for_target", lang)]
        assert not specs(at) and not at.error
        assert not at.number_input and not at.get("button_group")  # no history or interval controls that do nothing


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_gates_say_what_each_unit_does_and_the_search_finds_the_markers(task_run, lang):
    ds, run = task_run
    at = page("pages/gates.py", lang, runs=[run], selected_run=run.run_id, dataset=ds)
    said = " ".join(m.value for m in at.markdown)
    role_lines = [line for m in at.markdown for line in m.value.splitlines()]
    carrier = t("gates_role_carrier", lang, unit=0, r="0").split("0")[1][:8]  # a piece of the sentence, unit-free
    assert any(carrier in line for line in role_lines), role_lines
    latch_start = t("gates_role_latch", lang, unit=9, at="A", elsewhere="B", held="C").split("9")[1][:6]
    assert latch_start in said
    hold = t("gates_search_events_marker", lang, n=10, total=10)
    assert hold in said  # every stretch found holds a marker step
    animation = specs(at)[0]
    names = [d.get("name") for d in animation["data"]]
    assert names[:2] == [t("features_value", lang), t("features_marker", lang)] and animation["data"][1]["type"] == "bar"
    window = run.prepared.window("test", at.session_state["gates_window"])
    np.testing.assert_allclose(plotly_array(animation["data"][1]["y"]).astype(float), window.inputs[:, 1], atol=1e-6)
    assert window.inputs[:, 1].sum() == pytest.approx(1.0)  # one marker in the sequence shown
    # beside the gates, which steps drove the answer: the share on the marker said, the marker drawn on the bars
    attribution = specs(at)[1]
    assert len(attribution["layout"]["shapes"]) == 1 and attribution["layout"]["shapes"][0]["x0"] == 1 + int(
        np.argmax(window.inputs[:, 1]))
    share_line = t("gates_attr_events", lang, share="9").split("9")[1][:6]
    assert any(share_line in c.value for c in at.caption)
    if lang == "zh":
        texts = [e.value for kind in ("subheader", "markdown", "caption") for e in getattr(at.main, kind)]
        english = {w for text in texts for w in re.findall(r"[A-Za-z]{3,}", text.replace(run.run_id, ""))}
        assert english <= {"LSTM", "LSTMVis", "Strobelt", "Sundararajan", "Karpathy", "Johnson", "Fei"}, english


def test_the_tune_page_searches_a_task_with_its_own_target_and_channels(tmp_path, monkeypatch):
    """A task loaded and nothing trained yet: the study's fixed settings are the task's (before, the Train page's
    default price target was refused with "needs a Close column")."""

    from lstm_core import tune
    from lstm_core.config import Target
    from ui.tune import STORAGE_ENV

    monkeypatch.setenv(STORAGE_ENV, str(tmp_path / "studies.journal"))
    ds = load_task(TaskKind.REMEMBER, length=30, sequences=300, seed=0)
    at = page("pages/tune.py", dataset=ds)
    facts = " ".join(c.value for c in at.caption)  # the settings every trial shares, in the task's words
    assert t("cfg_window_task") in facts and t("cfg_window") not in facts
    at.number_input(key="tune_budget").set_value(2)
    at.number_input(key="tune_epochs").set_value(2)
    at.number_input(key="tune_n_workers").set_value(1)
    at.button(key="tune_start").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    spec, jobs = at.session_state["tune_spec"], at.session_state["tune_jobs"]
    assert spec.base.target == Target.ANSWER and spec.base.to_dict()["features"] == list(ds.settings()["features"])
    wait_for(lambda: all(job.finished for job in jobs), timeout=120)
    assert [job.error for job in jobs] == [None]
    summary = tune.summary(tune.load_study(spec.storage, spec.study))
    assert summary["n_complete"] + summary["n_pruned"] == 2 and summary["fixed"]["target"] == Target.ANSWER


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_memory_task_is_described_in_steps_and_sequences_not_days(task_run, lang):
    """The form once said "Window (days)" for a task, and its test chart's x axis ran 1950 ... 2000, read as years."""
    ds, run = task_run
    at = page("pages/train.py", lang, dataset=ds, runs=[run], selected_run=run.run_id)
    labels = [w.label for w in at.number_input]
    assert t("cfg_window_task", lang) in labels and t("cfg_window", lang) not in labels
    assert t("cfg_horizon", lang) not in labels
    with pytest.raises(LabError) as caught:  # the form's sentence: every wrong value, each by the label it shows
        RunConfig(window=-5, hidden=0)
    said = in_form_labels(caught.value, task=True).message(lang)
    assert t("cfg_window_task", lang) in said and t("cfg_window", lang) not in said and t("cfg_hidden", lang) in said
    assert t("cfg_window", lang) in in_form_labels(caught.value, task=False).message(lang)
    assert "window" not in said and "hidden" not in said  # the form's labels, not the internal names
    dated = [s for s in specs(at) if s["layout"].get("xaxis", {}).get("rangeslider")]  # the test-period chart
    assert dated, "no test chart"
    axis = dated[0]["layout"]["xaxis"]
    assert axis["tickformat"] == ",d" and axis["title"]["text"] == t("chart_sequence", lang)
