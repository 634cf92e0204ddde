"""AppTest of the Gates page, with no trained model and with one, and the gates command line."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from lstm_core.runs import save_bundle, train_run
from tests.helpers import TINY, plotly_array, tiny_frame

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def trained_run():
    return train_run(tiny_frame(n_days=400), "sine", TINY.with_(layers=2, hidden=6))


def gates_page(**state) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    for key, value in state.items():
        at.session_state[key] = value
    at.switch_page("pages/gates.py").run()
    assert not at.exception
    return at


def specs(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def test_without_a_trained_model_it_explains_and_still_animates():
    at = gates_page()
    assert any("freshly initialised" in i.value for i in at.info)
    animation = specs(at)[0]
    assert len(animation["frames"]) == 60  # the default window of 60 days, one frame per step
    assert animation["layout"]["sliders"][0]["steps"][-1]["label"] == "2017-11-09"  # last test window's last day


def test_with_a_trained_model(trained_run):
    at = gates_page(runs=[trained_run], selected_run=trained_run.run_id)
    assert not at.info  # no "fresh model" note
    charts = specs(at)
    assert len(charts) == 4  # animation, unit lines, saturation, before/after
    assert len(charts[0]["frames"]) == TINY.window
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


def test_gru_runs_are_explained_not_crashed():
    run = train_run(tiny_frame(), "sine", TINY.with_(cell="gru", epochs=1))
    at = gates_page(runs=[run], selected_run=run.run_id)
    assert any("GRU" in w.value for w in at.warning)


def test_gates_cli_json(trained_run, tmp_path):
    bundle = save_bundle(trained_run, tmp_path / "b")
    out = subprocess.run([sys.executable, "-m", "lstm_core", "gates", "--bundle", str(bundle), "--index", "2"],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    payload = json.loads(out.stdout)
    assert len(payload["dates"]) == TINY.window and len(payload["layers"]) == 2
    layer = payload["layers"][1]
    assert set(layer) == {"i", "f", "g", "o", "c", "h"}
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
