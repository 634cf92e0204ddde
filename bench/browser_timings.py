"""What a visitor feels, measured in a real Chromium: cold start, page switches, clicks while jobs train, server memory.

Used by bench/run.py; on its own: ``python bench/browser_timings.py [--switches] [--smoke] [--json out.json]`` prints
the numbers as JSON (``--switches``: the language and tab switches alone). Every time is taken inside the page (the
click's own event, then a check on each animation frame), so Playwright's round trips do not count. Ports come from
8621-8639.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/, for common, however this file is loaded

from common import ROOT, CommandLine, child_pids, free_port, load_average, report, rounded_median  # noqa: E402

sys.path.insert(0, str(ROOT / "tests"))
from browser import IDLE, launch_chromium, streamlit_server, timed_click, wait_idle  # noqa: E402

from lstm_core.config import RunConfig  # noqa: E402
from lstm_core.i18n import t  # noqa: E402

PORTS = range(8621, 8640)


@dataclass(frozen=True)
class Sizes:
    nav_rounds: int = 3  # times through every page
    clicks: int = 4  # of each kind timed (keep it even: a language flip goes there and back)
    epochs_1job: int = 5  # the epoch whose rate the one training job reports
    # the newcomer's defaults, kept training through the measurements (they early-stop after about 15 epochs)
    default: RunConfig = RunConfig(epochs=300, patience=300)
    finished: RunConfig = RunConfig(epochs=3)  # the run whose results the switches on Train are timed beside
    crowd: int = 3  # default jobs training at once while clicks are timed
    # 3: each part on a fresh server (the cap raised to `crowd` for the crowd), so none inherits another's memory or
    # load; 1: every part on one server, as the smoke run does (its figures mean nothing, and the suite's CPU is short)
    servers: int = 3


FULL = Sizes()
SMOKE = Sizes(nav_rounds=1, clicks=2, epochs_1job=1, default=RunConfig(epochs=300, patience=300, hidden=2),
              finished=RunConfig(epochs=1, hidden=2), crowd=2, servers=1)
PAGES = ("data", "train", "gates", "learn", "home")
TITLES = {"home": "app_title", "data": "data_title", "train": "train_title", "gates": "gates_title", "learn": "learn_title"}
WAIT_MS = 180_000
LOST_CLICK_MS, CLICK_TRIES = 20_000, 3  # no rerun this long after a click: the click is taken as lost
RERUN_JS = """
() => {
    window.__clicked = null; window.__answered = null; window.__ran = false;
    document.addEventListener('click', () => { window.__clicked = performance.now(); }, {capture: true, once: true});
    const app = document.querySelector("[data-testid='stApp']");
    window.__observer?.disconnect();
    window.__observer = new MutationObserver(records => {
        if (records.some(r => r.oldValue === 'running') || app.getAttribute('data-test-script-state') === 'running') {
            window.__ran = true;
        }
    });
    window.__observer.observe(app, {attributes: true, attributeFilter: ['data-test-script-state'], attributeOldValue: true});
}"""
RERUN_DONE_JS = """
idle => {
    if (window.__ran && document.querySelector(idle)) {
        window.__answered = window.__answered ?? performance.now();
        return true;
    }
    return false;
}"""
EPOCH_JS = """
() => {
    const bar = document.querySelector("[data-testid='stProgress']");
    const m = bar && bar.textContent.match(/Epoch (\\d+)\\/\\d+ · ([\\d,]+) samples\\/s/);
    return m ? [Number(m[1]), Number(m[2].replace(/,/g, ''))] : null;
}"""


def server_pid(port: int) -> int:
    """The pid of the `streamlit run` this process started on ``port``."""
    for pid in child_pids().get(os.getpid(), []):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if f"--server.port={port}".encode() in cmdline:
            return pid
    raise RuntimeError(f"no streamlit child on port {port}")


def memory_mb(pid: int) -> dict[str, float]:
    """Resident memory now (VmRSS) and its high-water mark (VmHWM) of ``pid``, in MB."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return {key: int(fields[key].split()[0]) / 1024 for key in ("VmRSS", "VmHWM")}


def timed_rerun(page, target, tries: int | None = None) -> float:
    """Seconds from a real click on ``target`` until the rerun it caused has run and the script is idle again.

    Clicked once the page is idle: a click that lands while a rerun redraws its target can be lost, and then no rerun
    comes (under load a smoke run once waited out its whole limit so).
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    tries = tries or CLICK_TRIES
    for attempt in range(tries):  # a click lost all the same (no rerun at all) is made again, and timed anew
        wait_idle(page, WAIT_MS)
        page.evaluate(RERUN_JS)
        target.click()
        try:
            page.wait_for_function(RERUN_DONE_JS, arg=IDLE, polling="raf",
                                   timeout=WAIT_MS if attempt == tries - 1 and tries > 1 else LOST_CLICK_MS)
            break
        except PlaywrightTimeout:
            if attempt == tries - 1 or page.evaluate("() => window.__ran"):
                raise  # a rerun that began and never ended is the app's fault, not the click's
            log(f"a click on {target} brought no rerun in {LOST_CLICK_MS / 1000:.0f} s: clicked again")
    return page.evaluate("() => (window.__answered - window.__clicked) / 1000")


def step_clicks(page, times: int) -> list[float]:
    """Seconds per click on the Learn calculator's step picker (a table and a chart redrawn), in English."""
    page.get_by_role("tab", name=t("learn_tab_calculator")).click()
    steps = page.locator(".st-key-learn_step_5 button")
    return [timed_rerun(page, steps.filter(has_text=str(2 + k % 4)).first) for k in range(times)]


def language_switches(page, title_key: str, times: int) -> list[float]:
    """Seconds per flip of the sidebar language on the page titled ``title_key``, from English (keep ``times`` even)."""
    out = []
    for k in range(times):
        lang, label = ("zh", "简体中文") if k % 2 == 0 else ("en", "English")
        radio = page.locator("[data-testid='stSidebar']").get_by_role("radio", name=label)
        wait_idle(page, WAIT_MS)  # as timed_rerun: a click during a rerun can be lost
        out.append(timed_click(page, radio, t(title_key, lang), WAIT_MS))
    return out


def tab_switches(page, times: int) -> list[float | None]:
    """Seconds per switch between the Learn page's lesson and calculator tabs (the calculator first); None for a click
    that brought no rerun in ``LOST_CLICK_MS``. Under load a tab click sometimes brings none (seen in CI and once by
    hand, not understood yet): it is counted and reported, not waited on."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    out = []
    for k in range(times):
        name = t("learn_tab_calculator") if k % 2 == 0 else t("learn_tab_lesson")
        try:
            out.append(timed_rerun(page, page.get_by_role("tab", name=name), tries=1))
        except PlaywrightTimeout:
            log(f"the click on the tab {name!r} brought no rerun in {LOST_CLICK_MS / 1000:.0f} s")
            out.append(None)
    return out


def switch_timings(browser, sizes: Sizes = FULL, url: str | None = None) -> dict:
    """Language switches on Train (a finished run's results shown) and Learn, and Learn's tab switches, on an idle
    server (a fresh one unless ``url`` names one): the issue's 2.6 s, 3.5 s and 3.4 s, with a target under 1 s."""
    result: dict = {}
    switches = sizes.clicks
    with nullcontext((url, 0.0)) if url else server(free_port(PORTS), max_jobs=2) as (url, _):
        page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        start_job(page, url, sizes.finished)
        page.locator("h3", has_text="Held-out test period").wait_for(timeout=WAIT_MS)
        wait_idle(page, WAIT_MS)
        result["lang_switch_train_s"] = [round(s, 3) for s in language_switches(page, "train_title", switches)]
        page.locator("[data-testid='stSidebarNavLink'][href$='/learn']").click()
        page.locator("h1", has_text=t("learn_title")).wait_for(timeout=WAIT_MS)
        wait_idle(page, WAIT_MS)
        # the tabs first: a tab click made right after the language switches brought no rerun in two CI runs and in
        # one smoke run by hand (not in 12 tries by hand beside two CPU burners)
        tabs = tab_switches(page, switches)
        result["tab_switch_learn_s"] = [round(s, 3) for s in tabs if s is not None]
        result["tab_clicks_without_rerun"] = sum(s is None for s in tabs)
        result["lang_switch_learn_s"] = [round(s, 3) for s in language_switches(page, "learn_title", switches)]
        page.context.close()
    return result


def nav_clicks(page, rounds: int) -> dict[str, list[float]]:
    """Seconds per sidebar navigation click, ``rounds`` times through every page."""
    links = page.locator("[data-testid='stSidebarNavLink']")
    out: dict[str, list[float]] = {slug: [] for slug in PAGES}
    for _ in range(rounds):
        for slug in PAGES:
            link = links.first if slug == "home" else page.locator(f"[data-testid='stSidebarNavLink'][href$='/{slug}']")
            out[slug].append(timed_click(page, link, t(TITLES[slug]), WAIT_MS))
    return out


def start_job(page, url: str, config: RunConfig) -> None:
    """Open Train in ``page`` and submit ``config``'s model and training sizes."""
    page.goto(f"{url}/train")
    page.locator("h1", has_text=t("train_title")).wait_for(timeout=WAIT_MS)
    wait_idle(page, WAIT_MS)
    for label, value in (("cfg_epochs", config.epochs), ("cfg_patience", config.patience),
                         ("cfg_hidden", config.hidden), ("cfg_seed", config.seed)):
        page.get_by_label(t(label), exact=True).fill(str(value))
    page.get_by_role("button", name=t("train_start")).click()


def wait_epoch(page, epoch: int) -> tuple[int, int]:
    """Block until the job in ``page`` trains epoch ``epoch`` at a known rate, or has finished early.

    Returns the (epoch, samples/s) its progress bar showed last.
    """
    deadline = time.monotonic() + WAIT_MS / 1000
    last = (0, 0)
    while time.monotonic() < deadline:
        shown = page.evaluate(EPOCH_JS)
        if shown:
            last = tuple(shown)
            if last[0] >= epoch and last[1] > 0:
                return last
        elif page.locator("h3", has_text="Held-out test period").count() and not page.locator(".st-key-train_stop").count():
            return last  # early stopping ended it sooner
        page.wait_for_timeout(250)
    raise TimeoutError(f"no epoch {epoch} within {WAIT_MS / 1000:.0f} s")


def stop_and_wait(page) -> None:
    """Press Stop (unless early stopping got there first) and wait until the job has ended.

    Waits for the Stop button to go, not for the results: those can fail to appear (see the report of the
    sidebar fragment collecting the run first), and the memory figure needs the job ended, not drawn.
    A click that lands while the page reruns can be lost with the button it hit (a smoke run once waited out its whole
    limit so): Stop is pressed again until the button goes.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    stop = page.locator(".st-key-train_stop button")
    deadline = time.monotonic() + WAIT_MS / 1000
    while stop.count():
        try:
            stop.click(timeout=5_000)
            stop.wait_for(state="detached", timeout=5_000)
        except PlaywrightTimeout:
            if time.monotonic() > deadline:
                raise


@contextmanager
def server(port: int, max_jobs: int) -> Iterator[tuple[str, float]]:
    """A fresh `streamlit run app.py`; yields its URL and the seconds from process start to its health answer."""
    os.environ["LSTM_LAB_MAX_JOBS"] = str(max_jobs)  # streamlit_server hands the environment on
    start = time.perf_counter()
    with streamlit_server(port=port) as url:
        yield url, time.perf_counter() - start


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def measure(sizes: Sizes = FULL) -> dict:
    """Every browser-side figure of bench/run.py, as one dict (seconds, MB, samples/s)."""
    from playwright.sync_api import sync_playwright

    result: dict = {"load_before": load_average()}
    default, switches = sizes.default, sizes.clicks
    viewport = {"width": 1400, "height": 1000}
    # trainers' tabs are short: their live charts update below the fold, so this machine's CPU goes to the
    # server and the reader being timed, not to painting charts that real users paint on their own computers
    trainer_viewport = {"width": 1400, "height": 250}
    with sync_playwright() as pw:
        browser = launch_chromium(pw)  # started first: its own start-up is not the app's
        result["chromium"] = browser.version

        # one server: cold start, page switches, clicks with nothing and with one default job training
        port = free_port(PORTS)
        start = time.perf_counter()
        with server(port, max_jobs=max(2, sizes.crowd) if sizes.servers == 1 else 2) as (url, health_s):
            reader = browser.new_context(viewport=viewport).new_page()
            reader.goto(url)
            reader.locator("h1", has_text=t("app_title")).wait_for(timeout=WAIT_MS)
            wait_idle(reader, WAIT_MS)
            result["cold_start_s"] = round(time.perf_counter() - start, 2)
            result["cold_start_health_s"] = round(health_s, 2)
            pid = server_pid(port)
            result["rss_after_first_page_mb"] = round(memory_mb(pid)["VmRSS"])

            log(f"cold start {result['cold_start_s']} s; page switches")
            per_page = nav_clicks(reader, sizes.nav_rounds)
            result["page_switch_median_s"] = rounded_median([s for values in per_page.values() for s in values])
            result["page_switch_first_round_s"] = {slug: round(values[0], 3) for slug, values in per_page.items()}
            result["page_switch_median_by_page_s"] = {slug: rounded_median(values[1:] or values) for slug, values in per_page.items()}

            reader.locator("[data-testid='stSidebarNavLink'][href$='/learn']").click()
            reader.locator("h1", has_text=t("learn_title")).wait_for(timeout=WAIT_MS)
            wait_idle(reader, WAIT_MS)
            log("language switches, nothing training")
            idle = language_switches(reader, "learn_title", switches)
            result["widget_update_idle_s"] = rounded_median(idle)
            result["step_click_idle_s"] = rounded_median(step_clicks(reader, switches))

            trainer = browser.new_context(viewport=trainer_viewport).new_page()
            start_job(trainer, url, default)
            wait_epoch(trainer, 2)
            log("language switches, one default job training")
            busy = language_switches(reader, "learn_title", switches)
            steps = step_clicks(reader, switches)
            epoch, sps = wait_epoch(trainer, sizes.epochs_1job)
            result["widget_update_1job_s"] = rounded_median(busy)
            result["widget_update_1job_all_s"] = [round(s, 3) for s in busy]
            result["step_click_1job_s"] = rounded_median(steps)
            result["app_samples_per_s_1job"] = sps
            log("stopping the job")
            stop_and_wait(trainer)
            result["peak_rss_1job_mb"] = round(memory_mb(pid)["VmHWM"])
            result["epochs_1job"] = epoch
            trainer.context.close()
            reader.context.close()
            if sizes.servers == 1:
                crowd_timings(browser, url, pid, sizes, result)
                log("language and tab switches, idle")
                result["switches"] = switch_timings(browser, sizes, url)

        if sizes.servers > 1:  # a fresh server, the crowd training at once (its cap raised for this figure)
            with server(free_port(PORTS), max_jobs=sizes.crowd) as (url, _):
                crowd_timings(browser, url, server_pid(int(url.rsplit(":", 1)[1])), sizes, result)
            log("language and tab switches, idle")
            result["switches"] = switch_timings(browser, sizes)  # and a fresh one again
        browser.close()
    result["load_after"] = load_average()
    return result


def crowd_timings(browser, url: str, pid: int, sizes: Sizes, result: dict) -> None:
    """Clicks timed while ``sizes.crowd`` default jobs train at once on the server at ``url``, into ``result``."""
    switches, viewport, trainer_viewport = sizes.clicks, {"width": 1400, "height": 1000}, {"width": 1400, "height": 250}
    reader = browser.new_context(viewport=viewport).new_page()
    reader.goto(f"{url}/learn")
    reader.locator("h1", has_text=t("learn_title")).wait_for(timeout=WAIT_MS)
    wait_idle(reader, WAIT_MS)
    trainers = [browser.new_context(viewport=trainer_viewport).new_page() for _ in range(sizes.crowd)]
    for seed, page in enumerate(trainers):
        start_job(page, url, sizes.default.with_(seed=seed))
    for page in trainers:
        wait_epoch(page, 1)
    log(f"language switches, {sizes.crowd} default jobs training")
    busy = language_switches(reader, "learn_title", switches)
    steps = step_clicks(reader, switches)
    shown = [wait_epoch(page, 1) for page in trainers]
    result["widget_update_3jobs_s"] = rounded_median(busy)
    result["widget_update_3jobs_all_s"] = [round(s, 3) for s in busy]
    result["step_click_3jobs_s"] = rounded_median(steps)
    result["app_samples_per_s_3jobs"] = [sps for _, sps in shown]
    result["epochs_3jobs"] = [epoch for epoch, _ in shown]
    log("stopping the jobs")
    for page in trainers:
        stop_and_wait(page)
    result["peak_rss_3jobs_mb"] = round(memory_mb(pid)["VmHWM"])
    for page in [reader, *trainers]:
        page.context.close()


def main() -> None:
    cli = CommandLine(__doc__, FULL, SMOKE)
    cli.add_argument("--switches", action="store_true", help="only the language and tab switches, on an idle server")
    args, sizes = cli.parse()
    if args.switches:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as pw:
            chromium = launch_chromium(pw)
            result = {"load_before": load_average(), **switch_timings(chromium, sizes), "load_after": load_average()}
            chromium.close()
    else:
        result = measure(sizes)
    report(result, args.json)


if __name__ == "__main__":
    main()
