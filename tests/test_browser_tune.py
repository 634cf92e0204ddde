"""The Tune page in Chromium: start a small study, watch its history chart grow, stop it, train the best config."""

from __future__ import annotations

import pytest
from browser import keep_screenshot, wait_idle
from playwright.sync_api import Page, expect

from lstm_core.i18n import t

pytestmark = pytest.mark.browser

HISTORY = ".st-key-tune_history .js-plotly-plot"
POINTS = f"() => document.querySelector({HISTORY!r})?.data?.[0]?.x?.length ?? 0"


def set_number(page: Page, key: str, value: float) -> None:
    box = page.locator(f".st-key-{key} input")
    box.fill(str(value))
    box.press("Enter")
    wait_idle(page)


def test_a_study_grows_stops_and_its_best_trains(app_url: str, browser_page: Page) -> None:
    page = browser_page
    page.goto(app_url)
    wait_idle(page)
    page.locator("[data-testid='stSidebarNavLink'][href$='/tune']").click()
    wait_idle(page)
    expect(page.locator("h1", has_text=t("tune_title"))).to_be_visible()
    # small and quick: a few epochs of one small layer each, far more trials than we will wait for
    for key, value in (("tune_budget", 40), ("tune_epochs", 2), ("tune_low_hidden", 4), ("tune_high_hidden", 12),
                       ("tune_high_layers", 1), ("tune_n_workers", 2)):
        set_number(page, key, value)
    page.get_by_role("button", name=t("tune_start")).click()

    # the history chart appears with the first complete trial and grows as more finish, without a click
    page.wait_for_function(f"() => ({POINTS})() >= 1", timeout=120_000)
    first = page.evaluate(POINTS)
    page.wait_for_function(f"() => ({POINTS})() > {first}", timeout=120_000)
    grown = page.evaluate(POINTS)
    assert grown > first >= 1
    keep_screenshot(page.locator("[data-testid='stMain']"), "tune.png")

    page.locator(".st-key-tune_stop button").click()
    expect(page.locator(".st-key-tune_stop")).to_have_count(0, timeout=60_000)  # the workers ended
    wait_idle(page)
    expect(page.locator(".st-key-tune_start button")).to_be_enabled()  # the form is back
    rows = page.locator(".st-key-tune_history").count()
    assert rows == 1
    table = page.locator("[data-testid='stDataFrame']")
    expect(table).to_have_count(1)

    page.get_by_role("button", name=t("tune_train_best")).click()
    expect(page.locator("h1", has_text=t("train_title"))).to_be_visible(timeout=30_000)
    expect(page.locator("h3", has_text="Held-out test period")).to_be_visible(timeout=120_000)
