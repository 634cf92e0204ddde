"""The Data page under AppTest in both languages: translated table headers and hover, numeric Chinese dates, provenance links, CSV findings."""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np
import pytest
from conftest import make_prices
from streamlit.testing.v1 import AppTest

from lstm_core import data
from lstm_core.i18n import t
from lstm_core.plots.data import weekly_bars
from lstm_core.plots.locale import ZH_HOVER

DATA_PAGE = "pages/data.py"


def chart_spec(at: AppTest) -> dict:
    (chart,) = at.get("plotly_chart")
    return json.loads(chart.proto.spec)


def upload(at: AppTest, name: str, content: bytes) -> AppTest:
    at.segmented_control(key="data_source").set_value("csv").run()
    at.file_uploader(key="csv_file").upload(name, content).run()
    return at


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_preview_headers_hover_and_date_ticks_speak_the_language(open_app: Callable[..., AppTest], lang: str) -> None:
    at = open_app(DATA_PAGE, lang)
    assert not at.exception
    preview = at.dataframe[0].value
    assert list(preview.columns) == [t(f"col_{c}", lang) for c in data.FRAME_COLUMNS]
    assert preview.index.name == t("col_Date", lang) and preview.index[-1] == "2017-11-10"
    assert {"en": ["Open", "High", "Low", "Close", "Volume"], "zh": ["开盘价", "最高价", "最低价", "收盘价", "成交量"]}[lang] == list(preview.columns)

    layout, (candles, _) = chart_spec(at)["layout"], chart_spec(at)["data"]
    first_week = weekly_bars(at.session_state["dataset"].frame).iloc[0]  # 7,983 days are drawn as weekly candles
    assert candles["hovertext"][0].split("<br>") == [f"{t(f'col_{c}', lang)}: {first_week[c]:.6g}" for c in data.PRICE_COLUMNS]
    assert candles["hovertext"][0].startswith({"en": "Open: 0.0672<br>High: ", "zh": "开盘价: 0.0672<br>最高价: "}[lang])
    if lang == "zh":
        for axis in ("xaxis", "xaxis2"):
            stops = {stop["dtickrange"][0]: stop["value"] for stop in layout[axis]["tickformatstops"]}
            assert stops["M1"] == "%Y年%m月" and stops["M12"] == "%Y年" and layout[axis]["hoverformat"] == ZH_HOVER
    else:
        assert "tickformatstops" not in layout["xaxis"] and "hoverformat" not in layout["xaxis2"]


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("ticker", ["MSFT", "NVDA", "ORCL", "YHOO"])
def test_sample_provenance_is_a_link(open_app: Callable[..., AppTest], lang: str, ticker: str) -> None:
    at = open_app(DATA_PAGE, lang)
    at.selectbox(key="sample_ticker").set_value(ticker)
    at.button(key="sample_load").click().run()
    url = data.SAMPLE_ORIGINS[ticker]
    assert url.startswith("https://github.com/")
    captions = [c.value for c in at.caption]
    assert f"{t('sample_provenance', lang, ticker=ticker, url=url)} {t(f'sample_origin_{ticker}', lang)}" in captions
    assert sum(f"[{url}]({url})" in caption for caption in captions) == 1  # markdown: Streamlit draws an <a href>
    findings = [m.value for m in at.markdown]
    adjusted = f"- {t('q_adjusted_volume', lang)}"
    # NVDA's and ORCL's files have an Adj Close below Close; MSFT's has none, YHOO's equals Close (no dividends)
    assert (adjusted in findings) is (ticker in ("NVDA", "ORCL"))
    if ticker == "NVDA":
        assert "volume" in t("q_adjusted_volume", "en") and "成交量" in t("q_adjusted_volume", "zh")


def test_decimal_comma_upload_loads_with_the_right_magnitudes(open_app: Callable[..., AppTest]) -> None:
    frame = make_prices(60)
    rows = [
        f"{day:%d.%m.%Y};{f'{42.303135 + i / 1000:.6f}'.replace('.', ',')};{f'{volume:,.0f}'.replace(',', '.')}"
        for i, (day, volume) in enumerate(frame["Volume"].items())
    ]  # 02.01.2020;42,304135;1.636: dotted dates, decimal commas, dotted thousands
    at = upload(open_app(DATA_PAGE, "zh"), "kurse.csv", "\n".join(["Date;Close;Volume", *rows]).encode())
    assert not at.exception and not at.error
    ds = at.session_state["dataset"]
    assert ds.frame["Close"].iloc[0] == 42.303135 and ds.frame["Close"].iloc[-1] == pytest.approx(42.362135, abs=1e-12)
    np.testing.assert_array_equal(ds.frame["Volume"].to_numpy(), frame["Volume"].to_numpy())
    assert f"- {t('q_decimal_comma', 'zh')}" in [m.value for m in at.markdown]


def test_ten_thousand_columns_are_refused_on_the_page(open_app: Callable[..., AppTest]) -> None:
    wide = (",".join(f"c{i}" for i in range(10_000)) + "\n" + ",".join("1" * 10_000) + "\n").encode()
    at = upload(open_app(DATA_PAGE, "zh"), "wide.csv", wide)
    assert not at.exception
    assert [e.value for e in at.error] == [t("err_too_many_columns", "zh", name="wide.csv", limit=data.MAX_CSV_COLUMNS)]
    assert at.session_state["dataset"].name == "MSFT (sample)"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_uploaders_drop_zone_speaks_the_language(open_app: Callable[..., AppTest], lang: str) -> None:
    at = open_app(DATA_PAGE, lang)
    at.segmented_control(key="data_source").set_value("csv").run()
    styles = [el.proto.body for el in at.get("html")]
    if lang == "en":  # Streamlit's own words are English already
        assert styles == []
        return
    (style,) = styles
    assert '.st-key-csv_file [data-testid=\'stFileUploaderDropzone\'] button' in style
    assert 'content: "上传"' in style and 'content: "每个文件最多 50 MB"' in style


def test_a_drop_zone_word_cannot_end_its_style() -> None:
    from ui.text import dropzone_style

    style = dropzone_style("k", 'Up"load</style><script>', "a\\b")
    assert style.count("<") == 2 and style.count('"') == 4  # only <style>, </style> and the two strings' own quotes
    assert "\\22 " in style and "\\3c " in style and "\\5c " in style
