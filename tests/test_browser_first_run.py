"""A newcomer's first five minutes in Chromium: Start with the defaults, watch the loss fall, see the gates play; and
the same Start on a server whose jobs run on a Ray cluster."""

from __future__ import annotations

from pathlib import Path

import pytest
from browser import keep_screenshot, open_app_page, streamlit_server, wait_idle
from playwright.sync_api import Page, expect
from test_browser_gates import CHART, heatmap_pixels, painted_share

from lstm_core.i18n import t
from tests.helpers import need_ray

pytestmark = pytest.mark.browser

LOSS_CHART = ".st-key-loss_chart .js-plotly-plot"
ROOT = Path(__file__).resolve().parent.parent


def shot(page: Page, selector: str, name: str) -> None:
    keep_screenshot(page.locator(selector).first, name)


def test_defaults_show_a_loss_that_falls_a_true_verdict_and_gates_that_play(app_url: str, browser_page: Page) -> None:
    page = browser_page
    open_app_page(page, app_url, "train")
    page.get_by_role("button", name=t("train_start")).click()  # nothing changed: the newcomer's defaults

    # while it trains, the chart already starts at epoch 0, the untrained model (read in one step: the chart's
    # element can be replaced between two calls while the page reruns)
    first = page.wait_for_function(
        f"() => {{ const g = Array.from(document.querySelectorAll({LOSS_CHART!r}))"
        ".find(g => g.data?.at(-1)?.x?.length >= 2); return g ? [g.data.at(-1).x[0]] : null; }",
        timeout=60_000,
    )
    assert first.json_value() == [0]

    expect(page.locator("h3", has_text="Held-out test period")).to_be_visible(timeout=240_000)
    wait_idle(page)
    expect(page.locator(LOSS_CHART)).to_have_count(1)  # settled: one chart, no Stop button
    expect(page.locator(".st-key-train_stop")).to_have_count(0)
    val = page.wait_for_function(
        f"() => {{ const g = document.querySelector({LOSS_CHART!r}); return g?.data ? Array.from(g.data.at(-1).y) : null; }}"
    ).json_value()
    assert len(val) >= 11, f"only {len(val) - 1} epochs"  # epoch 0 and at least ten trained
    # it learned, relative to each window's own level: a modest fall (the panel in the README: 0.88 to 0.95 of epoch 0)
    assert min(val) <= 0.95 * val[0], val
    # the loss fell, yet on the test period the default forecasts no better than the same network before training
    # (README, "How good is the default model?"): the verdict says so, and makes no claim of skill
    verdict = page.locator("[data-testid='stAlert']", has_text="The model learned nothing it could show").first
    expect(verdict).to_contain_text("the same network before training forecast the test period better")
    expect(verdict).not_to_contain_text("beats")
    expect(page.locator("[data-testid='stAlertContentSuccess']")).to_have_count(0)  # no "beats the strongest"
    page.locator(LOSS_CHART).scroll_into_view_if_needed()
    shot(page, "[data-testid='stMain']", "train.png")

    # the trained model's gates play: the heatmap is painted in a shot taken mid-play
    page.locator("[data-testid='stSidebarNavLink'][href$='/gates']").click()
    wait_idle(page)
    chart = page.locator(CHART)
    chart.locator(".heatmaplayer image").wait_for(timeout=30_000)
    chart.scroll_into_view_if_needed()
    page.wait_for_timeout(800)
    chart.locator(".updatemenu-button").nth(0).click()
    page.wait_for_timeout(1500)
    assert chart.evaluate("gd => !!gd._transitionData._animationRaf"), "the animation is not playing"
    assert painted_share(heatmap_pixels(page)) > 0.25
    shot(page, ".st-key-gates_animation", "gates.png")


@pytest.fixture(scope="module")
def ray_app_url(tmp_path_factory: pytest.TempPathFactory) -> object:
    """`streamlit run app.py` with its jobs on the test cluster (LSTM_LAB_RAY_ADDRESS), for this file's Ray test."""
    address = need_ray()
    extra_env = {"LSTM_LAB_RAY_ADDRESS": address, "LSTM_LAB_DATA": str(tmp_path_factory.mktemp("ray-data"))}
    with streamlit_server(cache_dir=tmp_path_factory.mktemp("ray-server-cache"), extra_env=extra_env) as url:
        yield url


def ray_tasks_training() -> list[str]:
    """Titles of the Ray worker processes training a job now (Ray names a worker after its task: lstm-lab-<data>).

    The test cluster's nodes run on this host, so their processes can be seen here."""
    titles = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            titles.append(cmdline.read_bytes().split(b"\0")[0].decode(errors="replace"))
        except OSError:
            continue  # a process that ended while we looked
    return [title for title in titles if title.startswith("ray::lstm-lab-")]


CHART_EPOCHS_JS = (f"() => {{ const g = Array.from(document.querySelectorAll({LOSS_CHART!r}))"
                   ".find(g => g.data?.at(-1)?.x?.length >= 2); return g ? g.data.at(-1).x.length : null; }")


def test_a_run_on_the_ray_backend_streams_its_live_chart(ray_app_url: str, browser_page: Page) -> None:
    page = browser_page
    open_app_page(page, ray_app_url, "train")
    page.get_by_role("button", name=t("train_start")).click()
    seen = page.wait_for_function(CHART_EPOCHS_JS, timeout=120_000).json_value()  # epoch 0 and the first trained
    assert ray_tasks_training() == ["ray::lstm-lab-MSFT (sample)"]  # it trains in a worker of the cluster
    expect(page.locator(".st-key-train_stop")).to_have_count(1)
    # the chart grows while the job runs: more epochs drawn than when first seen, the Stop button still there
    grown = page.wait_for_function(
        f"([n, stop]) => {{ const g = document.querySelector({LOSS_CHART!r}); const x = g?.data?.at(-1)?.x;"
        " return x && x.length > n && document.querySelector(stop) ? x.length : null; }",
        arg=[seen, ".st-key-train_stop"], timeout=120_000,
    ).json_value()
    assert grown > seen >= 2
    # Stop reaches the worker on the cluster: training ends there and the best weights so far come back as the run
    page.locator(".st-key-train_stop button").click()
    expect(page.locator("h3", has_text="Held-out test period")).to_be_visible(timeout=120_000)
    wait_idle(page)
    expect(page.locator(".st-key-train_stop")).to_have_count(0)
    expect(page.locator(LOSS_CHART)).to_have_count(1)
    val = page.wait_for_function(
        f"() => {{ const g = document.querySelector({LOSS_CHART!r}); return g?.data ? Array.from(g.data.at(-1).y) : null; }}"
    ).json_value()
    assert grown <= len(val) < 40, val  # every epoch drawn came back, and no more than Stop let it train (of 60)
    assert ray_tasks_training() == []  # its worker is idle again
