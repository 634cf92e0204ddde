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
    p = Prepared(FRAME, RunConfig(target=target, features=features, window=window, horizon=horizon, normalize="none"))
    train, val, test = (p.target_dates(s) for s in ("train", "val", "test"))
    assert train.max() < val.min() and val.max() < test.min()
    n = len(FRAME) - 1
    assert len(train) == int(n * 0.7) - (window - 1) - horizon
    # every target row lies in its own split's rows
    assert (p.split_ends["train"] + horizon < p.train_rows).all()
    assert (p.split_ends["val"] + horizon >= p.train_rows).all()


def test_scaler_never_sees_test_data():
    cfg = RunConfig(target="price", features=("close",), window=10, normalize="none")
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
    cfg = RunConfig(target="logret", features=("close", "logret"), window=7, horizon=2, normalize="none")
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
    with pytest.raises(LabError) as err:  # each window read relative to its last price would divide by them
        Prepared(frame, RunConfig(target="price", features=("close",), window=10, normalize="window"))
    assert err.value.key == "err_window_level_nonpositive" and err.value.params["n"] == 150
    p = Prepared(frame, RunConfig(target="price", features=("close",), window=10, normalize="none"))  # the way out
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


def _vol_frame(scale_after: int | None = None, factor: float = 3.0, n: int = 600, seed: int = 4) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    returns = 0.01 * rng.standard_normal(n)
    if scale_after is not None:
        returns[scale_after:] *= factor
    close = 100 * np.exp(np.cumsum(returns))
    return pd.DataFrame({"Close": close}, index=pd.bdate_range("2001-01-01", periods=n, name="Date"))


def test_a_normalised_volatility_window_is_read_relative_to_its_own_level_and_mapped_back():
    from lstm_core.targets.volatility import window_log_level

    cfg = RunConfig(window=30, horizon=5, normalize="window")
    p = Prepared(_vol_frame(), cfg)
    ends = p.split_ends["test"][:7]
    level = window_log_level(p.logret, ends, 30)
    x = p.inputs_at(ends).double().numpy()[:, :, 0]  # [S, T]
    rows = ends[:, None] + np.arange(-29, 1)
    relative = np.log(np.abs(p.logret[rows]) + 1e-4) - level[:, None]
    np.testing.assert_allclose(x, (relative - p.feature_scaler.mean[0]) / p.feature_scaler.std[0], rtol=1e-4, atol=1e-5)
    # the network learns log(future vol) minus the window's level; unscaling maps its output back to log vol
    y = p.tensors_at(ends)[1].numpy()
    np.testing.assert_allclose(p.unscale(y, ends)[:, 0], p.raw_targets_at(ends)[:, 0], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(p.target_scaler.inverse(y[:, None])[:, 0], p.raw_targets_at(ends)[:, 0] - level,
                               rtol=1e-4, atol=1e-4)


def test_normalised_inputs_do_not_move_when_the_volatility_level_does():
    """Returns three times larger after row 400: the windows there read the same relative values, so a model's forecast
    scales with the level instead of staying where training left it."""
    cfg = RunConfig(window=30, horizon=5, normalize="window")
    calm, wild = Prepared(_vol_frame(seed=5), cfg), Prepared(_vol_frame(scale_after=420, seed=5), cfg)
    ends = calm.split_ends["test"]
    late = ends[ends - 29 > 421]  # windows wholly inside the scaled stretch
    assert len(late) > 20
    a = (calm.inputs_at(late).double() * calm.feature_scaler.std[0] + calm.feature_scaler.mean[0]).numpy()
    b = (wild.inputs_at(late).double() * wild.feature_scaler.std[0] + wild.feature_scaler.mean[0]).numpy()
    # the floor inside log(|r| + 1e-4) is all that differs, on the smallest days: a few hundredths of log 3 = 1.10
    assert np.median(np.abs(a - b)) < 0.02 and abs(float((b - a).mean())) < 0.05
    plain = RunConfig(window=30, horizon=5, normalize="none")
    calm_plain, wild_plain = Prepared(_vol_frame(seed=5), plain), Prepared(_vol_frame(scale_after=420, seed=5), plain)
    shift = (wild_plain.inputs_at(late) - calm_plain.inputs_at(late)).double().mean() * calm_plain.feature_scaler.std[0]
    assert float(shift) > 1.0  # without it every input of the window moves by about log 3


def test_a_normalised_price_target_is_a_multiple_of_the_last_price():
    cfg = RunConfig(target="price", features=("close",), window=10, horizon=2, normalize="window")
    p = Prepared(FRAME, cfg)
    ends = p.split_ends["test"]
    x = p.inputs_at(ends).double().numpy()[:, :, 0]
    rows = ends[:, None] + np.arange(-9, 1)
    np.testing.assert_allclose(x * p.feature_scaler.std[0] + p.feature_scaler.mean[0],
                               p.close[rows] / p.close[ends][:, None], rtol=1e-5)
    y = p.tensors_at(ends)[1].numpy()
    np.testing.assert_allclose(p.unscale(y, ends)[:, 0], p.close[ends + 2], rtol=1e-5)
