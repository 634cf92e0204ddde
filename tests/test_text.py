"""Every name a visitor gives is text: a file name, a column name, a bundle's dataset name and a study name full of
Markdown, HTML and formulas go through every page, and nowhere does Streamlit get them as Markdown to render (ui/text.py:
``tr`` escapes each name it fills into a sentence; figures escape their tags)."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from google.protobuf.json_format import MessageToDict
from streamlit.testing.v1 import AppTest

from lstm_core.data import load_csv
from lstm_core.runs.run import train_run
from tests.conftest import ROOT
from tests.helpers import TINY
from ui.text import Markdown, plain

# a link, an image (a tracking pixel), raw HTML, Streamlit's coloured text, LaTeX, bold and a bare domain (autolinked)
# (no slash: a file name keeps all of it)
HOSTILE = "[lnk](evil1.example) ![img](evil2.png) <b>evil3</b> :red[evil4] $evil5$ **evil6** www.evil7.example"
# what each leaves in a body when it is not escaped (an escaped character is dropped before looking)
RENDERED = ("](evil1", "![img", "<b>evil3", ":red[evil4", "$evil5$", "**evil6**", "www.evil7")
PAGES = ["pages/home.py", "pages/data.py", "pages/train.py", "pages/tune.py", "pages/gates.py", "pages/forecast.py",
         "pages/learn.py"]
LITERAL = {"plotly_chart", "arrow_data_frame", "dataframe", "table"}  # shown as text (a figure's own escaping is checked apart)
LITERAL_FIELDS = {"options", "default", "rawValue", "rawValues", "placeholder"}  # select boxes show options as text


def unescaped(body: str) -> list[str]:
    """The hostile constructs Markdown would render in ``body``."""
    return [construct for construct in RENDERED if construct in re.sub(r"\\.", "", body)]


def strings(element: dict, kind: str) -> list[str]:
    """Every string an element sends the browser that Streamlit renders as Markdown."""
    found, todo = [], [("", element)]
    while todo:
        field, node = todo.pop()
        if isinstance(node, dict):
            todo += list(node.items())
        elif isinstance(node, list):
            todo += [(field, item) for item in node]
        elif isinstance(node, str) and not (kind in ("selectbox", "multiselect") and field in LITERAL_FIELDS):
            found.append(node)
    return found


def rendered_elements(at: AppTest) -> list[tuple[str, str]]:
    """(kind, text) of every Markdown string on the page, the sidebar included."""
    out = []
    for root in (at.main, at.sidebar):
        todo = [root]
        while todo:
            node = todo.pop()
            todo += list(getattr(node, "children", {}).values())
            proto = getattr(node, "proto", None)
            if proto is None or node.type in LITERAL:
                continue
            out += [(node.type, text) for text in strings(MessageToDict(proto), node.type)]
    return out


@pytest.fixture(scope="module")
def hostile_dataset():
    rng = np.random.default_rng(0)
    dates = pd.bdate_range("2015-01-01", periods=600)
    values = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, len(dates))))
    csv = pd.DataFrame({"Date": dates.strftime("%Y-%m-%d"), HOSTILE: values}).to_csv(index=False).encode()
    return csv, load_csv(csv, f"{HOSTILE}.csv")


def test_a_name_full_of_markdown_is_text_on_every_page(hostile_dataset):
    csv, ds = hostile_dataset
    assert ds.quality.value_column == HOSTILE  # the column the Data page names
    run = train_run(ds.frame, ds.name, TINY.with_(epochs=1))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    at.switch_page("pages/data.py").run()
    at.segmented_control(key="data_source").set_value("csv").run()
    at.file_uploader(key="csv_file").upload(f"{HOSTILE}.csv", csv).run()
    at.session_state["runs"] = [run]
    at.session_state["selected_run"] = run.run_id
    shown_on = set()
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
        bodies = rendered_elements(at)
        named = [(kind, text) for kind, text in bodies if "evil" in text]
        shown_on |= {page} if named else set()
        for kind, text in named:
            assert unescaped(text) == [], (page, kind, text)
        for chart in at.get("plotly_chart"):  # figures show a name as text too: no tags of its own
            assert "<b>evil3" not in json.dumps(json.loads(chart.proto.spec).get("layout", {}).get("title", ""))
    assert shown_on >= {"pages/data.py", "pages/train.py", "pages/tune.py", "pages/gates.py"}  # where it was named


@pytest.mark.parametrize("text", [HOSTILE, "MSFT (sample)", "a_b*c", "1. list", "- item", "# head", "=SUM(A1)"])
def test_plain_leaves_nothing_for_markdown_and_reads_back_as_the_same_characters(text):
    escaped = plain(text)
    assert unescaped(escaped) == []
    assert re.sub(r"\\(.)", r"\1", escaped) == text  # a reader sees exactly the name


def test_tr_escapes_every_name_but_the_apps_own_markdown(monkeypatch):
    import ui.text

    monkeypatch.setattr(ui.text, "lang", lambda: "en")
    assert ui.text.tr("loaded", name=HOSTILE) == ui.text.t("loaded", "en", name=plain(HOSTILE))
    assert ui.text.tr("loaded", name=Markdown("**bold**")) == ui.text.t("loaded", "en", name="**bold**")
    assert ui.text.tr_text("loaded", name=HOSTILE) == ui.text.t("loaded", "en", name=HOSTILE)
