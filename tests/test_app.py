"""The real app under AppTest: every page runs in both languages, and the Data page loads, refuses and keeps datasets."""

from __future__ import annotations

import ast
import datetime as dt
import json
import re
import tomllib
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from conftest import make_prices, to_csv_bytes
from streamlit.testing.v1 import AppTest
from yfinance.exceptions import YFPricesMissingError, YFRateLimitError

from lstm_core import data
from lstm_core.errors import LabError
from lstm_core.i18n import t

ROOT = Path(__file__).resolve().parent.parent
CJK = re.compile(r"[\u4e00-\u9fff]")
DATA_PAGE = "pages/data.py"


def discover_pages() -> list[str]:
    """Pages named in app.py's ``st.Page("pages/...")`` calls, plus every file in pages/.

    app.py may hand the list to a helper (ui.nav.app_pages builds it from names), so the folder is
    read too: every file there must be a registered page, or switch_page() raises and the test fails.
    """
    named = {
        node.args[0].value
        for node in ast.walk(ast.parse((ROOT / "app.py").read_text()))
        if isinstance(node, ast.Call)
        and getattr(node.func, "attr", getattr(node.func, "id", None)) == "Page"
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and str(node.args[0].value).startswith("pages/")
    }
    return sorted(named | {f"pages/{p.name}" for p in (ROOT / "pages").glob("*.py")})


PAGES = discover_pages()


def main_texts(at: AppTest) -> list[str]:
    """Every sentence the page shows in its main area (headings, text, alerts, metric labels)."""
    main = at.main
    texts = [e.value for kind in ("title", "header", "subheader", "markdown", "caption") for e in getattr(main, kind)]
    texts += [e.value for kind in ("info", "success", "warning", "error") for e in getattr(main, kind)]
    return texts + [m.label for m in main.metric]


def chart_spec(at: AppTest) -> dict:
    charts = at.get("plotly_chart")
    assert len(charts) == 1
    return json.loads(charts[0].proto.spec)


# ---------------------------------------------------------------- hosted-app settings


def test_upload_limit_and_theme_are_configured() -> None:
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] == data.MAX_CSV_BYTES // 2**20 == 50
    assert config["browser"]["gatherUsageStats"] is False
    assert {"light", "dark"} <= config["theme"].keys()


# ---------------------------------------------------------------- every page, both languages


def test_pages_were_discovered() -> None:
    assert {"pages/home.py", "pages/data.py", "pages/train.py", "pages/gates.py", "pages/learn.py"} <= set(PAGES)


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("page", PAGES)
def test_every_page_runs_in_both_languages(open_app: Callable[..., AppTest], page: str, lang: str) -> None:
    at = open_app(page, lang)
    assert not at.exception, at.exception[0].message if at.exception else ""
    assert at.session_state["lang"] == lang
    texts = main_texts(at)
    assert texts, f"{page} shows no text"
    shows_chinese = any(CJK.search(text) for text in texts)
    assert shows_chinese == (lang == "zh")
    assert not at.error  # a fresh session has nothing to complain about


# ---------------------------------------------------------------- Data page


def test_data_page_shows_the_default_sample(open_app: Callable[..., AppTest]) -> None:
    at = open_app(DATA_PAGE)
    assert not at.exception
    spec = chart_spec(at)
    assert [trace["type"] for trace in spec["data"]] == ["candlestick", "bar"]
    assert spec["layout"]["title"]["text"] == "MSFT (sample) · weekly candles"
    assert [(m.label, m.value) for m in at.metric] == [
        ("Rows", "7,983"), ("First day", "1986-03-13"), ("Last day", "2017-11-10"), ("Gaps > 4 days", "3"),
    ]  # fmt: skip
    assert "No duplicates, no out-of-order dates, no missing values." in [c.value for c in at.caption]
    assert list(at.dataframe[0].value.index[-2:]) == ["2017-11-09", "2017-11-10"]


def choose_source(at: AppTest, source: str) -> None:
    at.segmented_control(key="data_source").set_value(source).run()


def load_synthetic(at: AppTest, kind: str = "ar2", n_days: int = 300, seed: int = 3) -> AppTest:
    choose_source(at, "synthetic")
    at.selectbox(key="synthetic_kind").set_value(kind)
    at.number_input(key="synthetic_days").set_value(n_days)
    at.number_input(key="synthetic_seed").set_value(seed)
    at.button(key="synthetic_load").click().run()
    return at


def test_synthetic_series_loads_and_stays_for_the_other_pages(open_app: Callable[..., AppTest]) -> None:
    at = load_synthetic(open_app(DATA_PAGE))
    assert not at.exception and not at.error
    assert [s.value for s in at.success] == ["Loaded **AR(2) (synthetic, seed 3)**."]
    assert at.session_state["dataset"].quality.rows == 300
    spec = chart_spec(at)
    assert [(trace["type"], trace["mode"]) for trace in spec["data"]] == [("scatter", "lines")]
    assert at.metric[0].value == "300"

    at.switch_page("pages/home.py").run()
    at.switch_page(DATA_PAGE).run()
    assert at.session_state["dataset"].name == "synthetic ar2 (seed 3)"
    assert chart_spec(at)["layout"]["title"]["text"] == "AR(2) (synthetic, seed 3)"
    assert at.metric[0].value == "300"  # (AppTest drops the sidebar after switch_page; the browser test sees it)


def upload(at: AppTest, name: str, content: bytes) -> AppTest:
    if not at.file_uploader:
        choose_source(at, "csv")
    at.file_uploader(key="csv_file").upload(name, content).run()
    return at


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_broken_upload_shows_one_sentence_and_keeps_the_dataset(
    open_app: Callable[..., AppTest], broken_csv: tuple[str, bytes, str], lang: str
) -> None:
    name, content, key = broken_csv
    with pytest.raises(LabError) as expected:
        data.load_csv(content, name)
    assert expected.value.key == key

    at = upload(load_synthetic(open_app(DATA_PAGE, lang)), name, content)
    assert not at.exception
    assert [e.value for e in at.error] == [expected.value.message(lang)]
    assert at.session_state["dataset"].name == "synthetic ar2 (seed 3)"
    title = at.session_state["dataset"].title(lang)
    assert title == {"en": "AR(2) (synthetic, seed 3)", "zh": "AR(2) 自回归（合成序列，种子 3）"}[lang]
    assert t("kept_previous", lang, name=title) in [c.value for c in at.caption]
    assert chart_spec(at)["layout"]["title"]["text"] == title


def test_upload_over_the_limit_is_refused(open_app: Callable[..., AppTest], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(data.csvfile, "MAX_CSV_BYTES", 2**20)  # AppTest does not enforce the widget's limit; the loader does
    big = to_csv_bytes(make_prices(40_000, start="1950-01-01", freq="D"))
    assert len(big) > 2**20
    at = upload(open_app(DATA_PAGE), "big.csv", big)
    assert not at.exception
    assert [e.value for e in at.error] == ["The file is 1.9 MB; the limit is 1 MB. Upload a shorter period."]
    assert at.session_state["dataset"].name == "MSFT (sample)"


def test_duplicate_and_unsorted_dates_are_fixed_and_reported(open_app: Callable[..., AppTest]) -> None:
    frame = make_prices(80)
    messy = to_csv_bytes(pd.concat([frame.iloc[::-1], frame.iloc[:5]]))  # newest first, five days twice
    at = upload(open_app(DATA_PAGE), "messy.csv", messy)
    assert not at.exception and not at.error
    assert [s.value for s in at.success] == ["Loaded **messy (CSV)**."]
    assert "- Duplicate dates removed: 5" in [m.value for m in at.markdown]
    assert "- Dates were out of order and have been sorted." in [m.value for m in at.markdown]
    assert at.session_state["dataset"].quality.rows == 80


# ---------------------------------------------------------------- Data page, Yahoo (download patched)


class Download:
    """Patched download_yahoo: raises ``failure`` when set, else returns 120 New York daily bars."""

    def __init__(self) -> None:
        self.failure: BaseException | None = None
        self.calls = 0

    def __call__(self, ticker: str, start: str, end: str, interval: str):
        self.calls += 1
        if self.failure is not None:
            raise self.failure
        return make_prices(120).tz_localize("America/New_York")


@pytest.fixture
def download(monkeypatch: pytest.MonkeyPatch) -> Download:
    fake = Download()
    monkeypatch.setattr(data.sources, "download_yahoo", fake)
    return fake


def ask_yahoo(at: AppTest, ticker: str, start: dt.date = dt.date(2020, 1, 1), end: dt.date = dt.date(2020, 7, 1)) -> AppTest:
    if not at.text_input:
        choose_source(at, "yahoo")
    at.text_input(key="yahoo_ticker").set_value(ticker)
    at.date_input(key="yahoo_start").set_value(start)
    at.date_input(key="yahoo_end").set_value(end)
    at.button(key="yahoo_load").click().run()
    return at


def test_unknown_ticker_keeps_the_dataset(open_app: Callable[..., AppTest], download: Download) -> None:
    download.failure = YFPricesMissingError("XYZQ", "")
    at = ask_yahoo(open_app(DATA_PAGE), "XYZQ")
    assert not at.exception
    assert [e.value for e in at.error] == ["No prices for 'XYZQ': check the ticker symbol and the dates."]
    assert at.session_state["dataset"].name == "MSFT (sample)"
    assert not [b for b in at.button if b.key == "yahoo_use_saved"]


def test_yahoo_download_then_offline_offers_the_saved_copy(open_app: Callable[..., AppTest], download: Download) -> None:
    at = ask_yahoo(open_app(DATA_PAGE), "msft")
    assert not at.exception and not at.error
    assert at.session_state["dataset"].name == "MSFT (Yahoo)" and download.calls == 1

    download.failure = OSError("network is unreachable")
    at = ask_yahoo(at, "MSFT", start=dt.date(2020, 2, 1))  # another period: not on disk
    assert [e.value for e in at.error] == [t("err_yahoo_offline_saved", ticker="MSFT")]
    assert at.session_state["dataset"].name == "MSFT (Yahoo)"

    at.button(key="yahoo_use_saved").click().run()
    assert not at.exception
    assert at.session_state["dataset"].name == "MSFT (Yahoo, saved copy)"
    assert [i.value for i in at.info] == ["Loaded a copy saved on disk earlier, not a fresh download."]


@pytest.mark.parametrize(
    ("failure", "sentence"),
    [
        (YFRateLimitError(), "err_yahoo_rate_limited"),
        (OSError("no route to host"), "err_yahoo_offline"),
    ],
    ids=["rate_limit", "offline"],
)
def test_yahoo_unreachable_without_a_saved_copy(
    open_app: Callable[..., AppTest], download: Download, failure: Exception, sentence: str
) -> None:
    download.failure = failure
    at = ask_yahoo(open_app(DATA_PAGE, "zh"), "NVDA")
    assert not at.exception
    assert [e.value for e in at.error] == [t(sentence, "zh", ticker="NVDA")]
    assert at.session_state["dataset"].name == "MSFT (sample)"
    assert not [b for b in at.button if b.key == "yahoo_use_saved"]
