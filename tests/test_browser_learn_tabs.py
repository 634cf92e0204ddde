"""The Learn page reopens on the tab the user chose, after a page switch and after a language switch (Chromium)."""

from __future__ import annotations

import pytest
from browser import wait_idle
from playwright.sync_api import Page, expect

from lstm_core.i18n import t

pytestmark = pytest.mark.browser


def go(page: Page, slug: str) -> None:
    page.locator(f"[data-testid='stSidebarNavLink'][href$='/{slug}']").click()
    wait_idle(page)


def selected_tab(page: Page) -> str:
    return page.locator("[data-testid='stTab'][aria-selected='true']").inner_text()


def test_the_chosen_tab_survives_page_and_language_switches(app_url: str, browser_page: Page) -> None:
    page = browser_page
    page.goto(app_url)
    wait_idle(page)
    go(page, "learn")
    assert t("learn_tab_lesson") in selected_tab(page)
    page.get_by_role("tab", name=t("learn_tab_gradients")).click()
    wait_idle(page)
    assert t("learn_tab_gradients") in selected_tab(page)

    go(page, "data")
    go(page, "learn")
    expect(page.locator("[data-testid='stTab'][aria-selected='true']")).to_contain_text(t("learn_tab_gradients"))

    page.locator("[data-testid='stSidebar']").get_by_role("radio", name="简体中文").click()
    wait_idle(page)
    expect(page.locator("h1").first).to_have_text(t("learn_title", "zh"))
    expect(page.locator("[data-testid='stTab'][aria-selected='true']")).to_contain_text(t("learn_tab_gradients", "zh"))
    assert "lang=zh" in page.url  # the language lives in the URL: a reload opens in it
    page.reload()
    wait_idle(page)
    expect(page.locator("h1").first).to_have_text(t("learn_title", "zh"))
