"""Memory tasks: the generators' known answers, their place in the pipeline (samples are whole sequences), the
training mean as their reference, bundles and the command line, and a small LSTM that solves one where a plain RNN
does not."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from lstm_core import i18n
from lstm_core.baselines import baselines_for
from lstm_core.config import Cell, RunConfig
from lstm_core.data import TASK_BOUNDS, TaskKind, TaskSpec, load_sample, load_source, load_task
from lstm_core.data.tasks import PULSE_P, generate
from lstm_core.errors import LabError
from lstm_core.features import Feature
from lstm_core.gates import HOLDS_AT, OPENS_BY, Role, extract_gates, read_task_units
from lstm_core.gates.roles import task_sequences
from lstm_core.pipeline import Prepared
from lstm_core.runs.bundle import UPLOAD_LIMITS, bundle_members, load_bundle, parse_data_csv
from lstm_core.runs.run import train_run
from lstm_core.targets import Target
from tests.helpers import cli_refusals

ROOT = Path(__file__).resolve().parent.parent


def sequences(frame, length: int) -> dict[str, np.ndarray]:
    """Each column of a task frame as ``[sequences, length]``."""
    return {name: frame[name].to_numpy().reshape(-1, length) for name in frame.columns}


# ---------------------------------------------------------------- the generators


@pytest.mark.parametrize("kind", [TaskKind.REMEMBER, TaskKind.ADD])
def test_the_answer_is_the_marked_value_or_the_sum_of_two(kind):
    spec = TaskSpec(kind, length=30, sequences=500, seed=3)
    seq = sequences(generate(spec), 30)
    marker = seq["Marker"]
    assert set(np.unique(marker)) == {0.0, 1.0}
    assert (marker.sum(axis=1) == (2 if kind is TaskKind.ADD else 1)).all()
    assert (marker[:, -1] == 0).all()  # never the last step: something is always held
    expected = (seq["Value"] * marker).sum(axis=1)
    np.testing.assert_allclose(seq["Answer"][:, -1], expected, atol=1e-9)
    low = 0.0 if kind is TaskKind.ADD else -1.0
    assert seq["Value"].min() >= low and seq["Value"].max() <= 1.0 and seq["Value"].min() < low + 0.01
    assert (seq["Step"] == np.arange(30)).all()


def test_the_marker_falls_anywhere_but_the_last_step_equally_often():
    seq = sequences(generate(TaskSpec(TaskKind.REMEMBER, length=20, sequences=19_000, seed=0)), 20)
    places = np.argmax(seq["Marker"], axis=1)
    counts = np.bincount(places, minlength=20)
    assert counts[19] == 0 and (counts[:19] > 0).all()
    chi2 = ((counts[:19] - 1000) ** 2 / 1000).sum()  # 18 degrees of freedom: 42.3 is its 0.1 % tail
    assert chi2 < 42.3, counts
    other = sequences(generate(TaskSpec(TaskKind.REMEMBER, length=20, sequences=19_000, seed=1)), 20)
    assert (np.argmax(other["Marker"], axis=1) != places).mean() > 0.9  # another seed, other places


def test_the_count_is_the_pulses_since_the_last_reset():
    spec = TaskSpec(TaskKind.COUNT, length=50, sequences=300, seed=5)
    seq = sequences(generate(spec), 50)
    assert list(generate(spec).columns) == ["Step", "Value", "Reset", "Answer"]
    for s in range(300):
        count = 0
        for t in range(50):
            count = 0 if seq["Reset"][s, t] else count + seq["Value"][s, t]
            assert seq["Answer"][s, t] == count
    assert not (seq["Value"] * seq["Reset"]).any()  # a reset step carries no pulse
    assert seq["Value"].mean() == pytest.approx(PULSE_P * (1 - 0.03), abs=0.01)
    assert (seq["Reset"].sum(axis=1) > 0).mean() > 0.7  # most sequences forget at least once


@pytest.mark.parametrize("kind", list(TaskKind))
def test_a_seed_reproduces_its_task_and_another_does_not(kind):
    a, b = generate(TaskSpec(kind, 25, 200, seed=7)), generate(TaskSpec(kind, 25, 200, seed=7))
    assert a.equals(b)
    assert not a.equals(generate(TaskSpec(kind, 25, 200, seed=8)))
    assert a.index.name == "Row" and len(a) == 25 * 200


@pytest.mark.parametrize(("given", "key"), [
    (dict(length=9), "err_task_bound"), (dict(length=501), "err_task_bound"), (dict(sequences=99), "err_task_bound"),
    (dict(seed=-1), "err_task_bound"), (dict(length=2.5), "err_task_bound"), (dict(length=True), "err_task_bound"),
    (dict(length=500, sequences=2_001), "err_task_too_big"), (dict(kind="recall"), "err_unknown_task"),
])
def test_settings_out_of_bounds_are_refused_with_a_sentence(given, key):
    with pytest.raises(LabError) as err:
        load_task(**{"kind": TaskKind.REMEMBER, **given})
    assert err.value.key == key
    assert err.value.message("zh") != err.value.message("en")


def test_load_source_reads_a_task_and_its_options():
    ds = load_source("task:add:30:200:4")
    assert ds.task == TaskSpec(TaskKind.ADD, 30, 200, 4) and ds.is_task and ds.name == "add task (length 30, 200 sequences, seed 4)"
    assert load_source(ds.task.source).frame.equals(ds.frame)  # the spec the tune workers load again
    assert load_source("task:count", {"length": 40, "sequences": 100}).task == TaskSpec(TaskKind.COUNT, 40, 100, 0)
    with pytest.raises(LabError) as err:  # it once trained remember without saying so
        load_source("task:")
    assert err.value.key == "err_task_no_kind" and "remember, add, count" in str(err.value)
    with pytest.raises(LabError) as err:  # a flag that disagrees with the spec once overrode it silently
        load_source("task:remember:100:2000:0", {"length": 50})
    assert err.value.key == "err_task_spec_and_flag" and "--length 50" in str(err.value)
    assert load_source("task:remember:100", {"length": 100}).task.length == 100  # saying it twice alike is fine
    assert ds.settings() == {"target": Target.ANSWER, "features": (Feature.VALUE, Feature.MARKER), "window": 30}
    with pytest.raises(LabError) as err:
        load_source("sample:MSFT", {"length": 40})
    assert err.value.key == "err_task_options_need_task" and "--length" in str(err.value)
    with pytest.raises(LabError) as err:
        load_source("task:remember:ten")
    assert err.value.key == "err_task_bound"


# ---------------------------------------------------------------- in the pipeline


def task_config(ds, **changes) -> RunConfig:
    return RunConfig.for_target(**{**ds.settings(), **changes})


def test_samples_are_whole_sequences_and_the_split_keeps_them_whole():
    ds = load_task(TaskKind.REMEMBER, length=20, sequences=100, seed=0)
    cfg = task_config(ds)
    assert (cfg.target, cfg.window, cfg.hidden, cfg.horizon) == (Target.ANSWER, 20, 4, 1)
    p = Prepared(ds.frame, cfg)
    ends = np.concatenate([p.split_ends[s] for s in ("train", "val", "cal", "test")])
    np.testing.assert_array_equal(ends, np.arange(19, 2000, 20))  # every sequence's last step, once
    assert [p.n_samples(s) for s in ("train", "val", "cal", "test")] == [70, 8, 7, 15]
    assert p.train_rows == 1400  # the scalers saw the 70 training sequences' steps and nothing else
    raw = ds.frame[["Value", "Marker"]].to_numpy()[:1400]
    np.testing.assert_allclose(p.feature_scaler.mean, raw.mean(axis=0))
    x, y = p.tensors("test")
    first = int(p.split_ends["test"][0]) - 19  # the first test sequence's first row
    np.testing.assert_allclose(p.feature_scaler.inverse(x[0].numpy().astype(float)), raw_rows(ds, first, 20), atol=1e-6)
    np.testing.assert_allclose(p.actual_values("test"), ds.frame["Answer"].to_numpy()[p.split_ends["test"]])
    np.testing.assert_array_equal(p.target_dates("test"), p.split_ends["test"])  # read out at the sequence's own end
    window = p.window("test", 0)
    assert window.close is None and window.actual_close is None and window.inputs.shape == (20, 2)


def raw_rows(ds, first: int, length: int) -> np.ndarray:
    return ds.frame[["Value", "Marker"]].to_numpy()[first : first + length]


@pytest.mark.parametrize(("changes", "key"), [
    (dict(window=19), "err_task_window"), (dict(window=40), "err_task_window"),
])
def test_a_window_that_is_not_the_sequence_length_is_refused(changes, key):
    ds = load_task(TaskKind.REMEMBER, length=20, sequences=100)
    with pytest.raises(LabError) as err:
        Prepared(ds.frame, task_config(ds, **changes))
    assert err.value.key == key and "20" in str(err.value)


def test_targets_and_data_that_do_not_go_together_are_refused():
    task = load_task(TaskKind.REMEMBER, length=20, sequences=100).frame
    with pytest.raises(LabError) as err:
        Prepared(task, RunConfig.for_target(target="logvol", window=20))
    assert err.value.key == "err_target_data" and "Close" in str(err.value)
    with pytest.raises(LabError) as err:
        Prepared(load_sample("MSFT").frame, RunConfig.for_target(target="answer", window=60))
    assert err.value.key == "err_target_data" and "Answer" in str(err.value)
    with pytest.raises(LabError) as err:
        Prepared(task, RunConfig.for_target(target="answer", window=20, features=("value", "logret")))
    assert err.value.key == "err_missing_column"
    for changes in (dict(horizon=2), dict(steps=3)):
        with pytest.raises(LabError) as err:
            RunConfig.for_target(target="answer", window=20, **changes)
        assert err.value.key == "err_cfg_task_ahead"
    shuffled = task.sample(frac=1.0, random_state=0)
    with pytest.raises(LabError) as err:
        Prepared(shuffled, RunConfig.for_target(target="answer", window=20))
    assert err.value.key == "err_task_frame"


def test_a_task_is_judged_against_the_training_mean_not_persistence():
    names = [b.name for b in baselines_for(Target.ANSWER)]
    assert names == ["train_mean", "linear_ar"]
    assert "persistence" not in names and "train_mean" in [b.name for b in baselines_for(Target.LOGVOL)]


# ---------------------------------------------------------------- a model that solves it, and one that cannot

SOLVE = dict(length=60, sequences=800)  # LSTM 4 units: 1.6 s for 100 epochs on one core


@pytest.fixture(scope="module")
def one_thread():
    """One torch thread, as a worker trains: batches of 64 short sequences only lose time to a second thread, and
    on a busy machine a great deal (114 s instead of 2 s was seen with two threads under a load of 6)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def solved(one_thread):
    ds = load_task(TaskKind.REMEMBER, **SOLVE, seed=0)
    return train_run(ds.frame, ds.name, task_config(ds, epochs=100, patience=100, seed=0))


def mse_share(run) -> float:
    """The model's test MSE over always predicting the training mean's."""
    return (run.metrics["model"].rmse / run.metrics["train_mean"].rmse) ** 2


def test_a_small_lstm_solves_remember_and_its_gates_show_how(solved):
    assert mse_share(solved) < 0.1
    assert solved.metrics["model"].skill > 0.7 and solved.metrics["model"].p_vs_persistence < 1e-6
    x, events, answers, event = task_sequences(solved.prepared)
    assert event == Feature.MARKER and events.sum(axis=1).tolist() == [1] * len(answers)
    reading = read_task_units(extract_gates(solved.model, x), events, answers, event)
    stats = reading.stats
    latch = (stats.input_contrast >= OPENS_BY) & (stats.forget_held >= HOLDS_AT)
    assert latch.any(), (stats.input_contrast, stats.forget_held)  # opens at the marker, then keeps
    assert np.abs(stats.answer_r).max() >= 0.9  # and some cell holds the value to the end
    assert reading.finding(Role.LATCH).found and reading.finding(Role.CARRIER).found
    assert latch[reading.finding(Role.LATCH).unit]


def test_a_plain_rnn_of_the_same_size_does_not(one_thread):
    ds = load_task(TaskKind.REMEMBER, **SOLVE, seed=0)
    rnn = train_run(ds.frame, ds.name, task_config(ds, cell="rnn", epochs=100, patience=100, seed=0))
    assert mse_share(rnn) > 0.5
    x, events, answers, event = task_sequences(rnn.prepared)
    reading = read_task_units(extract_gates(rnn.model, x), events, answers, event)
    assert [f.role for f in reading.findings] == [Role.CARRIER]  # no gate to latch with: its hidden state alone
    assert [key for key, _ in reading.claims()] == ["gates_role_carrier_none_rnn"]


def test_a_gru_solves_remember_with_its_update_gate_as_the_latch(one_thread):
    """A GRU has no input or forget gate: its update gate z does both jobs, falling at the marker to write the value
    and staying near 1 afterwards to hold it (measured: z 0.01 at the marker, 0.96 elsewhere, 0.97 held)."""
    ds = load_task(TaskKind.REMEMBER, **SOLVE, seed=0)
    gru = train_run(ds.frame, ds.name, task_config(ds, cell="gru", epochs=40, patience=40, seed=0))
    assert mse_share(gru) < 0.1
    x, events, answers, event = task_sequences(gru.prepared)
    trace = extract_gates(gru.model, x)
    assert trace.cell == Cell.GRU and trace.arrays == ("r", "z", "n", "h")
    reading = read_task_units(trace, events, answers, event)
    latch = reading.finding(Role.LATCH)
    assert latch.found and reading.finding(Role.CARRIER).found
    z = trace.layer(0)["z"][..., latch.unit]  # [B, T]
    assert z[events].mean() < 0.2 and z[~events].mean() > 0.9  # falls at the marker, near 1 elsewhere
    assert latch.numbers["at"] == pytest.approx(z[events].mean(), abs=1e-6) and latch.numbers["held"] >= HOLDS_AT
    claims = dict(reading.claims())
    assert "gates_role_latch_gru" in claims and "gates_role_carrier_gru" in claims
    assert "update gate z falls to" in i18n.t("gates_role_latch_gru", **claims["gates_role_latch_gru"])


def test_a_task_run_survives_its_bundle(solved, tmp_path):
    members = bundle_members(solved)
    assert members["data.csv"].startswith(b"Row,Step,Value,Marker,Answer\n0,0,")
    zip_path = tmp_path / "run.zip"
    import zipfile

    with zipfile.ZipFile(zip_path, "w") as archive:
        for name, blob in members.items():
            archive.writestr(name, blob)
    back = load_bundle(zip_path.read_bytes(), UPLOAD_LIMITS)  # re-scored from weights and data, as an upload is
    assert back.metrics["model"].rmse == pytest.approx(solved.metrics["model"].rmse, rel=1e-6)
    assert back.frame.equals(solved.frame.astype(back.frame.dtypes.to_dict()))
    assert set(back.metrics) == {"model", "train_mean", "linear_ar", "untrained"}


@pytest.mark.parametrize("csv", [
    b"Row,Step,Value,Marker,Answer,Close\n0,0,1,0,1,5\n",  # a column no task has
    b"Row,Step,Value,Reset,Marker,Answer\n0,0,1,0,0,1\n",  # two tasks' columns at once
    b"Row,Step,Value,Marker,Answer\n1,0,1,0,1\n",  # rows that do not count from 0
    b"Row,Step,Value,Marker,Answer\n0,0.5,1,0,1\n",  # a step that is not whole
    b"Row,Step,Value,Marker,Answer\n0,0,nan,0,1\n",  # a value that is not a number
    b"Row,Step,Value,Marker,Answer\n99999999999999999999999,0,1,0,1\n",  # a row beyond 64 bits
])
def test_a_hostile_task_data_csv_is_one_sentence(csv):
    with pytest.raises(LabError) as err:
        parse_data_csv(csv, UPLOAD_LIMITS)
    assert err.value.key == "err_bundle_data"


# ---------------------------------------------------------------- the command line


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lstm_core", *args], cwd=cwd, capture_output=True, text=True, timeout=300,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "LSTM_LAB_DATA": str(cwd)})


def test_the_command_line_trains_a_task_and_refuses_a_forecast_of_it(tmp_path):
    done = cli("train", "--data", "task:remember", "--length", "20", "--sequences", "200", "--epochs", "2",
               "--out", str(tmp_path / "run"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["dataset"] == "remember task (length 20, 200 sequences, seed 0)"
    assert result["config"]["target"] == "answer" and result["config"]["window"] == 20
    assert result["config"]["hidden"] == 4 and set(result["metrics"]) == {"model", "train_mean", "linear_ar", "untrained"}
    # the rest end before any training: one process for all of them
    forecast, gates, wrong, threads = cli_refusals([
        ["forecast", "--bundle", str(tmp_path / "run")], ["gates", "--bundle", str(tmp_path / "run")],
        ["train", "--data", "sample:MSFT", "--length", "20"], ["train", "--data", "task:remember", "--threads", "0"],
    ], env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "LSTM_LAB_DATA": str(tmp_path)})
    assert forecast.returncode == 2 and forecast.stderr.count("\n") == 1 and "memory task" in forecast.stderr
    assert gates.returncode == 0 and json.loads(gates.stdout)["target_date"] == 3999
    assert wrong.returncode == 2 and wrong.stderr.count("\n") == 1 and "--length" in wrong.stderr
    assert threads.returncode == 2 and threads.stderr.count("\n") == 1 and "thread count" in threads.stderr
    assert TASK_BOUNDS["length"].low == 10


def test_every_target_kind_has_its_sentences_in_both_languages():
    from lstm_core.i18n import TABLE
    from lstm_core.judgement import Outcome
    from lstm_core.targets import TARGETS

    for kind in TARGETS.values():
        keys = [f"verdict_{outcome}" for outcome in Outcome]
        keys += [kind.window_note_key, kind.units_key, kind.forecast_axis_key, f"target_{kind.id}"]
        keys += ["verdict_mean_share"] if kind.states_error_share else []
        for key in keys:
            assert key in TABLE["en"] and key in TABLE["zh"], (kind.id, key)
    for kind in TaskKind:
        for key in (f"task_{kind}", f"task_{kind}_help"):
            assert key in TABLE["en"] and key in TABLE["zh"], key
