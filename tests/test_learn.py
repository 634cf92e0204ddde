"""The Learn page's numbers: the calculator against hand-worked values and PyTorch, gradient decay, parameter counts, the page."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from streamlit.testing.v1 import AppTest
from torch import nn

from lstm_core import learn
from lstm_core.errors import LabError
from lstm_core.i18n import TABLE
from lstm_core.plots.learn import gradient_figure, trace_figure

ROOT = Path(__file__).resolve().parents[1]


def _sig(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def _reference_lstm(xs, wx, wh, b, h, c):
    """A second, deliberately plain LSTM (per-gate matrices, float64) to check the page's one against."""
    hs, cs = [], []
    for x in xs:
        pre = [wx[k] @ x + wh[k] @ h + b[k] for k in range(4)]
        i, f, g, o = 1 / (1 + np.exp(-pre[0])), 1 / (1 + np.exp(-pre[1])), np.tanh(pre[2]), 1 / (1 + np.exp(-pre[3]))
        c = f * c + i * g  # the forget gate of this step, not the previous one
        h = o * np.tanh(c)
        hs.append(h)
        cs.append(c)
    return np.array(hs), np.array(cs)


# ---------------------------------------------------------------- the calculator's default example


def test_default_example_is_the_article_made_consistent() -> None:
    w = learn.example_weights()
    for gate in range(4):
        np.testing.assert_allclose(w.w_x[gate], [[0.1], [0.3]])
        np.testing.assert_allclose(w.w_h[gate], [[0.5, 0.6], [0.7, 0.8]])
        np.testing.assert_allclose(w.b[gate], [0.1, 0.2])
    np.testing.assert_allclose(learn.example_sequence()[:, 0], [1, 2, 3, 4, 5])


def test_default_step_one_by_hand() -> None:
    trace = learn.run_cell(learn.example_sequence(), learn.example_weights())
    for z in (trace.z_i, trace.z_f, trace.z_g, trace.z_o):
        np.testing.assert_allclose(z[0], [0.1 * 1 + 0.1, 0.3 * 1 + 0.2], atol=1e-12)  # h0 = 0
    s02, s05, t02, t05 = 0.549834, 0.622459, 0.197375, 0.462117  # sigmoid and tanh of 0.2 and 0.5, by hand
    np.testing.assert_allclose(trace.i[0], [s02, s05], atol=1e-6)
    np.testing.assert_allclose(trace.f[0], [s02, s05], atol=1e-6)
    np.testing.assert_allclose(trace.o[0], [s02, s05], atol=1e-6)
    np.testing.assert_allclose(trace.g[0], [t02, t05], atol=1e-6)
    c1 = np.array([s02 * t02, s05 * t05])  # f1 * c0 + i1 * g1 with c0 = 0
    np.testing.assert_allclose(trace.c[0], c1, atol=1e-6)
    np.testing.assert_allclose(trace.h[0], [s02 * math.tanh(c1[0]), s05 * math.tanh(c1[1])], atol=1e-6)
    # the article's values are wrong: σ(0.2) is not 0.5108 and c1, h1 are not zero
    assert abs(trace.i[0, 0] - 0.5108) > 0.03
    assert np.all(trace.c[0] > 0.1) and np.all(trace.h[0] > 0.05)


def test_default_step_two_by_hand() -> None:
    trace = learn.run_cell(learn.example_sequence(), learn.example_weights())
    h1, c1 = trace.h[0], trace.c[0]
    z0 = 0.1 * 2 + 0.5 * h1[0] + 0.6 * h1[1] + 0.1
    z1 = 0.3 * 2 + 0.7 * h1[0] + 0.8 * h1[1] + 0.2
    np.testing.assert_allclose(trace.z_f[1], [z0, z1], atol=1e-12)
    c2 = [_sig(z) * c + _sig(z) * math.tanh(z) for z, c in ((z0, c1[0]), (z1, c1[1]))]
    np.testing.assert_allclose(trace.c[1], c2, atol=1e-12)
    np.testing.assert_allclose(trace.h[1], [_sig(z) * math.tanh(c) for z, c in zip((z0, z1), c2, strict=True)], atol=1e-12)


@pytest.mark.parametrize("inputs,hidden,steps,seed", [(1, 2, 5, 0), (1, 1, 1, 1), (2, 3, 4, 2), (4, 4, 12, 3), (3, 1, 6, 4)])
def test_every_step_matches_a_plain_reference(inputs: int, hidden: int, steps: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    w = learn.random_weights(inputs, hidden, seed=seed)
    xs, h0, c0 = rng.normal(size=(steps, inputs)), rng.normal(size=hidden), rng.normal(size=hidden)
    trace = learn.run_cell(xs, w, h0, c0)
    ref_h, ref_c = _reference_lstm(xs, w.w_x, w.w_h, w.b, h0, c0)
    np.testing.assert_allclose(trace.h, ref_h, atol=1e-12)
    np.testing.assert_allclose(trace.c, ref_c, atol=1e-12)
    assert trace.h.shape == (steps, hidden) and all(trace.get(q).shape == (steps, hidden) for q in learn.QUANTITIES)
    assert np.all((trace.i > 0) & (trace.i < 1)) and np.all(np.abs(trace.g) < 1)


def test_each_gate_uses_its_own_weights() -> None:
    """Making only the forget gate huge changes f and c but not i, g or o at step 1."""
    w = learn.example_weights()
    b = w.b.copy()
    b[1] += 5.0  # forget gate bias
    base = learn.run_cell([1.0, 2.0], w, c0=[1.0, 1.0])
    moved = learn.run_cell([1.0, 2.0], learn.CellWeights(w.w_x, w.w_h, b), c0=[1.0, 1.0])
    for q in ("i", "g", "o"):
        np.testing.assert_allclose(moved.get(q)[0], base.get(q)[0])
    assert np.all(moved.f[0] > 0.99) and np.all(moved.c[0] > base.c[0] + 0.3)


# ---------------------------------------------------------------- PyTorch agrees


@pytest.mark.parametrize("inputs,hidden,steps", [(1, 1, 1), (1, 2, 5), (2, 2, 3), (3, 4, 8), (4, 3, 12), (4, 4, 6)])
@pytest.mark.parametrize("seed", [0, 7])
def test_pytorch_lstmcell_gives_the_same_h_and_c(inputs: int, hidden: int, steps: int, seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    w = learn.random_weights(inputs, hidden, seed=seed, scale=1.5)
    xs, h0, c0 = rng.normal(size=(steps, inputs)), rng.normal(size=hidden), rng.normal(size=hidden)
    trace = learn.run_cell(xs, w, h0, c0)
    torch_h, torch_c = learn.torch_cell_run(xs, w, h0, c0)
    assert torch_h.shape == torch_c.shape == (steps, hidden)
    assert learn.largest_difference(trace, torch_h, torch_c) < 1e-12
    # and the check is able to fail: swapping the f and g blocks breaks it
    swapped = learn.CellWeights(w.w_x[[0, 2, 1, 3]], w.w_h[[0, 2, 1, 3]], w.b[[0, 2, 1, 3]])
    wrong_h, wrong_c = learn.torch_cell_run(xs, swapped, h0, c0)
    assert learn.largest_difference(trace, wrong_h, wrong_c) > 1e-3


def test_pytorch_check_leaves_the_global_generator_alone() -> None:
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    learn.torch_cell_run(learn.example_sequence(), learn.example_weights())
    assert torch.equal(torch.rand(3), expected)


# ---------------------------------------------------------------- tables, errors, worked step


def test_tables_round_trip_and_edits_reach_the_weights() -> None:
    w = learn.random_weights(2, 3, seed=1)
    tables = {g: learn.gate_table(w, g) for g in learn.GATES}
    assert list(tables["i"].columns) == ["x1", "x2", "h1", "h2", "h3", "b"] and len(tables["i"]) == 3
    back = learn.weights_from_tables(tables, 2, 3)
    np.testing.assert_array_equal(back.w_x, w.w_x)
    np.testing.assert_array_equal(back.w_h, w.w_h)
    np.testing.assert_array_equal(back.b, w.b)
    tables["o"].loc[2, "h3"] = 9.0
    assert learn.weights_from_tables(tables, 2, 3).w_h[3, 1, 2] == 9.0


def test_sequence_table_skips_empty_added_rows() -> None:
    table = pd.DataFrame({"x1": [1.0, 2.0, None], "x2": [0.5, None, None]})
    with pytest.raises(LabError) as err:
        learn.sequence_from_table(table, 2)
    assert err.value.key == "err_learn_missing_input" and err.value.params["step"] == 2
    table.loc[1, "x2"] = 3.0
    np.testing.assert_array_equal(learn.sequence_from_table(table, 2), [[1.0, 0.5], [2.0, 3.0]])


@pytest.mark.parametrize(
    "call,key",
    [
        (lambda: learn.example_weights(5, 2), "err_learn_size"),
        (lambda: learn.example_weights(1, 0), "err_learn_size"),
        (lambda: learn.run_cell([], learn.example_weights()), "err_learn_empty_sequence"),
        (lambda: learn.run_cell(np.ones(13), learn.example_weights()), "err_learn_too_long"),
        (lambda: learn.run_cell([1.0, float("nan")], learn.example_weights()), "err_learn_missing_input"),
        (lambda: learn.run_cell(np.ones((3, 2)), learn.example_weights()), "err_learn_shape"),
        (lambda: learn.run_cell([1.0], learn.example_weights(), h0=[0.0]), "err_learn_shape"),
        (lambda: learn.run_cell([1.0], learn.CellWeights(np.full((4, 2, 1), np.nan), np.zeros((4, 2, 2)), np.zeros((4, 2)))), "err_learn_missing_weight"),
        (lambda: learn.gradient_norms("transformer"), "err_learn_unknown_cell"),
    ],
)
def test_user_mistakes_raise_lab_errors(call, key: str) -> None:
    with pytest.raises(LabError) as err:
        call()
    assert err.value.key == key
    assert err.value.message("zh") != str(err.value)  # a Chinese sentence exists and differs


def test_worked_step_shows_the_numbers() -> None:
    xs, w = learn.example_sequence(), learn.example_weights()
    trace = learn.run_cell(xs, w)
    lines = learn.worked_step(xs, w, trace, 1, 0)
    assert len(lines) == 6
    assert "= 0.2000" in lines[0] and "\\sigma(0.2000) = 0.5498" in lines[0]
    assert "\\tanh(0.2000) = 0.1974" in lines[2]
    assert lines[4].endswith("= 0.1085") and lines[5].endswith("= 0.0594")
    second_unit = learn.worked_step(xs, w, trace, 1, 1)
    assert "= 0.5000" in second_unit[0] and "0.6225" in second_unit[0]


def test_trace_frame_lists_every_value() -> None:
    trace = learn.run_cell(learn.example_sequence(), learn.example_weights())
    frame = learn.trace_frame(trace, "t", "q", ["u1", "u2"])
    assert len(frame) == 5 * len(learn.QUANTITIES)
    row = frame[(frame["t"] == 1) & (frame["q"] == "g")].iloc[0]
    assert row["u1"] == pytest.approx(math.tanh(0.2)) and row["u2"] == pytest.approx(math.tanh(0.5))


# ---------------------------------------------------------------- gradients


@pytest.mark.parametrize("hidden,seed", [(16, 0), (32, 0), (32, 1), (64, 2)])
def test_plain_rnn_gradient_vanishes_faster_than_the_lstms(hidden: int, seed: int) -> None:
    norms = learn.compare_gradient_norms(steps=100, hidden=hidden, seed=seed)  # forget bias 1 by default
    assert all(v.shape == (100,) and np.all(np.isfinite(v)) for v in norms.values())
    rnn, lstm = learn.norm_steps_back(norms["rnn"], 50), learn.norm_steps_back(norms["lstm"], 50)
    assert lstm > 1e3 * rnn
    assert learn.norm_steps_back(norms["rnn"], 50) < 1e-3 * learn.norm_steps_back(norms["rnn"], 5)  # it vanishes


def test_forget_bias_keeps_more_gradient() -> None:
    far = [learn.norm_steps_back(learn.gradient_norms("lstm", 100, 16, 0, bias), 60) for bias in (-2.0, 0.0, 1.0, 3.0)]
    assert far == sorted(far) and far[-1] > 1e6 * far[0]


def test_gradient_norms_equal_the_full_jacobian() -> None:
    """The one-backward-pass trick gives the same numbers as torch.autograd.functional.jacobian."""
    steps, hidden, seed = 12, 5, 3
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        rnn = nn.LSTM(1, hidden, batch_first=True, dtype=torch.float64)
        x = torch.randn(steps, 1, dtype=torch.float64)
    with torch.no_grad():
        rnn.bias_ih_l0[hidden : 2 * hidden] = 2.0
        rnn.bias_hh_l0[hidden : 2 * hidden] = 0.0
    jac = torch.autograd.functional.jacobian(lambda inp: rnn(inp[None])[0][0, -1], x)  # [H, T, 1]
    expected = jac.pow(2).sum(dim=(0, 2)).sqrt().numpy()
    np.testing.assert_allclose(learn.gradient_norms("lstm", steps, hidden, seed, forget_bias=2.0), expected, rtol=1e-10)


# ---------------------------------------------------------------- parameter counts


@pytest.mark.parametrize("cell,module", [("lstm", nn.LSTM), ("gru", nn.GRU), ("rnn", nn.RNN)])
@pytest.mark.parametrize("inputs,hidden,layers", [(1, 50, 1), (3, 8, 2), (6, 16, 3)])
def test_param_count_matches_pytorch(cell: str, module, inputs: int, hidden: int, layers: int) -> None:
    torch_count = sum(p.numel() for p in module(inputs, hidden, num_layers=layers).parameters())
    assert learn.param_count(cell, inputs, hidden, layers, two_biases=True) == torch_count


def test_param_count_formulas() -> None:
    assert learn.param_count("lstm", 1, 50) == 4 * 50 * (1 + 50 + 1) == 10_400
    assert learn.param_count("gru", 1, 50) == 3 * 50 * 52
    assert learn.param_count("lstm", 2, 4, layers=2) == 4 * 4 * (2 + 4 + 1) + 4 * 4 * (4 + 4 + 1)


# ---------------------------------------------------------------- figures


def test_gradient_figure_is_log_scaled_and_ordered_by_distance() -> None:
    norms = {"rnn": np.array([0.0, 1e-3, 1e-1, 1.0]), "lstm": np.array([1e-2, 1e-1, 0.5, 1.0])}
    fig = gradient_figure(norms, {"rnn": "R", "lstm": "L"}, {"title": "T", "x": "X", "y": "Y"})
    assert fig.layout.yaxis.type == "log" and [tr.name for tr in fig.data] == ["R", "L"]
    assert list(fig.data[0].x) == [0, 1, 2, 3]
    assert list(fig.data[0].y[:3]) == [1.0, 1e-1, 1e-3] and np.isnan(fig.data[0].y[3])  # 0 cannot be drawn on a log axis


def test_trace_figure_draws_gates_and_states_of_one_unit() -> None:
    trace = learn.run_cell(learn.example_sequence(), learn.example_weights())
    fig = trace_figure(trace, 1, {"gates": "G", "states": "S", "x": "t"})
    assert [tr.name for tr in fig.data] == ["i", "f", "o", "g", "c", "h"]
    np.testing.assert_allclose(fig.data[4].y, trace.c[:, 1])


# ---------------------------------------------------------------- the page


LESSON_TAB, CALCULATOR_TAB, GRADIENTS_TAB, FAQ_TAB, MISTAKES_TAB = range(5)


def _learn_page(lang: str = "en", tab: int = CALCULATOR_TAB, **state) -> AppTest:
    """The Learn page open on ``tab`` (only the open tab runs)."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.session_state["lang"] = lang
    at.session_state["tab_index"] = {"learn": tab}
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    at.switch_page("pages/learn.py").run()
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def _values_frame(at: AppTest, lang: str = "en") -> pd.DataFrame:
    quantity = TABLE[lang]["learn_col_quantity"]
    return next(df.value for df in at.dataframe if quantity in getattr(df.value, "columns", []))


def _value(frame: pd.DataFrame, step: int, quantity: str, unit: int, lang: str = "en") -> float:
    t = TABLE[lang]
    row = frame[(frame[t["learn_col_step"]] == step) & (frame[t["learn_col_quantity"]] == quantity)].iloc[0]
    return float(row[t["learn_unit"].format(k=unit)])


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_page_renders_in_both_languages(lang: str) -> None:
    at = _learn_page(lang)
    assert at.title[0].value == TABLE[lang]["learn_title"]
    assert TABLE[lang]["learn_torch_match"].split("{")[0] in at.success[0].value
    assert _value(_values_frame(at, lang), 1, "i", 1, lang) == pytest.approx(0.549834, abs=1e-6)
    charts = len(at.get("plotly_chart"))
    tabs = [at, *(_learn_page(lang, tab) for tab in (LESSON_TAB, GRADIENTS_TAB, FAQ_TAB, MISTAKES_TAB))]
    texts = [e.value for page in tabs for kind in ("markdown", "subheader", "caption") for e in getattr(page, kind)]
    if lang == "zh":  # nothing on the page fell back to English
        english_only = {v for k, v in TABLE["en"].items() if TABLE["zh"][k] != v}
        assert not [x for x in texts if x in english_only]
    assert TABLE[lang]["learn_mistakes_table"] in texts and TABLE[lang]["learn_eq_body"] in texts
    links = [(link.proto.page, link.proto.label) for page in tabs for link in page.get("page_link")]
    cell_link = TABLE[lang]["learn_link"].format(page=TABLE[lang]["nav_train"], control=TABLE[lang]["cfg_cell"], why=TABLE[lang]["learn_why_cell"])
    assert ("train", cell_link) in links  # names the Train page's own label of the control
    # the memory task with a known answer, from the gates' section of the lesson and from the gradients' trained cells
    controls = TABLE[lang]["learn_list_sep"].join(TABLE[lang][key] for key in ("data_source", "src_task"))
    task_link = TABLE[lang]["learn_link"].format(page=TABLE[lang]["nav_data"], control=controls, why=TABLE[lang]["learn_why_task"])
    assert links.count(("data", task_link)) == 2
    assert [page for page, _ in links].count("data") == 3 and [page for page, _ in links].count("gates") == 2
    assert TABLE[lang]["learn_cell_task"] in texts and TABLE[lang]["learn_grad_trained"] in texts
    assert sum(len(page.get("image")) for page in tabs) == 1  # the memory-task run mid-play (docs/gates_task.png)
    assert charts == 1 and len(tabs[2].get("plotly_chart")) == 1  # the calculator's chart, the gradients' chart
    assert not any(page.get("plotly_chart") for page in (tabs[1], tabs[3], tabs[4]))  # closed tabs ran nothing


def test_editing_the_sequence_updates_every_value() -> None:
    before = _values_frame(_learn_page())
    edit = {"edited_rows": {0: {"x1": 2.0}}, "added_rows": [], "deleted_rows": []}
    after = _values_frame(_learn_page(learn_ed_seq_1_0=edit))
    assert _value(after, 1, "z_i", 1) == pytest.approx(0.1 * 2 + 0.1) and _value(after, 1, "z_i", 2) == pytest.approx(0.3 * 2 + 0.2)
    for step in range(1, 6):  # step 1's input changed, and through h and c every later step moves too
        assert _value(after, step, "h", 1) != pytest.approx(_value(before, step, "h", 1), abs=1e-6)


def test_editing_a_weight_updates_every_step_and_still_matches_pytorch() -> None:
    before = _values_frame(_learn_page())
    at = _learn_page(**{"learn_ed_f_1x2_0": {"edited_rows": {0: {"b": 2.0}}, "added_rows": [], "deleted_rows": []}})
    after = _values_frame(at)
    assert _value(after, 1, "z_f", 1) == pytest.approx(0.1 + 2.0) and _value(after, 1, "f", 1) == pytest.approx(_sig(2.1))
    assert _value(after, 1, "i", 1) == pytest.approx(_value(before, 1, "i", 1))  # other gates keep their own weights
    for step in range(1, 6):
        assert _value(after, step, "f", 1) != pytest.approx(_value(before, step, "f", 1), abs=1e-6)
    assert at.success  # still "matches PyTorch"


def test_bad_edit_shows_an_error_not_a_traceback() -> None:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.session_state["tab_index"] = {"learn": 1}  # the calculator
    at.session_state["learn_ed_seq_1_0"] = {"edited_rows": {}, "added_rows": [{"x1": 1.0}] * 8, "deleted_rows": []}
    at.run()
    at.switch_page("pages/learn.py").run()
    assert not at.exception
    assert at.error and "13" in at.error[0].value  # 5 + 8 steps, over the limit of 12


def test_forget_bias_slider_moves_the_lstm_curve() -> None:
    at = _learn_page(tab=GRADIENTS_TAB)
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert spec["layout"]["yaxis"]["type"] == "log" and len(spec["data"]) == 3
    rnn, lstm = (float(m.value) for m in at.metric[:2])
    assert lstm > 1e3 * rnn
    at.slider(key="learn_forget_bias").set_value(-2.0).run()
    assert not at.exception
    assert float(at.metric[1].value) < 1e-3 * lstm


@pytest.mark.parametrize("inputs,hidden", [(2, 1), (3, 2), (4, 4)])
def test_page_calculator_at_other_sizes(inputs: int, hidden: int) -> None:
    at = _learn_page(learn_inputs=inputs, learn_hidden=hidden)
    frame = _values_frame(at)
    assert len(frame) == 5 * len(learn.QUANTITIES) and frame.shape[1] == 2 + hidden
    # step 1, unit 1: z = sum_j W_x[0, j] x_1[j] + b[0] with x_1[j] = 1 / (j + 1) and W_x[0, j] = 0.1 + 0.1 j
    assert _value(frame, 1, "z_o", 1) == pytest.approx(sum((0.1 + 0.1 * j) / (j + 1) for j in range(inputs)) + 0.1)
    assert at.success  # matches PyTorch at this size too


def test_reset_brings_back_the_example() -> None:
    at = _learn_page(learn_ed_seq_1_0={"edited_rows": {0: {"x1": 9.0}}, "added_rows": [], "deleted_rows": []})
    assert _value(_values_frame(at), 1, "z_i", 1) == pytest.approx(0.1 * 9 + 0.1)
    reset = next(b for b in at.button if b.label == TABLE["en"]["learn_reset"])
    reset.click().run()
    assert not at.exception
    assert _value(_values_frame(at), 1, "z_i", 1) == pytest.approx(0.2)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_articles_code_sits_beside_the_same_model_as_plain_pytorch(lang: str, tmp_path) -> None:
    """The article's example in steps with its mistakes marked, the exported script of the same model beside it, and
    each mistake's measured effect; the script is the export's own and runs as it is."""
    at = _learn_page(lang, MISTAKES_TAB)
    texts = [e.value for kind in ("markdown", "subheader", "caption") for e in getattr(at, kind)]
    assert TABLE[lang]["learn_code_steps"] in texts and TABLE[lang]["learn_code_measured"] in texts
    assert TABLE[lang]["learn_code_steps"].count("⚠") == 4  # zeros, no window, relu, no test period nor baseline
    code = at.get("code")
    assert len(code) == 1 and code[0].proto.language == "python"
    script = code[0].proto.code_text
    assert "CELL = nn.LSTM" in script and "HIDDEN, LAYERS, DROPOUT = 50, 1, 0.0" in script and "WINDOW = 30" in script
    assert script.splitlines()[0].startswith('"""' + TABLE[lang]["ds_sample"].format(subject="MSFT"))
    compile(script, "train.py", "exec")  # tests/test_export.py runs exported scripts to the app's RMSE
