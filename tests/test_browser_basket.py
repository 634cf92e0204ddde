"""The Many series page in a real Chromium: the default basket trained through the page, its loss chart drawn while it
trains, the panel's verdict and each series' row once it ends, and a series of it opened on the Gates page."""

from __future__ import annotations

import re

import pytest
from browser import grid_rows, wait_idle
from playwright.sync_api import Page, expect

from lstm_core.i18n import t

pytestmark = pytest.mark.browser

WAIT_MS = 60_000
# the live chart's validation line as drawn: its epochs (x), one marker per epoch scored so far, or null
VAL_X_JS = """
name => {
    const plot = document.querySelector("[data-testid='stPlotlyChart'] .js-plotly-plot");
    const line = plot && plot.data && plot.data.find(trace => trace.name === name);
    return line ? Array.from(line.x) : null;
}"""


def test_a_basket_trains_through_the_page_and_its_series_open_on_gates(app_url: str, browser_page: Page) -> None:
    page = browser_page
    page.goto(f"{app_url}/basket")
    expect(page.locator("h1").first).to_have_text(t("basket_title"), timeout=WAIT_MS)
    wait_idle(page)
    chips = page.locator("[data-testid='stMain'] [data-testid='stMultiSelect']").first.locator(
        "[data-testid='stMultiSelectTagsContainer'] [role=group] > *")
    expect(chips).to_have_count(4)
    page.get_by_label(t("cfg_epochs"), exact=True).fill("3")  # small: the page is what is tested, not the network
    page.keyboard.press("Enter")
    wait_idle(page)
    page.get_by_role("combobox", name=t("cfg_hidden")).click()
    page.get_by_role("option", name="8", exact=True).click()
    wait_idle(page)
    expect(page.get_by_role("combobox", name=t("cfg_hidden"))).to_have_value("8")
    page.get_by_role("button", name=t("basket_start")).click()

    # mid-training: the progress line and a loss chart whose validation line starts at epoch 0
    expect(page.get_by_text("Epoch ", exact=False).first).to_be_visible(timeout=WAIT_MS)
    drawn = page.wait_for_function(f"name => ({VAL_X_JS})(name)?.length >= 1 ? ({VAL_X_JS})(name) : null",
                                   arg=t("loss_val"), timeout=WAIT_MS).json_value()
    assert drawn[0] == 0  # epoch 0, the untrained network, drawn before any training epoch

    # the end: the panel's verdict first, then one row per series
    heading = page.get_by_role("heading", name=t("basket_panel_title", n=4))
    expect(heading).to_be_visible(timeout=120_000)
    wait_idle(page)
    lead = page.get_by_text(t("basket_panel_lead", n=4))
    expect(lead).to_be_visible()
    expect(page.get_by_text("Against the pooled linear model on the same inputs it")).to_be_visible()
    # the sidebar says what the session's model is: this basket's network, not "not trained yet"
    expect(page.locator("[data-testid='stSidebar']")).to_contain_text(t("sidebar_model_basket", n=4), timeout=WAIT_MS)
    tables = page.locator("[data-testid='stMain'] [data-testid='stDataFrame']")
    rows = grid_rows(tables.nth(2))
    assert [row[0] for row in rows[1:]] == ["MSFT (sample)", "NVDA (sample)", "SP500 (sample)", "NASDAQ (sample)"]
    assert rows[0][0] == t("col_series")

    # Gates offers each series of the basket run, with its verdict
    page.locator("[data-testid='stSidebarNavLink'][href$='/gates']").click()
    expect(page.locator("h1").first).to_have_text(t("gates_title"), timeout=WAIT_MS)
    wait_idle(page)
    picker = page.get_by_role("combobox", name=t("gates_pick_run"))  # no one-series run: the basket's last series
    expect(picker).to_have_value(re.compile(r"^NASDAQ \(sample\) · one network on 4 series · "))
    expect(page.locator("[data-testid='stPlotlyChart']").first).to_be_visible(timeout=WAIT_MS)
