"""Every page and the command line say the same thing about the same run: the Train verdict, the lead line of the
Forecast and Gates pages, and the ``judgement`` of the train, forecast and backtest JSON all come from one judgement
(lstm_core.judgement), on both bundled samples and three seeds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lstm_core.cli import main
from lstm_core.config import RunConfig
from lstm_core.data import load_sample
from lstm_core.judgement import Outcome
from lstm_core.runs.bundle import save_bundle
from lstm_core.runs.run import train_run

ROOT = Path(__file__).resolve().parent.parent
PAGES = ("pages/train.py", "pages/forecast.py", "pages/gates.py")
QUICK = RunConfig(epochs=3, patience=3)  # the defaults, shortened: the outcome varies, the agreement must not


@pytest.fixture(scope="module")
def runs() -> list:
    return [train_run(ds.frame, ds.name, QUICK.with_(seed=seed))
            for ds in (load_sample("MSFT"), load_sample("NVDA")) for seed in (0, 1, 2)]


def verdicts_on(page: str, run) -> list[str]:
    """The verdict-looking alerts a page shows for ``run``, as read (Markdown escapes dropped)."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    at.session_state["runs"] = [run]
    at.session_state["selected_run"] = run.run_id
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return [e.value.replace("\\", "") for kind in ("success", "info", "warning") for e in getattr(at, kind)]


def cli_json(capsys, *args: str) -> dict:
    assert main(list(args)) == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_train_forecast_gates_and_the_json_say_the_same_of_each_run(runs, tmp_path, capsys):
    outcomes = set()
    for k, run in enumerate(runs):
        said = run.judgement_json()
        lead = said["sentences"][0]
        outcomes.add(said["outcome"])
        for page in PAGES:
            shown = verdicts_on(page, run)
            assert any(text.startswith(lead[:120]) for text in shown), (page, lead, shown)
        bundle = save_bundle(run, tmp_path / f"r{k}")
        for command in ("forecast", "backtest"):
            assert cli_json(capsys, command, "--bundle", str(bundle))["judgement"] == said, command
    assert outcomes <= {str(o) for o in Outcome}


def test_one_epoch_on_msft_learned_nothing_on_every_page_and_in_the_json(tmp_path, capsys):
    """One epoch keeps weights close to the untrained network's: no page may credit it with more."""
    out = tmp_path / "one"
    trained = cli_json(capsys, "train", "--data", "sample:MSFT", "--epochs", "1", "--out", str(out))
    assert trained["judgement"]["outcome"] == "learned_nothing"
    from lstm_core.runs.bundle import LOCAL_LIMITS, load_bundle

    run = load_bundle(out, limits=LOCAL_LIMITS, rescore=False)
    assert run.judgement().outcome == Outcome.LEARNED_NOTHING
    for page in PAGES:
        assert any("learned nothing" in text for text in verdicts_on(page, run)), page
    assert not any("knows more than the last value" in text for text in verdicts_on("pages/forecast.py", run))
    for command in ("forecast", "backtest"):
        assert cli_json(capsys, command, "--bundle", str(out))["judgement"]["outcome"] == "learned_nothing"
