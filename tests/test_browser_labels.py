"""No label is cut off at 1,280 px and up, in either language: the Train form's choices and every button, in Chromium.

At 1,400 px "Next price" was cut to "Next" (in Chinese to one character) and "SGD (momentum 0.9)" was clipped:
segmented controls never wrap. A label is clipped when its text is wider than the box that shows it.
"""

from __future__ import annotations

import pytest
from browser import wait_idle
from playwright.sync_api import Page, expect

from lstm_core.i18n import t

pytestmark = pytest.mark.browser

WAIT_MS = 60_000
# every element that shows a label in one line: buttons (segmented controls and pills are buttons), a selectbox's
# chosen value (Streamlit 1.67 draws it as a combobox input's value), a multiselect's chips, tab labels
CLIPPED_JS = """
() => Array.from(document.querySelectorAll(
    "[data-testid='stMain'] button p, [data-testid='stMain'] [data-testid='stSelectbox'] input[role=combobox], " +
    "[data-testid='stMain'] [data-testid='stMultiSelectTagsContainer'] [role=group] > *, " +
    "[data-testid='stMain'] [data-testid='stTab'] p"))
  .filter(e => e.offsetParent !== null)
  .filter(e => e.scrollWidth > e.clientWidth + 1 || e.getBoundingClientRect().right >
               e.closest("[data-testid='stColumn'], [data-testid='stMain']").getBoundingClientRect().right + 1)
  .map(e => e.value || e.textContent)
"""


def open_in(page: Page, url: str, slug: str, lang: str, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 1000})
    page.goto(f"{url}/{slug}")
    expect(page.locator("h1").first).to_have_text(t(f"{slug}_title"), timeout=WAIT_MS)
    wait_idle(page)
    if lang == "zh":
        page.locator("[data-testid='stSidebar']").get_by_role("radio", name="简体中文").click()
        expect(page.locator("h1").first).to_have_text(t(f"{slug}_title", "zh"), timeout=WAIT_MS)
        wait_idle(page)


@pytest.mark.parametrize("width", [1280, 1400])
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_no_label_is_cut_off_on_the_train_page(app_url: str, browser_page: Page, lang: str, width: int) -> None:
    page = browser_page
    open_in(page, app_url, "train", lang, width)
    expect(page.get_by_role("button", name=t("train_start", lang))).to_be_visible(timeout=WAIT_MS)
    main = page.locator("[data-testid='stMain']")
    for label in ("cfg_target", "cfg_optimizer"):  # the form is open (read as it settles: the page may still rerun)
        expect(main).to_contain_text(t(label, lang), timeout=WAIT_MS)
    wait_idle(page)
    assert page.evaluate(CLIPPED_JS) == []
    # a choice made (here by default) before the switch is drawn in the new language: it stayed English once
    expect(main.get_by_role("combobox", name=t("cfg_target", lang))).to_have_value(t("target_logvol", lang))


@pytest.mark.parametrize("slug", ["data", "learn", "tune", "basket"])
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_no_label_is_cut_off_on_the_other_forms(app_url: str, browser_page: Page, lang: str, slug: str) -> None:
    open_in(browser_page, app_url, slug, lang, 1280)
    assert browser_page.evaluate(CLIPPED_JS) == []
    if slug == "basket":  # the series picked by default, relabelled by the switch
        chips = browser_page.locator("[data-testid='stMain'] [data-testid='stMultiSelect']").first.locator(
            "[data-testid='stMultiSelectTagsContainer'] [role=group] > *")
        expect(chips).to_have_count(4)
        expect(chips.first).to_have_text("MSFT（内置样本）" if lang == "zh" else "MSFT (sample)")
        target = browser_page.get_by_role("combobox", name=t("cfg_target", lang))
        expect(target).to_have_value(t("target_logvol", lang))
