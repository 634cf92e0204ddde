"""AppTest of the Gates page (no trained model, a trained one, two visitors, choices that last), and the gates command line."""

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import make_prices, to_csv_bytes
from streamlit.testing.v1 import AppTest

from lstm_core.data import load_csv
from lstm_core.gates import UnitOrder
from lstm_core.i18n import t
from lstm_core.model import build_model
from lstm_core.pipeline import Prepared
from lstm_core.runs.bundle import save_bundle
from lstm_core.runs.run import train_run
from tests.helpers import TINY, plotly_array, tiny_frame
from ui.gates import UNTRAINED_PREVIEW, _fresh, predicted_test_prices

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def trained_run():
    return train_run(tiny_frame(n_days=400), "sine", TINY.with_(layers=2, hidden=6))


def gates_page(lang: str = "en", **state) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.session_state["lang"] = lang
    at.run()
    for key, value in state.items():
        at.session_state[key] = value
    at.switch_page("pages/gates.py").run()
    assert not at.exception
    return at


def predicted(at: AppTest) -> float:
    """The price the caption says the model predicts."""
    caption = next(c.value for c in at.caption if "the model predicts" in c.value)
    return float(re.search(r"the model predicts (-?\d+(?:\.\d+)?)", caption).group(1))


def last_price(at: AppTest) -> float:
    caption = next(c.value for c in at.caption if "the model predicts" in c.value)
    return float(re.search(r"said (-?\d+(?:\.\d+)?)", caption).group(1))


def specs(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def test_without_a_trained_model_it_explains_and_still_animates():
    at = gates_page()
    assert any("freshly initialised" in i.value for i in at.info)
    animation = specs(at)[0]
    assert len(animation["frames"]) == 60  # the default window of 60 days, one frame per step
    assert animation["layout"]["sliders"][0]["steps"][-1]["label"] == "2017-11-09"  # last test window's last day


def test_prediction_of_each_window_starts_from_its_own_last_price():
    """The bug: every window's prediction was priced off the first test window's last price."""
    frame = make_prices(300)
    config = UNTRAINED_PREVIEW.with_(window=20, hidden=4)
    prepared = Prepared(frame, config)
    model = build_model(config).eval()
    with torch.no_grad():  # the head always answers 0: a scaled log return of 0, the training mean
        model.head.weight.zero_()
        model.head.bias.zero_()
    prices = predicted_test_prices(model, prepared)
    assert prices.shape == (prepared.n_samples("test"),)
    growth = np.exp(prepared.target_scaler.mean[0])  # the same predicted return for every window
    last = np.array([prepared.window("test", k).close[-1] for k in range(len(prices))])
    np.testing.assert_allclose(prices, last * growth, rtol=1e-9)
    assert last[-1] - last[0] > 30  # the windows' own prices differ, so a wrong base would show


def test_the_page_predicts_from_the_chosen_window():
    at = gates_page()
    last_window = (predicted(at), last_price(at))
    at.select_slider(key="gates_window").set_value(0).run()
    first_window = (predicted(at), last_price(at))
    assert first_window[1] != last_window[1]
    for prediction, base in (last_window, first_window):  # a fresh model predicts a small return
        assert abs(prediction / base - 1) < 0.05, (prediction, base)


def price_line(at: AppTest) -> np.ndarray:
    """The prices drawn as context above the heatmap (on the right-hand axis, y3)."""
    context = next(trace for trace in specs(at)[0]["data"] if trace.get("yaxis") == "y3" and trace["mode"] == "lines")
    return np.asarray(plotly_array(context["y"]), dtype=float)


def test_two_visitors_with_the_same_name_rows_and_last_date_see_their_own_prices():
    _fresh.clear()
    ramp = make_prices(400)
    wave = ramp.copy()
    wave[["Open", "High", "Low", "Close"]] = wave[["Open", "High", "Low", "Close"]].mul(
        1.5 + np.sin(np.arange(400) / 9.0), axis=0)
    datasets = [load_csv(to_csv_bytes(frame), "prices.csv") for frame in (ramp, wave)]
    assert datasets[0].name == datasets[1].name and datasets[0].frame.index[-1] == datasets[1].frame.index[-1]
    visitors = [gates_page(dataset=ds) for ds in datasets]
    for at, ds in zip(visitors, datasets, strict=True):
        visitors[0].run()  # interleaved: the first visitor comes back after the second one loaded
        shown = price_line(at)  # the window's prices
        own = Prepared(ds.frame, UNTRAINED_PREVIEW).window("test", -1).close
        np.testing.assert_allclose(shown, own)
    first, second = (price_line(at) for at in visitors)
    assert not np.allclose(first, second)


def test_choices_survive_a_page_switch_and_a_language_switch(trained_run):
    at = gates_page(runs=[trained_run], selected_run=trained_run.run_id)
    at.select_slider(key="gates_window").set_value(2).run()
    at.segmented_control(key="gates_layer").set_value(0).run()
    at.selectbox(key="gates_unit_order").set_value(UnitOrder.PRICE).run()
    at.slider(key="gates_shown_units").set_value(4).run()
    at.multiselect(key="gates_units").set_value([5, 1]).run()
    at.segmented_control(key="gates_before_after_gate").set_value("o").run()
    assert not at.exception
    chosen = {key: at.session_state[key] for key in
              ("gates_window", "gates_layer", "gates_unit_order", "gates_shown_units", "gates_units", "gates_before_after_gate")}
    heatmap_before = specs(at)[0]["data"][-1]

    at.switch_page("pages/train.py").run()
    assert not at.exception
    assert at.session_state["gates_window"] == 2  # kept by persist_state while another page shows
    at.switch_page("pages/gates.py").run()
    assert not at.exception
    assert {key: at.session_state[key] for key in chosen} == chosen
    assert at.select_slider(key="gates_window").value == 2 and at.multiselect(key="gates_units").value == [5, 1]
    assert specs(at)[0]["data"][-1]["x"] == heatmap_before["x"]  # the same 4 units, in the same order

    at.session_state["lang"] = "zh"  # what the sidebar's language switch does (AppTest shows no sidebar after switch_page)
    at.run()
    assert not at.exception
    assert at.title[0].value == t("gates_title", "zh")
    assert {key: at.session_state[key] for key in chosen} == chosen
    assert at.slider(key="gates_shown_units").value == 4 and at.selectbox(key="gates_unit_order").value == UnitOrder.PRICE
    assert len(specs(at)[0]["data"][-1]["x"]) == 4


def test_no_english_left_in_chinese(trained_run):
    at = gates_page(runs=[trained_run], selected_run=trained_run.run_id, lang="zh")
    texts = [e.value for kind in ("title", "subheader", "markdown", "caption", "info", "warning") for e in getattr(at.main, kind)]
    texts += [w.label for kind in ("select_slider", "selectbox", "slider", "multiselect") for w in getattr(at.main, kind)]
    texts += [w.proto.label for w in at.main.get("button_group")]
    texts += [w.help for kind in ("selectbox", "multiselect") for w in getattr(at.main, kind)]
    # an empty placeholder makes the browser write its own English one ("Choose options")
    assert at.multiselect(key="gates_units").proto.placeholder == t("gates_pick_units_placeholder", "zh")
    for spec in specs(at):
        layout = spec["layout"]
        texts.append(layout["title"]["text"])
        texts += [axis["title"]["text"] for name, axis in layout.items() if name.startswith(("xaxis", "yaxis")) and "title" in axis]
        texts += [a["text"] for a in layout.get("annotations", [])]
        texts += [b["label"] for menu in layout.get("updatemenus", []) for b in menu["buttons"]]
        texts += [s["currentvalue"]["prefix"] for s in layout.get("sliders", [])]
        texts += [trace.get("name", "") for trace in spec["data"]] + [str(trace.get("y", "")) for trace in spec["data"] if trace["type"] == "heatmap"]
        texts += [s["value"] for name, axis in layout.items() if name.startswith("xaxis") for s in axis.get("tickformatstops", [])]
    # names, symbols and citations stay as they are; any other Latin word is an untranslated string
    allowed = {"LSTM", "GRU", "Karpathy", "Johnson", "Fei", "sine", "synthetic", "lstm", "LSTMVis", "Strobelt", "Sundararajan",
               "Diebold", "Mariano", "Holm", "RMSE"}  # names of tests and scores, as the Train page writes them
    texts = [text.replace(trained_run.run_id, "") for text in texts]  # a hex id, not a word
    english = {word for text in texts for word in re.findall(r"[A-Za-z]{3,}", text)} - allowed
    assert not english, (english, [text for text in texts if any(w in text for w in english)])


def test_with_a_trained_model(trained_run):
    at = gates_page(runs=[trained_run], selected_run=trained_run.run_id)
    assert not any("freshly initialised" in note.value for note in at.info)  # no "fresh model" note
    # one unit over five steps: on a test period of this length its pattern recurs, and the page says the ties mean
    # nothing rather than rank them
    tied = [note.value for note in at.info if note.value.startswith("All of them overlap")]
    assert len(tied) == 1 and "Pick more units" in tied[0]
    charts = specs(at)
    assert len(charts) == 6  # animation, attribution, unit lines, unit search, saturation, before/after
    bars = charts[1]["data"]
    assert len(bars) == TINY.n_features and len(plotly_array(bars[0]["y"])) == TINY.window
    assert "Integrated gradients" in " ".join(c.value for c in at.caption)
    assert len(charts[0]["frames"]) == TINY.window
    # above the heatmap: what the model reads (its log returns, before scaling), the price beside them as context
    window = trained_run.prepared.window("test", trained_run.prepared.n_samples("test") - 1)
    np.testing.assert_allclose(plotly_array(charts[0]["data"][0]["y"]), window.inputs[:, 0], rtol=1e-6)
    assert charts[0]["data"][0]["name"] == "Log return" and charts[0]["layout"]["yaxis"]["title"]["text"] == "Input (before scaling)"
    np.testing.assert_allclose(price_line(at), window.close)
    heat = charts[0]["frames"][-1]["data"]
    values = plotly_array(next(d["z"] for d in heat if "z" in d)).astype(float)
    assert values.shape == (6, 6)  # rows i, f, g, o, c, h x the chosen (last) layer's 6 units
    assert np.isfinite(values).all()
    captions = " ".join(c.value for c in at.caption)
    assert f"Run {trained_run.run_id}" in captions and "the model predicts" in captions
    # picking another window changes the numbers shown
    at.select_slider(key="gates_window").set_value(0).run()
    assert not at.exception
    assert specs(at)[0]["frames"][-1]["data"] != charts[0]["frames"][-1]["data"]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_gru_run_shows_its_own_gates_and_a_plain_rnn_its_hidden_state(lang):
    gru = train_run(tiny_frame(), "sine", TINY.with_(cell="gru", epochs=1))
    at = gates_page(lang, runs=[gru], selected_run=gru.run_id)
    assert not any("GRU" in w.value for w in at.warning)  # once "the gates view needs an LSTM"; now the verdict only
    assert any(("update gate z" if lang == "en" else "更新门 z") in i.value for i in at.info)
    charts = specs(at)
    heat = next(d for d in charts[0]["data"] if d.get("type") == "heatmap")
    expected = ["r reset", "z update", "n candidate", "h hidden"] if lang == "en" else ["r 重置", "z 更新", "n 候选", "h 隐藏"]
    assert heat["y"] == expected and plotly_array(heat["z"]).shape == (4, TINY.hidden)
    gate = at.segmented_control(key="gates_before_after_gate")
    assert gate.options == expected and gate.value == "z"  # what keeps the state, as an LSTM's forget gate
    names = {d["name"] for d in charts[-2]["data"] if d.get("mode") == "markers+text"}  # the saturation view's gates
    assert names <= {t("gates_name_r", lang), t("gates_name_z", lang), t("gates_sat_mixed", lang)}
    rnn = train_run(tiny_frame(), "sine", TINY.with_(cell="rnn", epochs=1))
    at = gates_page(lang, runs=[rnn], selected_run=rnn.run_id)
    heat = next(d for d in specs(at)[0]["data"] if d.get("type") == "heatmap")
    assert heat["y"] == [expected[-1]] and not at.get("plotly_chart")[-1].proto.spec.count('"Update gate z"')
    assert len(specs(at)) == 5  # no saturation view: a plain RNN has no gate


def test_gates_cli_json(trained_run, tmp_path):
    bundle = save_bundle(trained_run, tmp_path / "b")
    out = subprocess.run([sys.executable, "-m", "lstm_core", "gates", "--bundle", str(bundle), "--index", "2"],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    payload = json.loads(out.stdout)
    assert len(payload["dates"]) == TINY.window and len(payload["layers"]) == 2
    layer = payload["layers"][1]
    assert set(layer) == {"i", "f", "g", "o", "c", "h"}
    assert payload["cell"] == "lstm" and payload["gates"] == ["i", "f", "g", "o", "c", "h"]  # the run's cell names them
    assert np.array(layer["h"]).shape == (TINY.window, 6)
    window = trained_run.prepared.window("test", 2)
    assert payload["dates"][-1] == window.dates[-1].strftime("%Y-%m-%d")
    # the last hidden state is what nn.LSTM itself returns for that window
    import torch

    with torch.no_grad():
        out_seq, _ = trained_run.model.rnn(torch.from_numpy(window.x)[None])
    np.testing.assert_allclose(np.array(layer["h"])[-1], out_seq[0, -1].numpy(), atol=1e-4)


@pytest.mark.parametrize("damage", ["missing", "tampered", "not_a_bundle"])
def test_gates_cli_refuses_bad_bundles(trained_run, tmp_path, damage):
    bundle = save_bundle(trained_run, tmp_path / "b")
    if damage == "missing":
        (bundle / "weights.safetensors").unlink()
    elif damage == "tampered":
        blob = bytearray((bundle / "weights.safetensors").read_bytes())
        blob[-1] ^= 0xFF
        (bundle / "weights.safetensors").write_bytes(bytes(blob))
    else:
        bundle = tmp_path / "x.zip"
        bundle.write_bytes(b"print('pwned')")
    out = subprocess.run([sys.executable, "-m", "lstm_core", "gates", "--bundle", str(bundle)],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 2 and out.stdout == ""
    assert len(out.stderr.strip().splitlines()) == 1 and "pwned" not in out.stderr
