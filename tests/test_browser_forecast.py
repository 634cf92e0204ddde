"""The Forecast page in Chromium: after a short run, the forecast's bands are drawn past the data's last day."""

from __future__ import annotations

import io

import numpy as np
import pytest
from browser import keep_screenshot, open_app_page, wait_idle
from playwright.sync_api import Page, expect

from lstm_core.i18n import t

pytestmark = pytest.mark.browser

CHART = ".st-key-forecast_chart .js-plotly-plot"
STEPS = 10


def band_pixels(page: Page) -> np.ndarray:
    """The forecast chart's plot area as an ``[H, W, 3]`` uint8 array."""
    from PIL import Image

    box = page.locator(f"{CHART} .draglayer .xy .nsewdrag").bounding_box()
    return np.asarray(Image.open(io.BytesIO(page.screenshot(clip=box))).convert("RGB"))


def test_a_short_run_shows_shaded_bands_on_the_forecast_page(app_url: str, browser_page: Page) -> None:
    page = browser_page
    open_app_page(page, app_url, "train")
    for label, value in (("cfg_epochs", 3), ("cfg_hidden", 8), ("cfg_steps", STEPS)):
        page.get_by_label(t(label), exact=True).fill(str(value))
    page.get_by_role("button", name=t("train_start")).click()
    expect(page.locator("h3", has_text="Held-out test period")).to_be_visible(timeout=240_000)
    wait_idle(page)

    page.locator("[data-testid='stSidebarNavLink'][href$='/forecast']").click()
    wait_idle(page)
    chart = page.locator(CHART)
    chart.locator(".scatterlayer .trace").first.wait_for(timeout=60_000)
    chart.scroll_into_view_if_needed()
    fills = chart.evaluate("gd => gd.data.filter(d => d.fill === 'toself').map(d => [d.name, d.x.length])")
    # the kind of interval drawn is the one the page opened on (the one whose check passes), named in the legend
    picked = page.get_by_role("radiogroup", name=t("forecast_kind")).get_by_role("radio", checked=True).inner_text()
    kind = next(k for k in ("split", "adaptive") if picked.startswith(t(f"forecast_kind_{k}")))
    assert [name for name, _ in fills] == [t(f"forecast_band_{kind}", level=level) for level in (95, 80)]
    assert all(n == 2 * STEPS for _, n in fills), fills  # each step, out and back: none starts at the last known day
    assert chart.locator(".scatterlayer .js-fill").count() >= 2  # plotly drew the polygons
    pixels = band_pixels(page).astype(int)
    # translucent blue bands over white (7.7 % of the plot area when written); history is grey, persistence orange
    blueish = (pixels[..., 2] - pixels[..., 0] > 25) & (pixels[..., 2] > 180)
    assert blueish.mean() > 0.03, f"{blueish.mean():.4f} of the plot area is shaded"
    expect(page.locator("[data-testid='stDataFrame']").first).to_be_visible()
    keep_screenshot(chart, "forecast.png")

    # the other kind is one click away, named as such in the legend
    other = "adaptive" if kind == "split" else "split"
    page.get_by_role("radiogroup", name=t("forecast_kind")).get_by_role("radio", name=t(f"forecast_kind_{other}")).click()
    wait_idle(page)
    names = page.wait_for_function(
        f"() => {{ const gd = document.querySelector({CHART!r}); const names = gd?.data?.filter(d => d.fill === 'toself')"
        ".map(d => d.name); return names?.length && !names[0].includes(" + repr(t(f"forecast_band_{kind}", level=95)) + ")"
        " ? names : null; }", timeout=30_000,
    ).json_value()
    assert names == [t(f"forecast_band_{other}", level=level) for level in (95, 80)]
