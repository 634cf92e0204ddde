"""Runs outlive the browser session and the server, in a real Chromium: train, restart the server, reload the URL.

Also: a second browser without the workspace id sees no runs, and a bundle's Markdown-looking dataset name is
drawn as literal text (no image or link reaches the page).
"""

from __future__ import annotations

import copy
import re
from dataclasses import replace
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from browser import streamlit_server, wait_idle
from playwright.sync_api import Page, expect

from lstm_core.i18n import t
from lstm_core.runs.bundle import bundle_zip
from lstm_core.runs.run import train_run
from lstm_core.store.workspace import is_workspace_id
from tests.helpers import TINY, tiny_frame

pytestmark = pytest.mark.browser

WAIT_MS = 60_000
EVIL = "![x](http://evil/x.png)"
RESULTS = re.compile(r"Held-out test period · run (\S+)")


def open_page(page: Page, url: str) -> str:
    """Go to ``url``; the workspace id the app put in the address once the script is idle."""
    page.goto(url)
    page.wait_for_url(re.compile(r"[?&]ws="), timeout=WAIT_MS)
    wait_idle(page)
    ws = parse_qs(urlparse(page.url).query)["ws"][0]
    assert is_workspace_id(ws)
    return ws


def shown_run_id(page: Page) -> str:
    heading = page.locator("h3", has_text=RESULTS).first
    expect(heading).to_be_visible(timeout=WAIT_MS)
    return RESULTS.search(heading.inner_text()).group(1)


def test_runs_survive_a_server_restart_and_stay_private(chromium, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LSTM_LAB_DATA", str(tmp_path / "data"))  # both servers share it, as one host would
    errors: list[str] = []

    # first server: train a tiny run through the form
    with streamlit_server(cache_dir=tmp_path / "cache") as url:
        context = chromium.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        ws = open_page(page, f"{url}/train")
        for label, value in (("cfg_epochs", 1), ("cfg_hidden", 4), ("cfg_window", 20)):
            page.get_by_label(t(label), exact=True).fill(str(value))
        page.get_by_role("button", name=t("train_start")).click()
        run_id = shown_run_id(page)
        wait_idle(page)
        assert (tmp_path / "data" / "workspaces" / ws / run_id / "weights.safetensors").is_file()
        context.close()

    # the server restarts: reloading the address shows the run, and its Gates page opens
    with streamlit_server(cache_dir=tmp_path / "cache") as url:
        context = chromium.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        assert open_page(page, f"{url}/train?ws={ws}") == ws
        assert shown_run_id(page) == run_id
        expect(page.get_by_text(t("runs_title"))).to_be_visible()
        page.locator("[data-testid='stSidebarNavLink'][href$='/gates']").click()
        expect(page.locator("h1").first).to_have_text(t("gates_title"), timeout=WAIT_MS)
        wait_idle(page)
        caption = page.locator("[data-testid='stCaptionContainer']", has_text=f"Run {run_id} · ").first
        expect(caption).to_be_visible(timeout=WAIT_MS)
        page.locator(".st-key-gates_animation .js-plotly-plot").wait_for(timeout=WAIT_MS)
        assert parse_qs(urlparse(page.url).query)["ws"] == [ws]  # navigation keeps the workspace
        assert page.locator("[data-testid='stException']").count() == 0
        context.close()

        # another browser, without the id: its own empty workspace
        stranger = chromium.new_context(viewport={"width": 1400, "height": 1000})
        page = stranger.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        assert open_page(page, f"{url}/train") != ws
        expect(page.get_by_text(t("runs_title"))).to_be_visible()
        assert page.locator("h3", has_text=RESULTS).count() == 0
        assert page.get_by_text(run_id).count() == 0

        # it uploads a bundle whose dataset name is Markdown: drawn as literal text, nothing fetched from evil
        evil = copy.copy(train_run(tiny_frame(), "sine", TINY))
        evil.record = replace(evil.record, dataset=EVIL, run_id="md1")
        fetched: list[str] = []
        page.on("request", lambda request: fetched.append(request.url) if "evil/" in request.url else None)
        page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(
            {"name": "run.zip", "mimeType": "application/zip", "buffer": bundle_zip(evil)})
        assert shown_run_id(page) == "md1"
        wait_idle(page)
        caption = page.locator("[data-testid='stCaptionContainer']", has_text="parameters").first
        assert caption.inner_text().startswith(f"{EVIL} · LSTM 8×1")
        assert page.locator("img[src*='evil/'], a[href*='evil/']").count() == 0
        assert fetched == []
        stranger.close()
    assert errors == []


def test_an_uploaded_dataset_comes_back_after_a_refresh(chromium, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The reported switch: after F5 the runs came back but the Train page said "Training on MSFT (sample)" beside
    the uploaded file's runs, and Start would silently have trained on MSFT."""
    from tests.conftest import make_prices, to_csv_bytes

    monkeypatch.setenv("LSTM_LAB_DATA", str(tmp_path / "data"))
    errors: list[str] = []
    with streamlit_server(cache_dir=tmp_path / "cache") as url:
        context = chromium.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        ws = open_page(page, f"{url}/data")
        page.get_by_role("radio", name=t("src_csv"), exact=True).click()
        wait_idle(page)
        page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(
            {"name": "class prices.csv", "mimeType": "text/csv", "buffer": to_csv_bytes(make_prices(400))})
        sidebar = page.locator("[data-testid='stSidebar']")
        expect(sidebar).to_contain_text("class prices", timeout=WAIT_MS)
        page.locator("[data-testid='stSidebarNavLink'][href$='/train']").click()
        expect(page.locator("h1").first).to_have_text(t("train_title"), timeout=WAIT_MS)
        wait_idle(page)
        for label, value in (("cfg_epochs", 1), ("cfg_hidden", 4), ("cfg_window", 20)):
            page.get_by_label(t(label), exact=True).fill(str(value))
        page.get_by_role("button", name=t("train_start")).click()
        run_id = shown_run_id(page)
        wait_idle(page)

        page.reload()  # F5
        page.wait_for_url(re.compile(rf"[?&]ws={ws}"), timeout=WAIT_MS)
        wait_idle(page)
        assert shown_run_id(page) == run_id
        caption = page.locator("[data-testid='stMain'] [data-testid='stCaptionContainer']").first
        expect(caption).to_contain_text("class prices", timeout=WAIT_MS)
        assert "MSFT" not in caption.inner_text() and "MSFT" not in sidebar.inner_text()
        assert page.locator("[data-testid='stException']").count() == 0
        context.close()
    assert errors == []
