"""AppTest of the Train page: start a tiny job, keep it across pages, see the results beside the baselines."""

import json
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lstm_core.data import load_synthetic
from tests.helpers import wait_for

ROOT = Path(__file__).resolve().parent.parent


def set_number(at: AppTest, label: str, value) -> None:
    next(w for w in at.number_input if w.label == label).set_value(value)


def start(at: AppTest, **numbers) -> None:
    for label, value in numbers.items():
        set_number(at, label, value)
    next(b for b in at.button if b.label == "Start training").click().run()


def wait_finished(at: AppTest, timeout: float = 120) -> None:
    job = at.session_state["job"]
    wait_for(lambda: job.finished, timeout=timeout)
    at.run()


def test_train_and_see_metrics_beside_baselines(train_page):
    at = train_page
    start(at, **{"Max epochs": 2, "Hidden units": 8})
    assert not at.exception and not at.error
    job = at.session_state["job"]
    at.switch_page("pages/data.py").run()  # browsing elsewhere does not stop or restart the job
    assert at.session_state["job"] is job and not at.exception
    at.switch_page("pages/train.py").run()
    wait_finished(at)
    assert not at.exception
    assert job.status == "done" and len(at.session_state["runs"]) == 1
    verdicts = [e.value for e in (*at.success, *at.info, *at.warning)]
    # one verdict, led by the strongest simple method (or the plain fact that nothing was learned in two epochs)
    assert sum("strongest simple method" in v or "learned nothing" in v for v in verdicts) == 1
    table = at.dataframe[0].value
    # the default target is next month's volatility: its baselines, each with its Diebold-Mariano p against the model
    # (raw and Holm-adjusted), and the same network before training
    assert list(table.index) == ["LSTM model", "Persistence (last 20 days)", "EWMA (λ = 0.94)",
                                 "Window mean |r| × √(π/2)", "HAR-RV (1, 5, 22 days)", "GARCH(1,1), Student-t",
                                 "Training-period mean", "Linear AR (the model's inputs)", "The network before training"]
    assert list(table.columns) == ["RMSE", "MAE", "QLIKE", "MAPE %", "Direction %", "p vs model (RMSE)",
                                   "p, Holm-adjusted", "p vs model (QLIKE)", "RMSE (validation)"]
    for p_column in ("p vs model (RMSE)", "p vs model (QLIKE)", "p, Holm-adjusted"):
        assert table.loc["LSTM model", p_column] == "" and table.loc["EWMA (λ = 0.94)", p_column].startswith("p ")
    assert table.loc["The network before training", "p vs model (RMSE)"].startswith("p ")
    assert table.loc["The network before training", "p, Holm-adjusted"] == ""  # the judgement's gate, not a baseline
    assert float(table.loc["LSTM model", "RMSE"]) == pytest.approx(job.run.metrics["model"].rmse, abs=1e-4)
    assert table.loc["Persistence (last 20 days)", "Direction %"] == "–"  # persistence never moves
    mape = job.run.metrics["model"].mape
    assert table.loc["LSTM model", "MAPE %"] == f"{mape:.1f}" and re.fullmatch(r"\d+\.\d", table.loc["EWMA (λ = 0.94)", "MAPE %"])
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    loss = charts[0]
    assert [t["name"] for t in loss["data"]][-2:] == ["Train loss", "Validation loss"]
    assert loss["data"][-1]["x"] == [0, 1, 2]  # the untrained model, then one validation point per epoch
    assert len(charts) >= 3  # loss, predictions, residuals
    # the run as a bundle, and as code (tests/test_export.py runs the code)
    downloads = {b.proto.label for b in at.get("download_button")}
    assert downloads == {"Download this run", "Download as a PyTorch script"}


def test_bad_settings_get_a_sentence_and_nothing_starts(train_page):
    at = train_page
    at.session_state["dataset"] = load_synthetic("sine", n_days=200)
    at.run()
    start(at, **{"Window (days)": 150})
    assert not at.exception
    assert "job" not in at.session_state
    assert any("Window (150)" in e.value for e in at.error)
    next(s for s in at.slider if s.label == "Training fraction").set_value(0.9)
    next(s for s in at.slider if s.label == "Validation fraction").set_value(0.1)
    start(at, **{"Window (days)": 10})
    assert "job" not in at.session_state
    assert any("no test period" in e.value for e in at.error)


def test_chinese_labels(train_page):
    at = train_page
    at.session_state["lang"] = "zh"
    at.run()
    assert not at.exception
    assert at.title[0].value == "训练"
    assert any(b.label == "开始训练" for b in at.button)


def test_session_probe_follows_the_browser_session_with_a_grace_period(monkeypatch):
    import ui.runs as training

    class FakeServer:
        connected = True

        def is_active_session(self, session_id: str) -> bool:
            assert session_id == "s-1"
            return self.connected

    class FakeContext:
        session_id = "s-1"

    server = FakeServer()
    monkeypatch.setattr(training, "get_script_run_ctx", lambda: FakeContext())
    monkeypatch.setattr(training.runtime, "exists", lambda: True)
    monkeypatch.setattr(training.runtime, "get_instance", lambda: server)
    now = [100.0]
    alive = training.session_probe(grace_s=0.3, clock=lambda: now[0])
    assert alive()
    server.connected = False  # tab closed: Streamlit may still resume it for a while
    now[0] += 0.29
    assert alive()
    now[0] += 0.02  # past the grace period, counted from the last time it was seen
    assert not alive()
    server.connected = True  # a reconnect within Streamlit's own window counts again
    assert alive()


def test_session_probe_is_none_without_a_server():
    import ui.runs as training

    assert training.session_probe() is None  # bare Python: no script run context, jobs never give up


def open_train(workspace_id: str | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    if workspace_id is not None:
        at.query_params["ws"] = workspace_id
    at.run()
    at.switch_page("pages/train.py").run()
    assert not at.exception
    return at


def test_a_second_tab_of_the_workspace_shows_its_running_job_and_a_second_start_is_refused():
    """Two tabs of one workspace once trained at once: a job per tab."""
    first = open_train()
    start(first, **{"Max epochs": 300, "Hidden units": 8})
    ticket = first.session_state["job"]
    try:
        second = open_train(first.session_state["workspace_id"])  # another tab, or the same one after a refresh
        assert second.session_state["job"].job is ticket.job
        assert any(b.label == "Stop" for b in second.button)  # its live panel: progress and Stop
        assert next(b for b in second.button if b.label == "Start training").disabled
    finally:
        ticket.job.stop()
    wait_finished(first)


def test_a_run_that_never_finished_is_said_once_after_a_restart():
    from lstm_core.store.workspace import Workspace, new_workspace_id

    ws_id = new_workspace_id()
    Workspace.open(ws_id, 10).note_training("2026-12-06T09:30")  # then the server died
    at = open_train(ws_id)
    said = [w.value.replace("\\", "") for w in at.warning if "never finished" in w.value]
    assert len(said) == 1 and "2026-12-06 09:30" in said[0]
    at.run()
    assert not any("never finished" in w.value for w in at.warning)  # said once
    assert not any("never finished" in w.value for w in open_train(ws_id).warning)  # and not again on a new visit
