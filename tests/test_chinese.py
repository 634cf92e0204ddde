"""Every page in 中文 shows no English from the app's own table: texts, widgets, tables and charts all walked."""

import json
import re

import pytest
from streamlit.testing.v1 import AppTest

from lstm_core.config import SETTINGS, RunConfig
from lstm_core.data import load_synthetic
from lstm_core.i18n import TABLE
from lstm_core.runs.run import train_run

PAGES = ["pages/home.py", "pages/data.py", "pages/train.py", "pages/tune.py", "pages/gates.py", "pages/forecast.py",
         *(f"pages/learn.py#{tab}" for tab in range(5))]  # the Learn page runs its open tab only: each tab in turn
# Whole strings that must never reach a Chinese page: every English sentence or label of the table that has a
# Chinese of its own (placeholders left out), every choice's raw value, and every setting's field name.
ENGLISH = {v.strip() for k, v in TABLE["en"].items() if v != TABLE["zh"].get(k) and "{" not in v and len(v.strip()) > 2}
RAW = {c for s in SETTINGS.values() for c in s.choices} | set(SETTINGS)
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")
CHART_TEXT_KEYS = {"name", "text", "title", "label", "prefix", "ticktext"}


def _chart_strings(node: object, key: str = "") -> list[str]:
    """Every text a plotly figure puts on screen: trace names, titles, labels, annotation and button text."""
    if isinstance(node, dict):
        return [s for k, v in node.items() for s in _chart_strings(v, k)]
    if isinstance(node, list):
        return [s for v in node for s in _chart_strings(v, key)]
    return [node] if isinstance(node, str) and key in CHART_TEXT_KEYS else []


def visible_strings(at: AppTest) -> list[str]:
    texts = [e.value for kind in ("title", "header", "subheader", "markdown", "caption", "info", "success", "warning",
                                  "error") for e in at.get(kind)]
    for kind in ("number_input", "slider", "select_slider", "multiselect", "selectbox", "button_group", "button",
                 "checkbox", "toggle", "radio", "text_input", "expander", "tab"):
        for w in at.get(kind):
            texts.append(getattr(w, "label", "") or "")
            texts += [str(o) for o in getattr(getattr(w, "proto", None), "options", [])]
    for frame in at.dataframe:
        value = frame.value
        texts += [str(c) for c in value.columns] + [str(i) for i in value.index] + [str(value.index.name or "")]
        texts += [str(v) for v in value.astype(str).to_numpy().ravel()]
    for chart in at.get("plotly_chart"):
        texts += _chart_strings(json.loads(chart.proto.spec))
    return [t.strip() for t in texts if isinstance(t, str)]


@pytest.fixture(scope="module")
def two_runs():
    frame = load_synthetic("sine", n_days=400).frame
    base = RunConfig(target="logret", features=("logret",), window=10, horizon=1, hidden=8, epochs=2, batch=64)
    return [train_run(frame, "MSFT (sample)", base),
            train_run(frame, "MSFT (sample)", base.with_(target="price", features=("close",), hidden=6))]


@pytest.mark.parametrize("page", PAGES)
def test_no_english_from_the_table_on_any_chinese_page(open_app, two_runs, page):
    at = open_app(None, "zh")
    at.session_state["runs"] = list(two_runs)  # the runs table, the compare expander and the Gates page have data
    at.session_state["selected_run"] = two_runs[0].run_id
    page, _, tab = page.partition("#")
    if tab:
        at.session_state["tab_index"] = {"learn": int(tab)}
    at.switch_page(page).run()
    assert not at.exception
    shown = visible_strings(at)
    leaks = sorted({s for s in shown if s in ENGLISH or s in RAW})
    leaks += sorted({s for s in shown if at.session_state["dataset"].name in s})  # e.g. "MSFT (sample)"
    assert not leaks, f"English on the Chinese {page}: {leaks}"
    for chart in at.get("plotly_chart"):  # plotly writes month names in English unless told a numeric format
        spec = json.loads(chart.proto.spec)
        for axis in _date_axes(spec):
            assert spec["layout"][axis].get("tickformatstops") or spec["layout"][axis].get("tickformat"), axis


def _date_axes(spec: dict) -> set[str]:
    """Layout names of the x-axes that plotly will draw as dates (ISO date strings or typed 'date')."""
    axes = {name for name, axis in spec["layout"].items() if name.startswith("xaxis") and axis.get("type") == "date"}
    for trace in spec["data"]:
        x = trace.get("x")
        if isinstance(x, list) and x and isinstance(x[0], str) and ISO_DATE.match(x[0]):
            if spec["layout"].get("xaxis" + trace.get("xaxis", "x")[1:], {}).get("type") != "category":
                axes.add("xaxis" + trace.get("xaxis", "x")[1:])
    return axes
