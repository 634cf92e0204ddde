"""Tests of lstm_core.runs.run and lstm_core.runs.bundle: training a run, and the bundle round trip with its refusals.

Hostile bundles (bombs, huge or deep run.json, bad fields) with their memory and time are in test_bundles_hostile.py.
"""

import json
import zipfile
from dataclasses import replace
from io import BytesIO
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from lstm_core.errors import LabError
from lstm_core.evaluate import Score, Scores
from lstm_core.runs import run as runs
from lstm_core.runs.bundle import LOCAL_LIMITS, bundle_members, bundle_zip, load_bundle, save_bundle
from lstm_core.runs.run import train_run
from tests.helpers import TINY, tiny_frame


@pytest.fixture(scope="module")
def run():
    return train_run(tiny_frame(), "sine", TINY)


def test_run_scores_model_and_baselines(run):
    assert set(run.metrics) == {"model", "persistence", "moving_average", "drift", "linear_ar", "untrained"}
    assert run.metrics["model"].skill == pytest.approx(
        1 - run.metrics["model"].rmse / run.metrics["persistence"].rmse)
    assert len(run.test_predictions) == run.prepared.n_samples("test")


@pytest.mark.parametrize("as_zip", [False, True])
def test_round_trip_gives_identical_predictions(run, tmp_path, as_zip):
    source = bundle_zip(run) if as_zip else save_bundle(run, tmp_path / "bundle")
    loaded = load_bundle(source)
    assert loaded.config == run.config and loaded.run_id == run.run_id
    np.testing.assert_array_equal(loaded.test_predictions, run.test_predictions)
    assert loaded.metrics == run.metrics and isinstance(loaded.metrics["model"], Score)
    for key, value in run.initial_state.items():
        assert torch.equal(loaded.initial_state[key], value)


def _rezip(members: dict[str, bytes]) -> bytes:
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, blob in members.items():
            archive.writestr(name, blob)
    return buffer.getvalue()


def test_tampered_damaged_and_mismatched_bundles_are_refused(run, tmp_path):
    members = bundle_members(run)
    tampered = dict(members, **{"data.csv": members["data.csv"].replace(b"2015", b"2016", 1)})
    with pytest.raises(LabError, match="data.csv in this saved run does not match its checksum") as err:
        load_bundle(_rezip(tampered))
    assert err.value.key == "err_bundle_checksum"
    missing = {k: v for k, v in members.items() if k != "weights.safetensors"}
    with pytest.raises(LabError, match="has no weights.safetensors") as err:
        load_bundle(_rezip(missing))
    assert err.value.key == "err_bundle_missing_file"
    with pytest.raises(LabError, match="not a readable zip"):
        load_bundle(b"PK\x03\x04 definitely not a zip")
    with pytest.raises(LabError) as err:
        load_bundle(tmp_path / "nowhere")
    assert err.value.key == "err_bundle_missing"
    # weights that do not fit the config (checksums made consistent, as a careful forger would)
    record = json.loads(members["run.json"])
    record["config"]["hidden"] = run.config.hidden + 1
    with pytest.raises(LabError) as err:
        load_bundle(_rezip(dict(members, **{"run.json": json.dumps(record).encode()})))
    assert err.value.key == "err_bundle_shapes"


def test_bundle_is_never_unpickled(run):
    members = bundle_members(run)
    assert members["weights.safetensors"][:8] != b"\x80\x04\x95"  # not a pickle stream
    assert set(members) == {"run.json", "weights.safetensors", "initial.safetensors", "data.csv"}


def _with_record(run, **changes) -> bytes:
    members = bundle_members(run)
    record = json.loads(members["run.json"])
    record.update(changes)
    members["run.json"] = json.dumps(record).encode()
    return _rezip(members)


def test_scores_written_into_run_json_are_ignored_and_recomputed(run):
    fake = run.metrics.to_json()
    fake["model"].update(rmse=0.0001, skill=0.99, p_vs_persistence=1e-9)  # well-formed, so only the numbers lie
    fake["persistence"]["rmse"] = 1e6
    loaded = load_bundle(_with_record(run, metrics=fake))
    assert loaded.metrics["model"].rmse == pytest.approx(run.metrics["model"].rmse, rel=1e-6)
    assert loaded.metrics["persistence"].rmse == pytest.approx(run.metrics["persistence"].rmse, rel=1e-6)


@pytest.mark.parametrize("changes", [{"history": [{"epoch": 1}]}, {"history": "x"}, {"best_epoch": "x"},
                                     {"best_val_loss": [1]}, {"history": [{"epoch": 1, "train_loss": "a"}]}])
def test_malformed_run_json_fields_are_refused_with_a_sentence(run, changes):
    with pytest.raises(LabError) as err:
        load_bundle(_with_record(run, **changes))
    assert err.value.key == "err_bundle_field"
    assert err.value.params["field"] == next(iter(changes))


def test_a_run_restored_from_its_saved_values_is_the_same_run(run):
    """The one constructor: what a worker returns becomes the run it was, with identical weights and forecasts."""
    again = runs.Run.restore(run.saved(), run.frame)
    assert again.record is run.record and again.run_id == run.run_id
    for key, value in run.model.state_dict().items():
        assert torch.equal(again.model.state_dict()[key], value)
    np.testing.assert_array_equal(again.test_predictions, run.test_predictions)


def test_a_run_is_a_view_of_its_saved_values_and_serializes_its_weights_once(run, monkeypatch):
    """Worker -> server -> store: the bytes a worker returned are the ones the store writes, not serialized again."""
    saved = run.saved()
    assert run.saved().weights is saved.weights  # made once per run
    again = runs.Run.restore(saved, run.frame)
    monkeypatch.setattr(runs, "to_bytes", lambda state: pytest.fail("serialized again"))
    assert again.saved().weights is saved.weights and again.saved().initial is saved.initial
    assert bundle_members(again)["weights.safetensors"] == saved.weights


def test_restoring_refuses_weights_that_do_not_fit_and_data_that_is_not_the_runs(run):
    other = train_run(tiny_frame(), "sine", TINY.with_(hidden=4))
    with pytest.raises(LabError) as err:
        runs.Run.restore(replace(run.saved(), weights=other.saved().weights), run.frame)
    assert err.value.key == "err_bundle_shapes"
    with pytest.raises(LabError) as err:
        runs.Run.restore(run.saved(), tiny_frame(seed=5))
    assert err.value.key == "err_bundle_scaler"


def test_without_rescoring_the_stored_scores_are_kept(run, tmp_path):
    """The workspace and the CLI's gates read bundles this machine wrote: no re-scoring, the stored numbers stay."""
    loaded = load_bundle(save_bundle(run, tmp_path / "b"), limits=LOCAL_LIMITS, rescore=False)
    assert loaded.metrics == run.metrics and isinstance(loaded.metrics["model"], Score)
    assert loaded._model_outputs is None  # nothing ran the model yet: predictions stay lazy
    np.testing.assert_array_equal(loaded.test_predictions, run.test_predictions)


def test_undefined_scores_are_written_as_null_and_read_back(run):
    """A score that is NaN (no variance, say) is saved as JSON null, which the strict reader accepts."""
    metrics = Scores({**run.metrics, "drift": replace(run.metrics["drift"], mape=float("nan"))})
    members = bundle_members(runs.Run(replace(run.record, metrics=metrics), run.frame, run.model, run.initial_state))
    assert json.loads(members["run.json"])["metrics"]["drift"]["mape"] is None
    assert b"NaN" not in members["run.json"]
    assert load_bundle(_rezip(members), rescore=False).metrics["drift"].mape is None


def test_stop_reason_is_read_back_as_the_enum(run):
    from lstm_core.runs.record import StopReason

    loaded = load_bundle(bundle_zip(run))
    assert loaded.stop_reason is StopReason(run.stop_reason)


def _garch_like(scale: float, from_row: int = 0) -> pd.DataFrame:
    """Prices whose daily moves and ranges from row ``from_row`` on are ``scale`` times those of scale 1, on the same
    days and shocks."""
    rng = np.random.default_rng(3)
    n = 400
    vol = 0.01 * np.exp(np.cumsum(rng.normal(0, 0.05, n)).clip(-1, 1))
    moves, spans = vol * rng.standard_normal(n), vol * np.abs(rng.standard_normal(n)) + 0.002
    scale = np.where(np.arange(n) >= from_row, scale, 1.0)
    close = 100 * np.exp(np.cumsum(scale * moves))
    index = pd.bdate_range("2010-01-01", periods=n, name="Date")
    return pd.DataFrame({"Open": close, "High": close * np.exp(scale * spans), "Low": close, "Close": close,
                         "Volume": 1e6}, index=index)


def test_a_normalised_window_reads_the_daily_range_against_its_own_volatility():
    """Test days twice as volatile in every move and range (after the same training days) read the same range inputs:
    the range is read against the window's own volatility, as the size of each day's move is. Before bundle version 2
    it was read at its own level, which told a calm period from a wild one."""
    from lstm_core.config import RunConfig
    from lstm_core.pipeline import Prepared

    config = RunConfig.for_target(target="logvol").with_(features=("logabsret", "logrange"), window=20, horizon=5)
    frames = [_garch_like(scale, from_row=300) for scale in (1.0, 2.0)]  # the test windows start after row 320
    calm, wild = (Prepared(frame, config) for frame in frames)
    assert calm.split_ends["test"][0] - config.window + 1 > 300
    x_calm, x_wild = calm.tensors("test")[0][..., 1], wild.tensors("test")[0][..., 1]  # the range channel
    assert float((x_calm - x_wild).abs().max()) < 0.01  # the same inputs (but for the floors inside the logs)
    level = [Prepared(frame, config.with_(features=("logabsret", "logrange_level"))).tensors("test")[0][..., 1]
             for frame in frames]
    assert float((level[0] - level[1]).abs().min()) > 0.5  # the old channel: every input moved by log 2 / its std


OLD_RANGE_BUNDLE = Path(__file__).parent / "fixtures" / "bundle_v1_range"  # saved by the code of version 1 (abe98ce)


def test_a_version_1_bundle_reads_its_normalised_range_as_it_was_trained(tmp_path):
    """A bundle the version-1 code saved, with the daily range under per-window normalisation: read now, its range is
    the channel read at its own level, so it forecasts every test window exactly as it did then (the predictions the
    old code wrote beside it) and its scores come back. Read as a version-2 bundle its stored scaler would not fit the
    inputs (refused): the mapping is what keeps it. A new bundle is version 2 and keeps ``logrange``."""
    import shutil

    from lstm_core.config import RunConfig

    stored = json.loads((OLD_RANGE_BUNDLE / "run.json").read_text())
    assert stored["version"] == 1 and stored["config"]["features"] == ["logabsret", "logrange"]
    loaded = load_bundle(OLD_RANGE_BUNDLE, rescore=True)  # scored again from its weights and data
    assert loaded.config.features == ("logabsret", "logrange_level")
    then = json.loads(Path(f"{OLD_RANGE_BUNDLE}.predictions.json").read_text())
    np.testing.assert_allclose(loaded.test_predictions, then, rtol=1e-12)
    assert loaded.metrics["model"].rmse == pytest.approx(stored["metrics"]["model"]["rmse"], rel=1e-12)
    relabelled = shutil.copytree(OLD_RANGE_BUNDLE, tmp_path / "as_version_2")
    (relabelled / "run.json").write_text(json.dumps({**stored, "version": 2}))
    with pytest.raises(LabError) as err:  # read the new way, its stored scaler no longer fits its inputs
        load_bundle(relabelled, rescore=True)
    assert err.value.key == "err_bundle_scaler"

    new = train_run(loaded.frame, "prices", RunConfig.for_target(target="logvol").with_(
        features=("logabsret", "logrange"), window=20, horizon=5, hidden=4, epochs=1))
    assert json.loads(bundle_members(new)["run.json"])["version"] == 2
    assert load_bundle(bundle_zip(new)).config.features == ("logabsret", "logrange")
