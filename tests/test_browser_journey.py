"""One user's whole journey in a real Chromium: data, a live training run, Gates, Learn, Chinese, and the screenshots.

Screenshots go to a temporary folder; set ``LSTM_LAB_SCREENSHOTS=docs`` to refresh the ones in docs/:
``LSTM_LAB_SCREENSHOTS=docs python -m pytest tests/test_browser_journey.py``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from browser import ROOT, grid_rows, wait_idle
from playwright.sync_api import Locator, Page, expect

from lstm_core.i18n import t

pytestmark = pytest.mark.browser

EPOCHS = 500  # a ceiling only: the job is stopped by the test, so its length follows the test's own pace
HIDDEN = 12
SEED = 7
LOSS_CHART = ".st-key-loss_chart .js-plotly-plot"
GATES_CHART = ".st-key-gates_animation .js-plotly-plot"
WAIT_MS = 30_000


# ---------------------------------------------------------------- reading the page


def trace_lengths(page: Page, chart: str) -> dict[str, int]:
    """Points per trace of a plotly chart, read from the figure the browser holds (the newest, while a rerun replaces
    it: for a moment the stale chart is still there beside its successor, and the successor has no figure yet)."""
    return page.wait_for_function(
        "c => { const all = document.querySelectorAll(c); const p = all[all.length - 1];"
        " return p?.data ? Object.fromEntries(p.data.map(t => [t.name, t.x.length])) : false; }",
        arg=chart, timeout=WAIT_MS,
    ).json_value()


def sidebar_text(page: Page) -> str:
    return page.locator("[data-testid='stSidebar']").inner_text()


def assert_clean(page: Page, script_errors: list[str]) -> None:
    """No Python exception box on the page, and no JavaScript error so far."""
    assert page.locator("[data-testid='stException']").count() == 0
    assert script_errors == []


def go(page: Page, url: str, slug: str, title: str) -> None:
    """Through the sidebar navigation to ``slug``; returns once its title shows and the script is idle."""
    page.locator(f"[data-testid='stSidebarNavLink'][href$='/{slug}']").click()
    page.wait_for_url(f"{url}/{slug}*")  # the workspace id follows in ?ws=
    expect(page.locator("h1").first).to_have_text(title, timeout=WAIT_MS)
    wait_idle(page)


def snap(page: Page, path: Path, height: int) -> None:
    """A screenshot 1400 px wide and ``height`` tall; the tab goes back to 1400x1000 after."""
    page.set_viewport_size({"width": 1400, "height": height})
    page.mouse.move(1399, 0)  # no hover effects: chart toolbars, the sidebar's collapse arrow
    wait_idle(page)
    page.evaluate("() => document.fonts.ready")
    page.wait_for_timeout(600)  # plotly and the grids redraw after a resize
    page.screenshot(path=str(path))
    page.set_viewport_size({"width": 1400, "height": 1000})


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    """Where the screenshots go: LSTM_LAB_SCREENSHOTS (relative to the repo), else a throwaway folder."""
    wanted = os.environ.get("LSTM_LAB_SCREENSHOTS")
    return ROOT / wanted if wanted else tmp_path


# ---------------------------------------------------------------- the journey


def test_journey_data_train_gates_learn_chinese(app_url: str, browser_page: Page, shots: Path) -> None:
    page, url = browser_page, app_url
    script_errors: list[str] = []
    page.on("pageerror", lambda exc: script_errors.append(str(exc)))

    # Home
    page.goto(url)
    expect(page.locator("h1").first).to_have_text(t("app_title"), timeout=WAIT_MS)
    wait_idle(page)
    assert_clean(page, script_errors)
    snap(page, shots / "home.png", 1000)

    # Data: load the NVDA sample; the sidebar and the Train page then name it
    go(page, url, "data", t("data_title"))
    page.get_by_role("combobox", name=t("sample_pick")).click()
    page.get_by_role("option", name="NVDA").click()
    page.locator(".st-key-sample_load button").click()
    expect(page.get_by_text("Loaded NVDA (sample).")).to_be_visible(timeout=WAIT_MS)
    wait_idle(page)
    assert "Dataset: NVDA (sample) (4,012 rows)" in sidebar_text(page)
    assert page.locator("[data-testid='stMetricValue']").all_inner_texts()[:3] == ["4,012", "1999-01-22", "2014-12-31"]
    assert_clean(page, script_errors)
    snap(page, shots / "data.png", 1000)

    # Train: a small model; the loss chart gains points while it runs
    go(page, url, "train", t("train_title"))
    assert "NVDA (sample)" in page.locator("[data-testid='stMain'] [data-testid='stCaptionContainer']").first.inner_text()
    for label, value in (("cfg_epochs", EPOCHS), ("cfg_patience", EPOCHS), ("cfg_hidden", HIDDEN), ("cfg_seed", SEED)):
        page.get_by_label(t(label), exact=True).fill(str(value))
    page.get_by_role("button", name=t("train_start")).click()
    progress = page.locator("[data-testid='stProgress']")
    expect(progress).to_contain_text(f"/{EPOCHS} · ", timeout=WAIT_MS)
    page.wait_for_function(f"() => document.querySelector({LOSS_CHART!r})?.data?.[1]?.x?.length >= 1", timeout=WAIT_MS)
    first = trace_lengths(page, LOSS_CHART)
    assert set(first) == {t("loss_batch"), t("loss_train"), t("loss_val")}
    # the length seen when it grew: the batch curve is thinned to about 300 points, so a later read may be shorter
    grown = page.wait_for_function(
        f"n => {{ const k = document.querySelector({LOSS_CHART!r})?.data?.[0]?.x?.length; return k > n ? k : false; }}",
        arg=first[t("loss_batch")], timeout=WAIT_MS,
    ).json_value()
    second = trace_lengths(page, LOSS_CHART)
    assert grown > first[t("loss_batch")] >= 1
    assert second[t("loss_train")] == second[t("loss_val")] >= first[t("loss_train")]
    assert_clean(page, script_errors)

    # Gates and Learn while it trains: the sidebar keeps counting epochs
    go(page, url, "gates", t("gates_title"))
    expect(page.get_by_text(t("gates_no_model"))).to_be_visible()
    expect(page.locator("[data-testid='stSidebar']")).to_contain_text(re.compile(rf"Model: training, epoch \d+/{EPOCHS}"))
    assert_clean(page, script_errors)
    go(page, url, "learn", t("learn_title"))
    expect(page.locator("[data-testid='stSidebar']")).to_contain_text(re.compile(rf"Model: training, epoch \d+/{EPOCHS}"))
    assert_clean(page, script_errors)

    # back on Train: the same job, still running, with a longer history than before
    go(page, url, "train", t("train_title"))
    expect(progress).to_contain_text(f"/{EPOCHS} · ", timeout=WAIT_MS)
    page.wait_for_function(
        f"n => document.querySelector({LOSS_CHART!r})?.data?.[0]?.x?.length > n", arg=second[t("loss_batch")],
        timeout=WAIT_MS,
    )
    epochs_before_stop = trace_lengths(page, LOSS_CHART)[t("loss_train")]
    assert epochs_before_stop >= second[t("loss_train")]
    page.locator(".st-key-train_stop button").click()

    # stopped: the verdict, and the model's metrics beside its target's baselines
    expect(page.locator("h3", has_text="Held-out test period")).to_be_visible(timeout=WAIT_MS)
    wait_idle(page)
    expect(page.get_by_text(re.compile(r"Stopped by you; full epochs run: \d+"))).to_be_visible()
    verdict = page.locator("[data-testid='stAlert']").first.inner_text()  # led by the strongest baseline, or nothing learned
    assert "strongest simple method" in verdict or "learned nothing" in verdict
    metrics = grid_rows(page.locator(f"[data-testid='stDataFrame']:has([aria-label={t('metrics_alt')!r}])"))
    assert metrics[0] == ["", "RMSE", "MAE", "QLIKE", "MAPE %", "Direction %", "p vs model (RMSE)", "p, Holm-adjusted",
                          "p vs model (QLIKE)", "RMSE (validation)"]
    # the default target, next month's volatility, is judged against its own baselines
    assert [row[0] for row in metrics[1:]] == [t("m_model"), t("m_persistence_vol", h=20), t("m_ewma"), t("m_window_mean"),
                                               t("m_har"), t("m_garch"), t("m_train_mean"), t("m_linear_ar"),
                                               t("m_untrained")]  # and what the network knew before it trained
    rmse = [float(row[1]) for row in metrics[1:]]
    assert all(0 < value < 10 for value in rmse)  # volatility in percent a day: errors of a few tenths
    assert rmse[0] != rmse[1]  # the model's own number, not a copy of persistence's
    runs = grid_rows(page.locator(f"[data-testid='stDataFrame']:has([aria-label={t('runs_title')!r}])"))
    assert len(runs) == 2 and f"LSTM {HIDDEN}×1" in runs[1] and "NVDA (sample)" in runs[1]
    assert int(runs[1][runs[0].index(t("col_epochs"))]) >= epochs_before_stop - 1  # the chart also shows epoch 0
    expect(page.locator("[data-testid='stSidebar']")).to_contain_text("Model: trained (1 run)")
    assert page.locator("[data-testid='stProgress']").count() == 0
    assert_clean(page, script_errors)
    snap(page, shots / "train.png", 2200)

    # Gates: the trained model's gates; Play moves the time slider
    go(page, url, "gates", t("gates_title"))
    run_id = runs[1][0]
    expect(page.get_by_text(f"Run {run_id} · NVDA (sample) · LSTM {HIDDEN}×1")).to_be_visible()
    slider_label = page.locator(f"{GATES_CHART} text.slider-label").first
    start_label = slider_label.text_content()
    assert re.fullmatch(r"Step: \d{4}-\d\d-\d\d", start_label)
    snap(page, shots / "gates.png", 1500)
    page.locator(f"{GATES_CHART} .updatemenu-button", has_text=t("gates_play")).click()
    page.wait_for_function(
        f"start => document.querySelector('{GATES_CHART} text.slider-label').textContent !== start",
        arg=start_label, timeout=10_000,
    )
    moved_label = slider_label.text_content()
    assert re.fullmatch(r"Step: \d{4}-\d\d-\d\d", moved_label) and moved_label > start_label  # ISO dates sort
    # no Pause: plotly.js rejects the interrupted animation's promise, an "Uncaught (in promise) undefined"
    assert_clean(page, script_errors)

    # Learn: change one weight in the calculator; the steps below follow
    go(page, url, "learn", t("learn_title"))
    page.get_by_role("tab", name=t("learn_tab_calculator")).click()
    comparison = page.locator(f"[data-testid='stDataFrame']:has([aria-label={t('learn_torch_alt')!r}])")
    expect(comparison.locator("[data-testid='glide-cell-1-0']")).to_have_text("[0.0594, 0.1743]")
    snap(page, shots / "learn.png", 2000)
    gate_i = page.locator("[data-testid='stColumn']", has_text=t("learn_gate_i")).last
    edit_cell(page, gate_i.locator("[data-testid='stDataFrame']").first, column=1, value="2.5")
    expect(comparison.locator("[data-testid='glide-cell-1-0']")).not_to_have_text("[0.0594, 0.1743]", timeout=WAIT_MS)
    wait_idle(page)
    assert grid_rows(gate_i.locator("[data-testid='stDataFrame']").first)[1][1] == "2.5"
    assert grid_rows(comparison)[1] == ["1", "[0.0999, 0.1743]", "[0.0999, 0.1743]", "[0.1837, 0.2876]", "[0.1837, 0.2876]"]
    expect(page.get_by_text(re.compile(r"^Matches PyTorch"))).to_be_visible()  # the page's numpy still equals nn.LSTMCell
    assert_clean(page, script_errors)

    # 简体中文: the page, its tabs and the navigation in Chinese
    page.locator("[data-testid='stSidebar']").get_by_role("radio", name="简体中文").click()
    expect(page.locator("h1").first).to_have_text(t("learn_title", "zh"), timeout=WAIT_MS)
    wait_idle(page)
    page.get_by_role("tab", name=t("learn_tab_calculator", "zh")).click()
    expect(page.get_by_text(t("learn_torch_title", "zh"))).to_be_visible()
    nav = page.locator("[data-testid='stSidebarNav']").inner_text()
    assert all(t(f"nav_{name}", "zh") in nav for name in ("home", "data", "train", "gates", "learn"))
    assert t("sidebar_model_ready", "zh", runs=1) in sidebar_text(page)
    assert_clean(page, script_errors)
    snap(page, shots / "learn_zh.png", 2000)


def edit_cell(page: Page, editor: Locator, column: int, value: str) -> None:
    """Type ``value`` into row 1 of a data editor: select its first cell, step right, open, fill, commit."""
    grid = editor.locator(".dvn-scroller")  # lies over the canvas and takes its pointer events
    first_cell = {"x": 12, "y": 36 + 17}  # header 36 px, rows 35 px: the middle of row 1, column 0
    grid.hover(position=first_cell)  # the grid reads the pointer from a move; a click arriving cold is ignored
    grid.click(position=first_cell)
    for _ in range(column):
        page.keyboard.press("ArrowRight")
    page.keyboard.press("Enter")
    overlay = page.locator("input.gdg-input")
    overlay.fill(value)
    overlay.press("Enter")
    overlay.wait_for(state="detached")
    page.keyboard.press("Escape")  # drop the selection: no highlighted cell or toolbar in the screenshots
