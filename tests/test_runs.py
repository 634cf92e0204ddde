"""Tests of lstm_core.runs: training a run, and the bundle round trip with its refusals."""

import json
import zipfile
from io import BytesIO

import numpy as np
import pytest
import torch

from lstm_core.errors import LabError
from lstm_core.runs import bundle_members, bundle_zip, load_bundle, save_bundle, train_run
from tests.helpers import TINY, tiny_frame


@pytest.fixture(scope="module")
def run():
    return train_run(tiny_frame(), "sine", TINY)


def test_run_scores_model_and_baselines(run):
    assert set(run.metrics) == {"model", "persistence", "moving_average", "drift"}
    assert run.metrics["model"]["skill"] == pytest.approx(
        1 - run.metrics["model"]["rmse"] / run.metrics["persistence"]["rmse"])
    assert len(run.test_predictions) == run.prepared.n_samples("test")


@pytest.mark.parametrize("as_zip", [False, True])
def test_round_trip_gives_identical_predictions(run, tmp_path, as_zip):
    source = bundle_zip(run) if as_zip else save_bundle(run, tmp_path / "bundle")
    loaded = load_bundle(source)
    assert loaded.config == run.config and loaded.run_id == run.run_id
    np.testing.assert_array_equal(loaded.test_predictions, run.test_predictions)
    assert loaded.metrics == json.loads(json.dumps(run.metrics))
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
    with pytest.raises(LabError, match="checksum"):
        load_bundle(_rezip(tampered))
    missing = {k: v for k, v in members.items() if k != "weights.safetensors"}
    with pytest.raises(LabError, match="missing weights"):
        load_bundle(_rezip(missing))
    with pytest.raises(LabError, match="not a zip"):
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
    fake = {"model": {"rmse": 0.0001, "skill": 0.99, "p_vs_persistence": 1e-9}}
    loaded = load_bundle(_with_record(run, metrics=fake))
    assert loaded.metrics["model"]["rmse"] == pytest.approx(run.metrics["model"]["rmse"], rel=1e-6)
    assert loaded.metrics["persistence"]["rmse"] == pytest.approx(run.metrics["persistence"]["rmse"], rel=1e-6)


@pytest.mark.parametrize("changes", [{"history": [{"epoch": 1}]}, {"history": "x"}, {"best_epoch": "x"},
                                     {"best_val_loss": [1]}, {"history": [{"epoch": 1, "train_loss": "a"}]}])
def test_malformed_run_json_fields_are_refused_with_a_sentence(run, changes):
    with pytest.raises(LabError) as err:
        load_bundle(_with_record(run, **changes))
    assert err.value.key == "err_bundle_damaged"
