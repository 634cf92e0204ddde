"""Tests of lstm_core.config: validation names the setting; round trip through a dict."""

import pytest

from lstm_core.config import RunConfig
from lstm_core.errors import LabError


@pytest.mark.parametrize("change,name", [
    ({"lr": 0.0}, "lr"), ({"lr": 2.0}, "lr"), ({"hidden": 0}, "hidden"), ({"window": 1}, "window"),
    ({"batch": 0}, "batch"), ({"epochs": 0}, "epochs"), ({"dropout": 0.95}, "dropout"), ({"layers": 9}, "layers"),
    ({"target": "volume"}, "target"), ({"cell": "transformer"}, "cell"), ({"features": ("close", "close")}, "features"),
])
def test_out_of_range_settings_are_named(change, name):
    with pytest.raises(LabError) as err:
        RunConfig(**change)
    assert f"'{name}'" in str(err.value)


def test_fractions_must_leave_a_test_period():
    with pytest.raises(LabError) as err:
        RunConfig(train_frac=0.9, val_frac=0.1)
    assert err.value.key == "err_cfg_no_test"


def test_round_trip_and_unknown_keys_ignored():
    cfg = RunConfig(features=("close", "volume"), hidden=7, lr=0.01)
    d = cfg.to_dict()
    assert d["features"] == ["close", "volume"]
    assert RunConfig.from_dict({**d, "from_the_future": 1}) == cfg
