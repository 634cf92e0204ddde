"""Real-browser helpers: start `streamlit run app.py` on a free port, launch Debian's Chromium, wait for reruns.

The fixtures in conftest.py wrap these; run this file directly to refresh the Data page screenshot:
``python tests/browser.py docs/data.png``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
SERVER_START_S = 90  # a cold CI runner imports torch, pandas and plotly before the first health answer


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def streamlit_server(port: int | None = None, cache_dir: Path | None = None,
                     extra_env: dict[str, str] | None = None, extra_args: tuple[str, ...] = ()) -> Iterator[str]:
    """`streamlit run app.py` in a subprocess (``extra_env`` added to our environment, ``extra_args`` to its command
    line); yields its URL once /_stcore/health says ok, kills it after."""
    port = port or free_port()
    with tempfile.TemporaryDirectory(prefix="lstm-lab-server-") as tmp:
        env = {
            **os.environ,
            "LSTM_LAB_CACHE": str(cache_dir or Path(tmp) / "cache"),  # never the user's own downloads
            "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
            **(extra_env or {}),
        }
        log_path = Path(tmp) / "streamlit.log"
        with open(log_path, "wb") as log:
            command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless=true"]
            command += [f"--server.port={port}", "--server.address=127.0.0.1", *extra_args]
            proc = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                preexec_fn=_die_with_parent,
            )
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_healthy(url, proc, log_path)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def _die_with_parent() -> None:
    """In the server's process before it starts: end it when the process that started it dies, however it dies. A
    bench script killed at its time limit once left its servers running behind it, holding memory for good."""
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _wait_healthy(url: str, proc: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + SERVER_START_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read().strip() == b"ok":
                    return
        except OSError:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"streamlit did not answer /_stcore/health in {SERVER_START_S} s:\n{log_path.read_text()[-3000:]}")


def launch_chromium(playwright):  # -> playwright.sync_api.Browser
    """Debian's Chromium, headless (Playwright's own browser builds cannot be downloaded here)."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


def keep_screenshot(locator, name: str) -> None:
    """Save ``locator``'s screenshot as docs' ``name`` when LSTM_LAB_SCREENSHOTS names a folder (relative to the repo)."""
    folder = os.environ.get("LSTM_LAB_SCREENSHOTS")
    if folder:
        locator.screenshot(path=str(Path(__file__).resolve().parent.parent / folder / name))


def wait_idle(page, timeout_ms: int = 60_000) -> None:
    """Wait until the app's script has finished its current run."""
    page.wait_for_selector(IDLE, timeout=timeout_ms)


_CLICKED_JS = """
() => {
    window.__clicked = null; window.__answered = null;
    document.addEventListener('click', () => { window.__clicked = performance.now(); }, {capture: true, once: true});
}"""
_ANSWERED_JS = """
([title, idle]) => {
    const h1 = document.querySelector('h1');
    if (h1 && h1.textContent.trim() === title && document.querySelector(idle)) {
        window.__answered = window.__answered ?? performance.now();
        return true;
    }
    return false;
}"""


def timed_click(page, target, title: str, timeout_ms: int = 60_000) -> float:
    """Seconds from a real click on ``target`` until the page's h1 reads ``title`` and the script is idle.

    Both ends are taken inside the page (the click's own event, then a check on every animation frame),
    so Playwright's round trips do not count.
    """
    page.evaluate(_CLICKED_JS)
    target.click()
    page.wait_for_function(_ANSWERED_JS, arg=[title, IDLE], polling="raf", timeout=timeout_ms)
    return page.evaluate("() => (window.__answered - window.__clicked) / 1000")


def grid_rows(frame, timeout_ms: int = 60_000) -> list[list[str]]:
    """The cells of an st.dataframe / st.data_editor (drawn on a canvas), read from the grid's accessible table."""
    frame.locator("[data-testid='glide-cell-0-0']").wait_for(state="attached", timeout=timeout_ms)
    return frame.evaluate(
        "e => Array.from(e.querySelectorAll('table[role=grid] tr')).map(r => Array.from(r.children, c => c.textContent))"
    )


def open_app_page(page, url: str, slug: str) -> None:
    """Load the app at a desktop size, then go to page ``slug`` through the sidebar navigation, as a visitor would."""
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.goto(url)
    wait_idle(page)
    page.locator(f"[data-testid='stSidebarNavLink'][href$='/{slug}']").click()
    page.wait_for_url(f"{url}/{slug}*")  # the workspace id follows in ?ws=
    wait_idle(page)


def open_data_page(page, url: str) -> None:
    """Open Data through the sidebar and wait for its chart to draw."""
    open_app_page(page, url, "data")
    page.locator("[data-testid='stPlotlyChart'] .js-plotly-plot").first.wait_for(timeout=30_000)


def main(out: str) -> None:
    """Save a 1400x1000 screenshot of the Data page with the default dataset."""
    from playwright.sync_api import sync_playwright

    with streamlit_server() as url, sync_playwright() as pw:
        browser = launch_chromium(pw)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        open_data_page(page, url)
        page.wait_for_timeout(1000)  # plotly's fade-in
        page.screenshot(path=out)
        browser.close()
    print(f"wrote {out}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else str(ROOT / "docs" / "data.png"))
