"""The server's settings: one table (lstm_core.server_settings), every wrong value said at once, at start, in the
words the table uses; the app goes on with the defaults, the command line refuses to start."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from lstm_core.cli import main
from lstm_core.server_settings import ServerSettings, problems, setting

ROOT = Path(__file__).resolve().parent.parent


def test_unset_is_the_default_and_each_value_is_read_by_its_type():
    assert ServerSettings.from_env({}) == ServerSettings()
    read = ServerSettings.from_env({"LSTM_LAB_MAX_JOBS": " 3 ", "LSTM_LAB_LOCAL": "1", "LSTM_LAB_MAX_JOB_S": "90.5",
                                    "LSTM_LAB_DATA": "~/lab", "LSTM_LAB_RAY_ADDRESS": "head:6379"})
    assert (read.max_jobs, read.local, read.max_job_s, read.ray_address) == (3, True, 90.5, "head:6379")
    assert read.data == Path.home() / "lab"
    assert setting("max_jobs", {"LSTM_LAB_MAX_JOBS": "x"}) is None  # wrong: the default, said at start


def test_every_wrong_value_is_said_at_once_with_its_rule():
    env = {"LSTM_LAB_MAX_JOBS": "0", "LSTM_LAB_MAX_JOB_S": "nan", "LSTM_LAB_LOCAL": "yes", "LSTM_LAB_DATA_MB": "2GB",
           "LSTM_LAB_MAXJOBS": "2", "LSTM_LAB_TEST_RAY_ADDRESS": "x"}
    said = [str(err) for err in problems(env)]
    assert len(said) == 5, said  # four wrong values and one unknown name; the test suite's own variable is no setting
    assert any("LSTM_LAB_MAX_JOBS must be a whole number from 1 to 256 (docs/settings.md), not '0'" in s for s in said)
    assert any("LSTM_LAB_MAX_JOB_S must be a number from 1 to 604,800 (docs/settings.md), not 'nan'" in s for s in said)
    assert any("LSTM_LAB_LOCAL must be 1 (on) or unset" in s for s in said)
    assert any("LSTM_LAB_DATA_MB must be a whole number of megabytes" in s for s in said)  # its own sentence
    assert any(s.startswith("LSTM_LAB_MAXJOBS is not a setting") for s in said)
    assert problems({"LSTM_LAB_MAX_JOBS": "4", "LSTM_LAB_LOCAL": ""}) == []


def test_the_command_line_refuses_to_start_in_one_line(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("LSTM_LAB_MAX_JOB_MB", "-5")
    monkeypatch.setenv("LSTM_LAB_TRAIN_NICE", "99")
    assert main(["train", "--data", "synthetic:sine", "--epochs", "1", "--out", str(tmp_path / "r")]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and not (tmp_path / "r").exists()
    assert "LSTM_LAB_MAX_JOB_MB must be a whole number from 64 to 1,000,000, not '-5'" in err
    assert "LSTM_LAB_TRAIN_NICE must be a whole number from 0 to 19, not '99'" in err


def test_the_app_says_a_wrong_setting_on_its_pages_and_goes_on(monkeypatch):
    monkeypatch.setenv("LSTM_LAB_OWNER_GRACE_S", "soon")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    assert not at.exception
    errors = [e.value.replace("\\", "") for e in at.error]  # as read: Markdown escapes dropped
    assert any("LSTM_LAB_OWNER_GRACE_S must be a number from 0 to 86,400" in e and "not 'soon'" in e for e in errors)
    assert at.title[0].value  # the page itself still runs
