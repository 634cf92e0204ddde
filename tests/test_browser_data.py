"""The Data page in a real Chromium against `streamlit run app.py`: the candlestick draws and nothing raises."""

from __future__ import annotations

from pathlib import Path

import pytest
from browser import open_data_page, wait_idle
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

PLOTLY = "[data-testid='stPlotlyChart'] .js-plotly-plot"
expect.set_options(timeout=30_000)  # two CPU cores shared with training jobs: a rerun can take seconds


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
