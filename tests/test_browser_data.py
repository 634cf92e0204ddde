"""The Data page in a real Chromium against `streamlit run app.py`: the candlestick draws, nothing raises, Chinese dates are numeric."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from browser import grid_rows, open_data_page, wait_idle
from playwright.sync_api import expect

from lstm_core import data
from lstm_core.i18n import t

pytestmark = pytest.mark.browser

PLOTLY = "[data-testid='stPlotlyChart'] .js-plotly-plot"
expect.set_options(timeout=30_000)  # two CPU cores shared with training jobs: a rerun can take seconds


def x_tick_labels(page) -> list[str]:
    """The date axis's tick labels as drawn (SVG text has no innerText, so textContent)."""
    return page.locator(f"{PLOTLY} .xtick text").evaluate_all("els => els.map(e => e.textContent)")


def test_data_page_draws_the_candlestick_without_errors(app_url: str, browser_page) -> None:
    page = browser_page
    script_errors: list[str] = []
    page.on("pageerror", lambda exc: script_errors.append(str(exc)))

    open_data_page(page, app_url)  # home first, then Data through the sidebar navigation
    wait_idle(page)
    assert page.locator("h1").first.inner_text() == "Data"
    traces = page.evaluate(f"() => document.querySelector({PLOTLY!r})._fullData.map(t => [t.type, t.x.length])")
    assert traces == [["candlestick", 1653], ["bar", 1653]]  # 7,983 daily rows drawn as 1,653 weekly candles
    assert page.locator(f"{PLOTLY} g.trace.boxes path").count() == 1653  # every candle reached the SVG
    assert "7,983 rows" in page.locator("[data-testid='stSidebar']").inner_text().replace("\n", " ")
    assert page.locator("[data-testid='stMetricValue']").all_inner_texts()[:3] == ["7,983", "1986-03-13", "2017-11-10"]
    assert page.locator("[data-testid='stException']").count() == 0
    assert script_errors == []


def test_loading_updates_the_sidebar_and_a_broken_upload_keeps_the_dataset(
    app_url: str, browser_page, tmp_path: Path
) -> None:
    page = browser_page
    main, sidebar = page.locator("[data-testid='stMain']"), page.locator("[data-testid='stSidebar']")
    open_data_page(page, app_url)

    main.get_by_role("radio", name="Synthetic", exact=True).click()
    expect(main.get_by_text("Noise", exact=True)).to_be_visible()
    submit = main.locator("[data-testid='stBaseButton-secondaryFormSubmit']")
    expect(submit).to_have_count(1)  # the sample form's stale button is gone: the rerun has finished
    submit.click()
    expect(main.get_by_text("Loaded Sine with noise (synthetic, seed 0).")).to_be_visible()
    expect(sidebar).to_contain_text("(1,500 rows)")  # updated by the same click, not one click later

    broken = tmp_path / "prices.csv"
    broken.write_bytes(b"id,Close\n" + b"".join(b"%d,%d\n" % (i, 100 + i) for i in range(80)))
    main.get_by_role("radio", name="CSV upload", exact=True).click()
    page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(broken)
    expect(main.get_by_text("'prices.csv' has no date column: name one 'Date' or use dates like 2024-01-31.")).to_be_visible()
    expect(main.get_by_text("Kept the dataset loaded before: Sine with noise (synthetic, seed 0).")).to_be_visible()
    wait_idle(page)
    assert "(1,500 rows)" in sidebar.inner_text()
    assert page.locator("[data-testid='stException']").count() == 0


def test_chinese_data_page_has_numeric_month_ticks_translated_headers_and_a_provenance_link(
    app_url: str, browser_page
) -> None:
    page = browser_page
    main = page.locator("[data-testid='stMain']")
    open_data_page(page, app_url)
    page.locator("[data-testid='stSidebar']").get_by_role("radio", name="简体中文").click()
    expect(page.locator("h1").first).to_have_text(t("data_title", "zh"))
    wait_idle(page)

    table = main.locator("[data-testid='stDataFrame']")
    expect(table.locator("table[role=grid] tr").first).to_contain_text("日期")  # the grid redraws after the rerun
    headers = grid_rows(table)[0]
    assert [h.strip() for h in headers] == ["日期", "开盘价", "最高价", "最低价", "收盘价", "成交量"]
    link = main.locator(f"a[href='{data.SAMPLE_ORIGINS['MSFT']}']")
    expect(link).to_have_count(1)

    # ~14 months of business days: plotly picks monthly ticks, which English spells "Jan 2015"
    main.get_by_role("radio", name=t("src_synthetic", "zh"), exact=True).click()
    days = main.get_by_label(t("synthetic_days", "zh"))
    expect(days).to_be_visible()
    days.fill("300")
    main.get_by_label(t("synthetic_kind", "zh")).click()
    page.get_by_role("option", name=t("syn_ar2", "zh")).click()
    main.locator(".st-key-synthetic_load button").click()
    expect(main.get_by_text(t("loaded", "zh", name="AR(2) 自回归（合成序列，种子 0）").replace("**", ""))).to_be_visible()
    wait_idle(page)
    ticks = x_tick_labels(page)
    assert len(ticks) >= 4 and all(re.fullmatch(r"\d{4}年\d{2}月", tick) for tick in ticks), ticks

    page.locator("[data-testid='stSidebar']").get_by_role("radio", name="English").click()
    expect(page.locator("h1").first).to_have_text("Data")
    wait_idle(page)
    english = x_tick_labels(page)
    assert any(re.fullmatch(r"[A-Z][a-z]{2}( \d{4})?", tick) for tick in english), english  # the test could fail
    assert page.locator("[data-testid='stException']").count() == 0
