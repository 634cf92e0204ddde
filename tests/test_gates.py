"""Tests of gate extraction (against nn.LSTM and a step-by-step reference), saturation, downsampling and the gate figures."""

from __future__ import annotations

import json
import re
import time

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from lstm_core.config import Cell, RunConfig
from lstm_core.errors import LabError
from lstm_core.gates import (
    ARRAYS,
    GateTrace,
    Saturation,
    UnitOrder,
    extract_gates,
    extract_gates_reference,
    gate_saturation,
    order_units,
    plan_downsampling,
    unit_activity,
    unit_scores,
)
from lstm_core.i18n import gates as gates_strings
from lstm_core.i18n import t
from lstm_core.model import build_model
from lstm_core.plots.gates import (
    SearchRow,
    before_after_figure,
    date_tick_stops,
    downsampling_notes,
    gate_animation_figure,
    search_figure,
    unit_lines_figure,
)
from lstm_core.plots.saturation import SATURATION_MERGE, saturation_figure, saturation_groups

TOL = 1e-5


def make_lstm(features: int, hidden: int, layers: int, seed: int = 0, bias: bool = True) -> nn.LSTM:
    torch.manual_seed(seed)
    return nn.LSTM(features, hidden, layers, batch_first=True, bias=bias).eval()


def random_window(steps: int, features: int, seed: int = 1, batch: int | None = None) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    shape = (steps, features) if batch is None else (batch, steps, features)
    return torch.randn(shape, generator=generator)


def hand_trace(values: dict[str, np.ndarray]) -> GateTrace:
    """A one-layer trace whose gates are given, other arrays zero."""
    shape = next(iter(values.values())).shape
    layer = {name: np.asarray(values.get(name, np.zeros(shape)), dtype=np.float32) for name in ARRAYS}
    return GateTrace((layer,), batched=False)


@pytest.fixture(scope="module")
def trace_250() -> GateTrace:
    """The benchmark case: 250 steps through a 2-layer LSTM of 64 units."""
    return extract_gates(make_lstm(1, 64, 2), random_window(250, 1))


# ---- extraction ----------------------------------------------------------------------------------


@pytest.mark.parametrize("steps", [1, 7, 60])
@pytest.mark.parametrize("features", [1, 4])
@pytest.mark.parametrize("hidden", [1, 5, 32])
@pytest.mark.parametrize("layers", [1, 2, 3])
def test_matches_nn_lstm_and_reference(layers: int, hidden: int, features: int, steps: int) -> None:
    lstm = make_lstm(features, hidden, layers, seed=layers * 100 + hidden)
    x = random_window(steps, features, seed=steps)
    with torch.no_grad():
        out, (h_n, c_n) = lstm(x)  # [T, H], ([L, H], [L, H])
    trace = extract_gates(lstm, x)
    assert trace.n_layers == layers and trace.steps == steps and trace.hidden == hidden and not trace.batched
    np.testing.assert_allclose(trace.layers[-1]["h"], out.numpy(), atol=TOL, rtol=0)
    h_last, c_last = trace.final_state()
    assert h_last.shape == c_last.shape == (layers, hidden)
    np.testing.assert_allclose(h_last, h_n.numpy(), atol=TOL, rtol=0)
    np.testing.assert_allclose(c_last, c_n.numpy(), atol=TOL, rtol=0)
    reference = extract_gates_reference(lstm, x)
    for k in range(layers):
        for name in ARRAYS:
            assert trace.layers[k][name].shape == (steps, hidden)
            assert trace.layers[k][name].dtype == np.float32
            np.testing.assert_allclose(trace.layers[k][name], reference.layers[k][name], atol=TOL, rtol=0)


@pytest.mark.parametrize("with_state", [False, True])
@pytest.mark.parametrize("bias", [True, False])
def test_batch_and_initial_state(with_state: bool, bias: bool) -> None:
    lstm = make_lstm(3, 6, 2, seed=4, bias=bias)
    x = random_window(9, 3, batch=4)  # [B, T, F]
    state = (torch.randn(2, 4, 6) * 0.5, torch.randn(2, 4, 6)) if with_state else None
    with torch.no_grad():
        out, (h_n, c_n) = lstm(x, state)
    trace = extract_gates(lstm, x, state)
    assert trace.batched and trace.batch == 4
    assert trace.layers[0]["i"].shape == (4, 9, 6)
    np.testing.assert_allclose(trace.layers[-1]["h"], out.numpy(), atol=TOL, rtol=0)
    h_last, c_last = trace.final_state()
    assert h_last.shape == (2, 4, 6)
    np.testing.assert_allclose(h_last, h_n.numpy(), atol=TOL, rtol=0)
    np.testing.assert_allclose(c_last, c_n.numpy(), atol=TOL, rtol=0)
    reference = extract_gates_reference(lstm, x, state)
    for k in range(2):
        for name in ARRAYS:
            np.testing.assert_allclose(trace.layers[k][name], reference.layers[k][name], atol=TOL, rtol=0)
    one = trace.sample(2)
    assert not one.batched and one.layers[1]["c"].shape == (9, 6)
    np.testing.assert_array_equal(one.layers[1]["c"], trace.layers[1]["c"][2])


def test_unbatched_initial_state_matches_nn_lstm() -> None:
    lstm = make_lstm(2, 4, 2, seed=8)
    x = random_window(12, 2)
    state = (torch.full((2, 4), 0.3), torch.full((2, 4), -0.7))  # [L, H] for an unbatched window
    with torch.no_grad():
        out, (h_n, c_n) = lstm(x, state)
    trace = extract_gates(lstm, x, state)
    np.testing.assert_allclose(trace.layers[-1]["h"], out.numpy(), atol=TOL, rtol=0)
    np.testing.assert_allclose(trace.final_state()[1], c_n.numpy(), atol=TOL, rtol=0)
    # the first step's cell state starts from c_0 = -0.7: c_1 = f_1 * (-0.7) + i_1 * g_1
    first = trace.layers[0]
    np.testing.assert_allclose(first["c"][0], first["f"][0] * -0.7 + first["i"][0] * first["g"][0], atol=TOL)


def test_numpy_input_and_forecaster_model() -> None:
    config = RunConfig(hidden=8, layers=2, features=("logret", "volume"))
    model = build_model(config).eval()
    x = np.random.default_rng(0).normal(size=(20, 2)).astype(np.float64)
    trace = extract_gates(model, x)
    with torch.no_grad():
        prediction = model(torch.as_tensor(x, dtype=torch.float32).unsqueeze(0))  # [1]
        from_trace = model.head(torch.as_tensor(trace.layers[-1]["h"][-1]))  # last layer's final h -> head
    assert prediction.item() == pytest.approx(from_trace.item(), abs=TOL)


@pytest.mark.parametrize("layers", [1, 3])
def test_gate_ranges_and_recurrence(layers: int) -> None:
    lstm = make_lstm(2, 16, layers, seed=3)
    with torch.no_grad():  # larger weights so gates saturate and c leaves [-1, 1]
        for p in lstm.parameters():
            p.mul_(4.0)
    trace = extract_gates(lstm, random_window(80, 2) * 3)
    for arrays in trace.layers:
        for name in ("i", "f", "o"):
            assert arrays[name].min() >= 0.0 and arrays[name].max() <= 1.0
        for name in ("g", "h"):
            assert arrays[name].min() >= -1.0 and arrays[name].max() <= 1.0
        c_prev = np.vstack([np.zeros((1, 16), np.float32), arrays["c"][:-1]])  # [T, H]
        np.testing.assert_allclose(arrays["c"], arrays["f"] * c_prev + arrays["i"] * arrays["g"], atol=TOL)
        np.testing.assert_allclose(arrays["h"], arrays["o"] * np.tanh(arrays["c"]), atol=TOL)
    first = trace.layers[0]
    assert first["f"].min() < 0.05 and first["f"].max() > 0.95  # the scaling did saturate
    assert np.abs(first["c"]).max() > 1.0


def test_json_shapes_and_rounding() -> None:
    trace = extract_gates(make_lstm(1, 5, 2), random_window(7, 1))
    payload = trace.to_json()
    assert len(payload["layers"]) == 2
    for layer, arrays in zip(payload["layers"], trace.layers, strict=True):
        assert set(layer) == set(ARRAYS)
        for name in ARRAYS:
            assert len(layer[name]) == 7 and all(len(row) == 5 for row in layer[name])
            np.testing.assert_allclose(np.array(layer[name]), arrays[name], rtol=1e-4, atol=1e-9)
    text = json.dumps(payload)
    assert json.loads(text) == payload
    # at most 5 significant digits: no number in the text has more than 5 digits after its leading zeros
    digits = [len(m.lstrip("-0.").replace(".", "")) for m in re.findall(r"-?\d+\.\d+", text)]
    assert max(digits) <= 5
    batched = extract_gates(make_lstm(1, 5, 1), random_window(7, 1, batch=3)).to_json()
    assert np.array(batched["layers"][0]["c"]).shape == (3, 7, 5)


def test_errors_a_user_can_cause() -> None:
    with pytest.raises(LabError) as err:
        extract_gates(nn.Linear(1, 4), random_window(5, 1))
    assert err.value.key == "err_gates_not_lstm" and "Linear" in str(err.value)
    with pytest.raises(LabError) as err:
        extract_gates(make_lstm(2, 4, 1), random_window(5, 3))
    assert err.value.key == "err_gates_window_features" and err.value.params == {"expected": 2, "got": 3}
    with pytest.raises(LabError) as err:
        extract_gates(make_lstm(2, 4, 1), torch.zeros(0, 2))
    assert err.value.key == "err_gates_empty_window"
    with pytest.raises(ValueError):
        extract_gates(nn.LSTM(1, 4, batch_first=True, bidirectional=True), random_window(5, 1))


# ---- saturation, ranking and downsampling ---------------------------------------------------------


def test_saturation_on_a_hand_made_case() -> None:
    steps = 10
    i = np.full((steps, 2), 0.5)
    i[:3, 0] = 0.05  # unit 0: 3 of 10 steps shut
    i[3:5, 0] = 0.95  # and 2 of 10 open
    i[:, 1] = [0.1, 0.9, 0.0999, 0.9001, 1.0, 0.0, 0.5, 0.5, 0.5, 0.5]  # thresholds are strict
    f = np.full((steps, 2), 0.99)  # always open
    o = np.linspace(0.0, 0.99, steps)[:, None].repeat(2, axis=1)  # 0, 0.11, ..., 0.99
    sat = gate_saturation(hand_trace({"i": i, "f": f, "o": o}))
    np.testing.assert_allclose(sat.left["i"], [0.3, 0.2])
    np.testing.assert_allclose(sat.right["i"], [0.2, 0.2])
    np.testing.assert_allclose(sat.left["f"], [0.0, 0.0])
    np.testing.assert_allclose(sat.right["f"], [1.0, 1.0])
    np.testing.assert_allclose(sat.left["o"], [0.1, 0.1])
    np.testing.assert_allclose(sat.right["o"], [0.1, 0.1])
    assert sat.steps == steps and set(sat.left) == {"i", "f", "o"}
    wider = gate_saturation(hand_trace({"i": i, "f": f, "o": o}), low=0.2, high=0.8)
    np.testing.assert_allclose(wider.left["o"], [0.2, 0.2])
    np.testing.assert_allclose(wider.right["o"], [0.2, 0.2])


def test_order_units_by_change() -> None:
    c = np.zeros((20, 3))
    c[:, 2] = np.sin(np.arange(20))  # large swing
    c[:, 0] = 0.1 * np.sin(np.arange(20))  # small swing
    trace = hand_trace({"c": c})
    np.testing.assert_array_equal(order_units(trace, UnitOrder.CHANGE), [2, 0, 1])
    np.testing.assert_allclose(unit_scores(trace, UnitOrder.CHANGE), [np.std(c[:, 0]), 0.0, np.std(c[:, 2])], rtol=1e-6)
    np.testing.assert_allclose(unit_activity(trace), unit_scores(trace, UnitOrder.CHANGE), rtol=1e-6)
    np.testing.assert_array_equal(order_units(trace, UnitOrder.INDEX), [0, 1, 2])
    np.testing.assert_array_equal(order_units(trace, "change"), [2, 0, 1])  # the enum's value works too


def test_order_units_by_correlation_with_the_price() -> None:
    steps = 50
    prices = 100 + np.cumsum(np.random.default_rng(0).normal(size=steps))
    noise = np.random.default_rng(1).normal(size=steps)
    h = np.zeros((steps, 4))
    h[:, 0] = 0.3 * noise  # unrelated to the price
    h[:, 1] = -0.01 * (prices - 100)  # follows the price exactly, upside down, and barely moves
    h[:, 2] = 0.0  # flat: correlation undefined, scored 0
    h[:, 3] = 0.02 * (prices - 100) + 0.05 * noise  # follows it loosely
    trace = hand_trace({"h": h})
    scores = unit_scores(trace, UnitOrder.PRICE, prices=prices)
    expected = [abs(np.corrcoef(h[:, u], prices)[0, 1]) for u in (0, 1, 3)]
    np.testing.assert_allclose(scores[[0, 1, 3]], expected, rtol=1e-6)  # h is float32
    assert scores[1] == pytest.approx(1.0) and scores[2] == 0.0
    np.testing.assert_array_equal(order_units(trace, UnitOrder.PRICE, prices=prices), [1, 3, 0, 2])
    # the cell-state spread ranks differently: the busiest unit is not the one that follows the price
    assert order_units(hand_trace({"c": h}), UnitOrder.CHANGE)[0] != 1
    with pytest.raises(ValueError):
        unit_scores(trace, UnitOrder.PRICE)  # needs the prices
    with pytest.raises(ValueError):
        unit_scores(trace, UnitOrder.PRICE, prices=prices[:-1])


@pytest.mark.parametrize(
    ("steps", "units", "stride", "frames", "shown"),
    [
        (250, 64, 1, 250, 64),  # the benchmark case: nothing left out
        (1, 1, 1, 1, 1),
        (251, 8, 2, 126, 8),
        (1000, 64, 4, 250, 64),
        (250, 512, 1, 250, 333),  # 250 * 6 * 512 cells > 500k: 500000 // 1500 units
        (300, 2000, 2, 150, 555),
    ],
)
def test_plan_downsampling(steps: int, units: int, stride: int, frames: int, shown: int) -> None:
    plan = plan_downsampling(steps, units)
    assert (plan.step_stride, plan.frames, plan.shown_units) == (stride, frames, shown)
    assert plan.step_index[-1] == steps - 1 and np.all(np.diff(plan.step_index) == stride)
    assert plan.frames * 6 * plan.shown_units <= max(500_000, 6 * plan.frames)
    assert len(np.unique(plan.unit_index)) == shown and plan.unit_index.max() < units
    assert plan.reduced == (frames < steps or shown < units)


def test_plan_downsampling_order_and_notes() -> None:
    order = np.array([7, 2, 9, 0, 1, 3, 4, 5, 6, 8])
    plan = plan_downsampling(4, 10, rows=1, max_cells=12, unit_order=order)  # room for 3 units
    np.testing.assert_array_equal(plan.unit_index, [7, 2, 9])  # the first three, in the order given
    assert plan.units_thinned
    plan = plan_downsampling(4, 10, rows=1, unit_order=order, max_units=4)  # the user asked for 4
    np.testing.assert_array_equal(plan.unit_index, [7, 2, 9, 0])
    assert plan.units_reduced and not plan.units_thinned
    assert downsampling_notes(plan, "en", order=UnitOrder.CHANGE) == [
        t("gates_units_shown", "en", shown=4, units=10, order=t("gates_order_note_change", "en"))
    ]
    with pytest.raises(ValueError):
        plan_downsampling(4, 10, unit_order=[0, 1, 2])  # not a permutation of the 10 units
    with pytest.raises(ValueError):
        plan_downsampling(4, 10, max_units=0)
    assert downsampling_notes(plan_downsampling(250, 64)) == []
    assert downsampling_notes(plan_downsampling(250, 64), order=UnitOrder.INDEX) == []
    notes = downsampling_notes(plan_downsampling(1000, 512), "en")
    assert notes == [
        t("gates_downsampled_steps", "en", stride=4, frames=250, steps=1000),
        t("gates_downsampled_units", "en", shown=333, units=512),
    ]
    assert "250" in downsampling_notes(plan_downsampling(1000, 8), "zh")[0]


# ---- figures ----------------------------------------------------------------------------------------


def test_animation_frames_slider_and_data() -> None:
    trace = extract_gates(make_lstm(1, 5, 2), random_window(30, 1))
    prices = np.linspace(100, 130, 30)
    dates = pd.bdate_range("2024-01-01", periods=30)
    fig = gate_animation_figure(trace, prices, dates, layer=1, prediction=131.5, prediction_label="131.5")
    assert [tr.type for tr in fig.data] == ["scatter", "scatter", "heatmap"]  # prices, prediction, heatmap
    assert list(fig.data[1].y) == [131.5] and fig.data[1].x == ("2024-02-12",)  # the business day after the window
    assert len(fig.frames) == 30
    assert [f.name for f in fig.frames] == [str(s) for s in range(30)]
    slider = fig.layout.sliders[0]
    assert len(slider.steps) == 30 and slider.steps[0].label == "2024-01-01" and slider.steps[-1].args[0] == ("29",)
    assert [b.method for b in fig.layout.updatemenus[0].buttons] == ["animate", "animate"]
    frame = fig.frames[12]
    # a frame holds the heatmap alone (a scatter trace in a frame left the heatmap blank in Chromium);
    # the cursor moves as two layout shapes: a line through the window and a dot on the price
    assert frame.traces == (2,) and [d.type for d in frame.data] == ["heatmap"]
    line, dot = frame.layout.shapes
    assert line.type == "line" and line.x0 == line.x1 == dates[12].strftime("%Y-%m-%d")
    assert line.y0 < prices.min() and line.y1 > prices.max()
    assert dot.type == "circle" and dot.xanchor == dates[12].strftime("%Y-%m-%d")
    assert dot.yanchor == pytest.approx(prices[12]) and (dot.xsizemode, dot.ysizemode) == ("pixel", "pixel")
    assert fig.layout.shapes[1].yanchor == pytest.approx(prices[0])  # at rest: the first frame's cursor
    z = np.asarray(frame.data[0].z)
    assert z.shape == (6, 5)
    expected = np.stack([trace.layers[1][name][12] for name in ARRAYS])  # rows i, f, g, o, c, h
    np.testing.assert_allclose(z, expected, atol=1e-6)
    np.testing.assert_allclose(np.asarray(fig.data[2].z), np.stack([trace.layers[1][n][0] for n in ARRAYS]), atol=1e-6)
    assert fig.data[2].y == tuple(t(f"gates_short_{name}") for name in ARRAYS)
    assert fig.layout.meta["downsampling"]["reduced"] is False


def test_animation_without_dates_uses_step_numbers_and_zh_labels() -> None:
    trace = extract_gates(make_lstm(1, 3, 1), random_window(4, 1))
    fig = gate_animation_figure(trace, [1.0, 2.0, 3.0, 2.5], lang="zh")
    assert list(fig.data[0].x) == [1, 2, 3, 4]
    assert len(fig.data) == 2  # no prediction trace
    assert fig.frames[2].traces == (1,)
    assert fig.frames[2].layout.shapes[0].x0 == 3 and fig.frames[2].layout.shapes[1].yanchor == 3.0
    assert fig.layout.updatemenus[0].buttons[0].label == t("gates_play", "zh")
    assert fig.data[1].y[1] == t("gates_short_f", "zh")
    assert not fig.layout.xaxis.tickformatstops  # step numbers, not dates
    with pytest.raises(ValueError):
        gate_animation_figure(trace, [1.0, 2.0])


def test_animation_downsamples_beyond_the_limits() -> None:
    lstm = make_lstm(1, 300, 1)
    trace = extract_gates(lstm, random_window(600, 1))
    fig = gate_animation_figure(trace, np.arange(600.0))
    assert len(fig.frames) == 200 and len(fig.layout.sliders[0].steps) == 200  # stride 3
    assert fig.frames[-1].name == "599" and fig.frames[0].name == "2"
    assert np.asarray(fig.frames[0].data[0].z).shape == (6, 300)  # 200 * 6 * 300 = 360k cells: all units
    meta = fig.layout.meta["downsampling"]
    assert meta["step_stride"] == 3 and meta["frames"] == 200 and meta["reduced"] is True
    plan = plan_downsampling(600, 300, max_cells=120_000)  # the page may ask for a lighter figure
    fig = gate_animation_figure(trace, np.arange(600.0), plan=plan)
    assert np.asarray(fig.frames[0].data[0].z).shape == (6, 100)
    assert len(fig.data[-1].x) == 100 and fig.data[-1].x[-1] == "299"
    with pytest.raises(ValueError):
        gate_animation_figure(trace, np.arange(600.0), plan=plan_downsampling(500, 300))


def test_animation_size_and_build_time(trace_250: GateTrace) -> None:
    prices = 100 + np.cumsum(np.random.default_rng(0).normal(size=250))
    dates = pd.bdate_range("2024-01-01", periods=250)
    gate_animation_figure(trace_250, prices, dates, layer=1)  # warm-up: plotly's validators load lazily
    start = time.perf_counter()
    fig = gate_animation_figure(trace_250, prices, dates, layer=1, prediction=float(prices[-1]))
    seconds = time.perf_counter() - start
    size_mb = len(fig.to_json()) / 1e6
    assert len(fig.frames) == 250
    assert size_mb < 2.0, f"figure JSON is {size_mb:.2f} MB"
    assert seconds < 1.0, f"figure took {seconds:.2f} s to build"


def test_unit_lines_figure(trace_250: GateTrace) -> None:
    fig = unit_lines_figure(trace_250, [3, 10], layer=1)
    assert len(fig.data) == 2 * 5  # two units, rows i, f, o, c, h
    assert [tr.showlegend for tr in fig.data].count(True) == 2
    np.testing.assert_allclose(fig.data[3].y, trace_250.layers[1]["c"][:, 3])  # unit 3, fourth row (c)
    np.testing.assert_allclose(fig.data[9].y, trace_250.layers[1]["h"][:, 10])
    assert fig.data[0].name == t("gates_unit_n", n=3)
    assert fig.layout.yaxis.range == (-0.02, 1.02)  # sigmoid gate rows share the [0, 1] range
    with pytest.raises(LabError) as err:
        unit_lines_figure(trace_250, [])
    assert err.value.key == "err_gates_no_units"
    with pytest.raises(LabError) as err:
        unit_lines_figure(trace_250, [64])
    assert err.value.params == {"unit": 64, "last": 63}


def drawn_positions(fig) -> dict[tuple[str, int], tuple[float, float]]:
    """Where each (gate, unit) is drawn in a saturation figure, read from the markers' members (``meta``)."""
    drawn = {}
    for trace in fig.data[1:]:
        for x, y, members in zip(trace.x, trace.y, trace.meta, strict=True):
            for gate, unit in members:
                assert (gate, unit) not in drawn, "a unit drawn twice"
                drawn[(gate, unit)] = (x, y)
    return drawn


def test_saturation_figure() -> None:
    i = np.array([[0.05, 0.5], [0.95, 0.5], [0.05, 0.95], [0.5, 0.5]])
    sat = gate_saturation(hand_trace({"i": i, "f": np.full((4, 2), 0.97), "o": np.zeros((4, 2))}))
    fig = saturation_figure(sat, lang="en")
    scatter = {tr.name: tr for tr in fig.data[1:]}
    assert list(scatter) == [t("gates_name_i"), t("gates_name_f"), t("gates_name_o")]
    # i: unit 0 at (50 %, 25 %), unit 1 at (0, 25 %); f: both units on (0, 100 %), one marker of 2; o likewise
    assert drawn_positions(fig) == {("i", 0): (0.5, 0.25), ("i", 1): (0.0, 0.25), ("f", 0): (0.0, 1.0),
                                    ("f", 1): (0.0, 1.0), ("o", 0): (1.0, 0.0), ("o", 1): (1.0, 0.0)}
    assert scatter[t("gates_name_f")].text == ("2",) and scatter[t("gates_name_i")].text == ("", "")
    assert scatter[t("gates_name_f")].marker.size[0] > scatter[t("gates_name_i")].marker.size[0]
    assert "f: units 0, 1" in scatter[t("gates_name_f")].hovertext[0]
    assert fig.layout.xaxis.title.text == t("gates_sat_left", low=0.1)
    assert not fig.layout.annotations  # every gate saturates sometimes


def test_saturation_figure_draws_every_unit_at_its_own_values() -> None:
    """The reported case: dots drawn up to 20 points from their values next to "96 of 96 never saturate"."""
    rng = np.random.default_rng(0)
    left = {name: np.zeros(64) for name in ("i", "f", "o")}
    right = {name: np.zeros(64) for name in ("i", "f", "o")}
    left["i"][5], right["f"][9] = 0.4, 0.97
    left["o"][:10] = rng.uniform(0, 0.3, 10)  # scattered ones, some near each other
    right["o"][10:13] = [0.2031, 0.2049, 0.2012]  # three within half a point: one marker
    sat = Saturation(left, right, 0.1, 0.9, steps=7680)
    fig = saturation_figure(sat, lang="zh")
    drawn = drawn_positions(fig)
    assert len(drawn) == 192
    for (gate, unit), (x, y) in drawn.items():
        assert abs(x - left[gate][unit]) <= SATURATION_MERGE and abs(y - right[gate][unit]) <= SATURATION_MERGE, (gate, unit)
    groups = saturation_groups(sat)
    corner = next(g for g in groups if (g.x, g.y) == (0.0, 0.0))
    assert len(corner.members) == 192 - 1 - 1 - 13 and corner.gates == ("i", "f", "o")
    mixed = next(tr for tr in fig.data[1:] if tr.name == t("gates_sat_mixed", "zh"))
    assert list(mixed.x) == [0.0] and mixed.text == (str(len(corner.members)),)
    assert next(g for g in groups if ("o", 10) in g.members).members == (("o", 10), ("o", 11), ("o", 12))
    never = 192 - 2 - 13
    assert fig.layout.annotations[0].text == t("gates_sat_never", "zh", n=never, total=192)


def test_search_figure_shades_each_stretch_and_draws_events_as_bars() -> None:
    inputs = np.stack([np.linspace(-1, 1, 20), (np.arange(20) == 7).astype(float)], axis=1)  # [20, 2]
    rows = [SearchRow("picked", np.arange(1, 21), inputs, 7, 8), SearchRow("match 1", np.arange(1, 21), inputs[::-1], 12, 13)]
    fig = search_figure(rows, ["Value", "Marker"], bars=[1], x_title="Step")
    assert [tr.type for tr in fig.data] == ["scatter", "bar", "scatter", "bar"]
    np.testing.assert_allclose(fig.data[3].y, inputs[::-1, 1])
    assert [tr.showlegend for tr in fig.data] == [True, True, False, False]
    shaded = [(shape.x0, shape.x1, shape.xref) for shape in fig.layout.shapes]
    assert shaded == [(7, 8, "x"), (12, 13, "x2")]
    assert [a.text for a in fig.layout.annotations] == ["picked", "match 1"]
    with pytest.raises(ValueError):
        search_figure([], ["Value"])


def test_animation_draws_every_input_channel_with_the_price_as_context() -> None:
    trace = extract_gates(make_lstm(2, 3, 1), random_window(10, 2))
    inputs = np.stack([np.linspace(-1, 1, 10), (np.arange(10) == 4).astype(float)], axis=1)
    fig = gate_animation_figure(trace, inputs, input_names=["Value", "Marker"], bars=[1], input_title="As read")
    assert [tr.type for tr in fig.data] == ["scatter", "bar", "heatmap"]
    np.testing.assert_allclose(fig.data[1].y, inputs[:, 1])
    assert fig.frames[0].traces == (2,) and fig.layout.showlegend
    assert fig.layout.yaxis.title.text == "As read" and fig.layout.yaxis.range[0] < -1
    assert fig.frames[3].layout.shapes[1].yanchor == pytest.approx(inputs[3, 0])  # the cursor rides the first channel
    prices = np.linspace(100, 110, 10)
    dates = pd.bdate_range("2024-01-01", periods=10)
    fig = gate_animation_figure(trace, inputs[:, :1], dates, context=prices, context_name="Price", prediction=111.0)
    assert [tr.type for tr in fig.data] == ["scatter", "scatter", "scatter", "heatmap"]  # input, price, star, heatmap
    assert (fig.data[1].yaxis, fig.data[2].yaxis) == ("y3", "y3") and fig.layout.yaxis3.overlaying == "y"
    np.testing.assert_allclose(fig.data[1].y, prices)
    assert fig.data[3].xaxis == "x2" and fig.data[3].yaxis == "y2"  # the heatmap keeps its own subplot
    with pytest.raises(ValueError):
        gate_animation_figure(trace, inputs, input_names=["one"])
    with pytest.raises(ValueError):
        gate_animation_figure(trace, inputs[:, 0], context=prices[:5])


def test_before_after_figure() -> None:
    x = random_window(40, 1)
    before = extract_gates(make_lstm(1, 6, 2, seed=0), x)
    after = extract_gates(make_lstm(1, 6, 2, seed=1), x)
    fig = before_after_figure(before, after, gate="f", layer=1)
    heatmaps = [tr for tr in fig.data if tr.type == "heatmap"]
    lines = [tr for tr in fig.data if tr.type == "scatter"]
    assert len(heatmaps) == 2 and len(lines) == 2
    np.testing.assert_allclose(np.asarray(heatmaps[0].z), before.layers[1]["f"].T, atol=1e-7)  # [units, steps]
    np.testing.assert_allclose(np.asarray(heatmaps[1].z), after.layers[1]["f"].T, atol=1e-7)
    np.testing.assert_allclose(lines[1].y, after.layers[1]["f"].mean(axis=1), atol=1e-6)
    assert (fig.layout.coloraxis.cmin, fig.layout.coloraxis.cmax) == (0.0, 1.0)
    assert fig.layout.annotations[0].text == t("gates_before")
    big = extract_gates(make_lstm(1, 6, 1), random_window(1500, 1))
    fig = before_after_figure(big, big, gate="c", max_cells=6000)
    z = np.asarray(fig.data[0].z)
    assert z.shape[1] == 750 and z.shape[0] == 4  # 1000 columns at most -> stride 2; 6000 // (750 * 2) units
    assert fig.layout.meta["downsampling"]["reduced"] is True
    with pytest.raises(ValueError):
        before_after_figure(before, big)


# ---- strings ------------------------------------------------------------------------------------------


def test_gate_strings_have_both_languages_and_the_same_placeholders() -> None:
    assert gates_strings.EN.keys() == gates_strings.ZH.keys()
    for key, english in gates_strings.EN.items():
        placeholders = set(re.findall(r"\{(\w+)", english))
        assert placeholders == set(re.findall(r"\{(\w+)", gates_strings.ZH[key])), key
    for name in ARRAYS:
        assert t(f"gates_name_{name}", "zh") != t(f"gates_name_{name}", "en")


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_date_ticks_follow_the_language(lang: str) -> None:
    """plotly.js names months in English by itself: every date axis gets the language's formats."""
    stops = date_tick_stops(lang)
    assert [s["dtickrange"] for s in stops] == [[None, 86_400_000], [86_400_000, "M1"], ["M1", "M12"], ["M12", None]]
    assert all(("%b" in s["value"] or s["value"] == "%Y") == (lang == "en") for s in stops)  # no month names in zh
    trace = extract_gates(make_lstm(1, 4, 1), random_window(30, 1))
    dates = pd.bdate_range("2024-01-01", periods=30)
    animation = gate_animation_figure(trace, np.linspace(1, 2, 30), dates, lang=lang)
    assert [s.value for s in animation.layout.xaxis.tickformatstops] == [s["value"] for s in stops]
    assert not animation.layout.xaxis2.tickformatstops  # the heatmap's x axis holds unit numbers
    lines = unit_lines_figure(trace, [0], dates, lang=lang)
    assert all([s.value for s in axis.tickformatstops] == [s["value"] for s in stops]
               for axis in (lines.layout.xaxis, lines.layout.xaxis5))
    before_after = before_after_figure(trace, trace, dates, lang=lang)
    assert [s.value for s in before_after.layout.xaxis3.tickformatstops] == [s["value"] for s in stops]


def test_unit_orders_have_both_languages() -> None:
    for order in UnitOrder:
        for key in (f"gates_order_{order}", f"gates_order_note_{order}"):
            assert key in gates_strings.EN and key in gates_strings.ZH, key
            assert gates_strings.EN[key] != gates_strings.ZH[key]



def test_a_grus_gates_rebuild_its_own_hidden_state_and_a_plain_rnn_has_only_h() -> None:
    torch.manual_seed(0)
    gru = nn.GRU(3, 5, num_layers=2, batch_first=True)
    x = random_window(9, 3, batch=4)
    trace = extract_gates(build_like(gru), x)
    out, _ = gru(torch.as_tensor(x))
    assert trace.cell == Cell.GRU and trace.arrays == ("r", "z", "n", "h") and trace.sigmoid_gates == ("r", "z")
    np.testing.assert_allclose(trace.layer(1)["h"], out.detach().numpy(), atol=1e-6)
    for k in range(2):  # h = (1 - z) n + z h_prev, and every gate inside (0, 1)
        layer = trace.layer(k)
        h_prev = np.concatenate([np.zeros_like(layer["h"][:, :1]), layer["h"][:, :-1]], axis=1)
        np.testing.assert_allclose((1 - layer["z"]) * layer["n"] + layer["z"] * h_prev, layer["h"], atol=1e-6)
        assert all(((layer[g] > 0) & (layer[g] < 1)).all() for g in ("r", "z"))
    payload = trace.sample(0).to_json()
    assert payload["cell"] == "gru" and payload["gates"] == ["r", "z", "n", "h"] and set(payload["layers"][0]) == set("rznh")
    assert set(gate_saturation(trace).left) == {"r", "z"}
    rnn = nn.RNN(3, 4, num_layers=2, batch_first=True)
    plain = extract_gates(build_like(rnn), x)
    np.testing.assert_allclose(plain.layer(1)["h"], rnn(torch.as_tensor(x))[0].detach().numpy(), atol=1e-6)
    assert plain.arrays == ("h",) and plain.to_json()["gates"] == ["h"] and gate_saturation(plain).left == {}


def build_like(rnn: nn.RNNBase) -> nn.Module:
    """A Forecaster-like module around ``rnn``, as the pages hand one over."""
    holder = nn.Module()
    holder.rnn = rnn
    return holder
