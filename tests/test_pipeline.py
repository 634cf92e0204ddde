"""Tests of lstm_core.pipeline: chronological split, scalers fitted on training rows only, windows."""

import numpy as np
import pandas as pd
import pytest

from lstm_core.config import RunConfig
from lstm_core.data import load_synthetic
from lstm_core.errors import LabError
from lstm_core.pipeline import Prepared, Scaler

FRAME = load_synthetic("random_walk", n_days=400, seed=3).frame


@pytest.mark.parametrize("target,features", [("logret", ("logret",)), ("price", ("close",)), ("price", ("close", "logret"))])
@pytest.mark.parametrize("window,horizon", [(10, 1), (30, 5)])
def test_split_is_chronological_and_disjoint(target, features, window, horizon):
    p = Prepared(FRAME, RunConfig(target=target, features=features, window=window, horizon=horizon))
    train, val, test = (p.target_dates(s) for s in ("train", "val", "test"))
    assert train.max() < val.min() and val.max() < test.min()
    n = len(FRAME) - 1
    assert len(train) == int(n * 0.7) - (window - 1) - horizon
    # every target row lies in its own split's rows
    assert (p.split_ends["train"] + horizon < p.train_rows).all()
    assert (p.split_ends["val"] + horizon >= p.train_rows).all()


def test_scaler_never_sees_test_data():
    cfg = RunConfig(target="price", features=("close",), window=10)
    base = Prepared(FRAME, cfg)
    poisoned = FRAME.copy()
    test_start = base.target_dates("val").min()
    poisoned.loc[poisoned.index >= test_start, "Close"] *= 1000  # wild values in validation and test only
    changed = Prepared(poisoned, cfg)
    np.testing.assert_array_equal(base.feature_scaler.mean, changed.feature_scaler.mean)
    np.testing.assert_array_equal(base.feature_scaler.std, changed.feature_scaler.std)
    np.testing.assert_array_equal(base.target_scaler.mean, changed.target_scaler.mean)
    # and the scaler equals one fitted by hand on the training rows
    train_close = FRAME["Close"].to_numpy()[1 : 1 + base.train_rows]
    assert base.feature_scaler.mean[0] == pytest.approx(train_close.mean())
    assert base.feature_scaler.std[0] == pytest.approx(train_close.std())


def test_windows_hold_the_right_rows_and_targets():
    cfg = RunConfig(target="logret", features=("close", "logret"), window=7, horizon=2)
    p = Prepared(FRAME, cfg)
    x, y = p.tensors("test")
    assert x.shape == (p.n_samples("test"), 7, 2) and y.shape == (p.n_samples("test"),)
    w = p.window("test", 3)
    np.testing.assert_allclose(x[3].numpy(), w.x)
    close = FRAME["Close"].to_numpy()
    end_row = p.split_ends["test"][3] + 1  # row in the original frame
    np.testing.assert_allclose(w.close, close[end_row - 6 : end_row + 1])
    raw_target = np.log(close[end_row + 2] / close[end_row])
    assert p.target_scaler.inverse(np.array([[y[3].item()]]))[0, 0] == pytest.approx(raw_target, rel=1e-5)
    # to_readable rebuilds the price from the return
    assert p.to_readable("test", y.numpy())[3] == pytest.approx(close[end_row + 2], rel=1e-5)
    assert w.actual_close == pytest.approx(close[end_row + 2])


def test_window_too_long_is_refused_with_the_setting_named():
    with pytest.raises(LabError) as err:
        Prepared(FRAME, RunConfig(window=300))
    assert err.value.key == "err_split_too_small" and "Window (300)" in str(err.value)


def test_logret_refused_for_nonpositive_series():
    frame = pd.DataFrame({"Close": np.linspace(-5, 5, 300)}, index=pd.bdate_range("2020-01-01", periods=300))
    with pytest.raises(LabError) as err:
        Prepared(frame, RunConfig(target="logret", features=("logret",), window=10))
    assert err.value.key == "err_logret_nonpositive"
    p = Prepared(frame, RunConfig(target="price", features=("close",), window=10))  # the price target still works
    assert p.n_samples("test") > 0


def test_missing_column_is_named():
    frame = FRAME[["Close"]]
    with pytest.raises(LabError) as err:
        Prepared(frame, RunConfig(features=("volume",)))
    assert err.value.key == "err_missing_column" and "Volume" in str(err.value)


def test_scaler_round_trip():
    values = np.array([[1.0, 10.0], [3.0, 10.0], [5.0, 10.0]])
    s = Scaler.fit(values)
    np.testing.assert_allclose(s.inverse(s.transform(values)), values)
    assert s.std[1] == 1.0  # a constant column is not divided by zero
    assert Scaler.from_dict(s.to_dict()).mean.tolist() == [3.0, 10.0]
