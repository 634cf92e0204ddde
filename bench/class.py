"""A class of visitors on one server: each presses Start, waits, opens Gates and Forecast, refreshes and comes back.

    python bench/class.py [--visitors 30] [--jobs 2] [--scenario defaults|mixed] [--epochs N] [--arrive-every-s 1]
                          [--deadline-s 900] [--wait-on home|train] [--smoke] [--json out.json]

Scenario ``defaults`` (the default): the first exercise of a class, every visitor presses Start on the Train page's
full defaults (MSFT sample, every default setting): identical requests, which the server trains once. Scenario
``mixed``: every visitor trains something of their own (odd visitors the NVDA sample, even ones a 3,000-day random walk
seeded with their number), ``--epochs`` epochs each (default 8): as many distinct jobs as visitors.

A bench script, not a test: it starts its own `streamlit run app.py` on a loopback port (8651-8669) with a throwaway
data dir, drives it through Streamlit's agent API (``POST /_stcore/agent/interact``: real sessions that take the
browser's rerun and callback path, without painting), and stops the server when the last visitor is done or at the
deadline, whichever comes first. Every request and poll loop is bounded in count and time. Each visitor:

1. opens the app (a session and a workspace of its own);
2. opens the Data page; in the mixed scenario loads a dataset there: the NVDA sample (odd visitors) or a synthetic
   random walk of 3,000 days with the visitor's number as its seed (even visitors; kept on disk with the workspace);
3. on Train, presses Start (the defaults; in the mixed scenario with ``--epochs`` epochs),
   then browses Home until the sidebar says the model is no longer queued or training (polled every 2 s; with
   ``--wait-on train`` it stays on Train, polling the whole page every second), and reads the run's results on
   Train, or the refusal or failure shown there;
4. opens Gates, then Forecast;
5. refreshes: a new session on the workspace its URL names, on Train, where it must find its dataset (not the
   MSFT sample) and its run;
6. comes back to Gates in that session.

It reports whether every job finished or was refused with a sentence, any exception shown in any session, the wait
from Start to the first epoch (the page showing the job out of the queue and training; resolution one poll), each
job's run time, the peak summed PSS of the server's process tree (server, forkserver, workers), the disk used and the
slowest click (a request that changes page or widget; polls are counted apart).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/, for common, however this file is loaded

from common import (  # noqa: E402
    ROOT,
    CommandLine,
    free_port,
    load_average,
    print_json,
    size,
    stop,
    tree_pss_mb,
    write_json,
)

PORTS = range(8651, 8670)
# the clicks a visitor makes before its run's results are shown: while the class's jobs train
BEFORE_RESULTS = ("open", "data page", "source", "load", "train page", "start", "home page")
POLL_S = {"home": 2.0, "train": 1.0}  # the sidebar's model line ticks every 2 s, the Train page's live panel every 1 s
REQUEST_TIMEOUT_S = 120.0
RESULTS = "Held-out test period"  # the results' heading (results_title), in English
MAX_POLLS = 2000  # per visitor: a bound on the loop even if the deadline were far off
MIXED_EPOCHS = 8


@dataclass(frozen=True)
class Sizes:
    visitors: int = size(30)
    jobs: int = size(2, "LSTM_LAB_MAX_JOBS: jobs that train at once")
    epochs: int | None = size(None, "epochs of each visitor's run; without it the defaults' own, "
                                    f"{MIXED_EPOCHS} in the mixed scenario")
    hidden: int | None = size(None, "hidden units of each visitor's model; without it the defaults' own")
    arrive_every_s: float = size(1.0, "seconds between two visitors' arrivals")
    deadline_s: float = size(900.0, "the whole class stops after this")


FULL = Sizes()
SMOKE = Sizes(visitors=2, jobs=1, epochs=1, hidden=2, arrive_every_s=0.2, deadline_s=120.0)


@dataclass
class Visitor:
    """What one visitor met."""

    number: int
    dataset: str = ""
    workspace: str = ""
    outcome: str = "not started"  # done, refused, failed, cancelled, timed out
    sentence: str = ""  # the refusal or failure, as the page said it
    wait_s: float | None = None  # Start to the first epoch (the job out of the queue, training)
    job_s: float | None = None  # the first epoch to the results shown
    clicks: dict[str, float] = field(default_factory=dict)
    polls: list[float] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    shared: bool = False  # its page said the run was trained once for several visitors
    refresh_dataset_ok: bool | None = None
    refresh_run_ok: bool | None = None


class Client:
    """One visitor's agent-API session: every request timed, every snapshot read for exceptions and errors."""

    def __init__(self, url: str, visitor: Visitor) -> None:
        self.url, self.visitor, self.session_id = f"{url}/_stcore/agent/interact", visitor, None

    def send(self, body: dict, click: str | None = None) -> dict:
        if self.session_id is not None:
            body = {"session_id": self.session_id, **body}
        request = urllib.request.Request(self.url, data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"})
        began = time.perf_counter()
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_S) as answer:
            snapshot = json.load(answer)
        seconds = time.perf_counter() - began
        if click is None:
            self.visitor.polls.append(seconds)
        else:
            self.visitor.clicks[click] = round(seconds, 3)
        self.session_id = snapshot["session_id"]
        for node in nodes(snapshot["tree"]):
            if node.get("type") == "exception":
                self.visitor.exceptions.append(str(node.get("props", {}).get("message", node))[:300])
        return snapshot


def nodes(tree: dict) -> list[dict]:
    out, todo = [], [tree]
    while todo:
        node = todo.pop()
        out.append(node)
        todo += node.get("children", [])
    return out


def texts(snapshot: dict, kind: str) -> list[str]:
    props = [node.get("props", {}) for node in nodes(snapshot["tree"]) if node.get("type") == kind]
    return [str(p.get("body") or p.get("text") or "") for p in props]


def visit(url: str, visitor: Visitor, settings: dict[str, int], deadline: float, wait_on: str,
          scenario: str) -> Visitor:
    """One visitor's whole visit (``settings``: the Train form's widgets it changes); what went wrong is recorded."""
    try:
        _visit(url, visitor, settings, deadline, wait_on, scenario)
    except (urllib.error.URLError, TimeoutError, OSError, KeyError, ValueError) as exc:
        visitor.outcome = visitor.outcome if visitor.outcome == "done" else "client error"
        body = exc.read()[:300].decode(errors="replace") if isinstance(exc, urllib.error.HTTPError) else ""
        visitor.errors.append(f"{type(exc).__name__}: {exc} {body}".strip())
    return visitor


def _visit(url: str, visitor: Visitor, settings: dict[str, int], deadline: float, wait_on: str, scenario: str) -> None:
    k = visitor.number
    client = Client(url, visitor)
    first = client.send({}, click="open")
    visitor.workspace = first["query_params"]["ws"][0]
    client.send({"page": "data"}, click="data page")
    if scenario == "defaults":
        visitor.dataset = "MSFT (sample)"
    elif k % 2:
        client.send({"widget_state": {"sample_ticker": "NVDA"}, "trigger": {"key": "sample_load"}}, click="load")
        visitor.dataset = "NVDA (sample)"
    else:
        client.send({"widget_state": {"data_source": "Synthetic"}}, click="source")
        client.send({"widget_state": {"synthetic_kind": "Random walk", "synthetic_days": 3000, "synthetic_seed": k},
                     "trigger": {"key": "synthetic_load"}}, click="load")
        visitor.dataset = f"seed {k})"  # the end of its title: "Random walk (synthetic, seed 4)"
    client.send({"page": "train"}, click="train page")
    started = time.perf_counter()
    snapshot = client.send({"widget_state": settings, "trigger": {"key": "train_start"}}, click="start")
    visitor.outcome = "waiting"
    running_at = None
    if texts(snapshot, "error"):  # refused before it was queued: the sentence is on the page now
        visitor.outcome, visitor.sentence = "refused", texts(snapshot, "error")[0]
    elif wait_on == "home":  # browse while it trains: the sidebar's model line says queued, training or done
        snapshot = client.send({"page": ""}, click="home page")
        for _ in range(MAX_POLLS):
            line = next((t for t in texts(snapshot, "markdown") if t.startswith("Model:")), "")
            if running_at is None and "training" in line:
                running_at = time.perf_counter()
                visitor.wait_s = round(running_at - started, 2)
            if "queued" not in line and "training" not in line:
                break
            if time.monotonic() > deadline:
                visitor.outcome = "timed out"
                return
            time.sleep(POLL_S[wait_on])
            snapshot = client.send({})
        snapshot = client.send({"page": "train"}, click="train page again")
    for _ in range(MAX_POLLS):
        errors = texts(snapshot, "error")
        progress = texts(snapshot, "progress")
        if running_at is None and progress:
            running_at = time.perf_counter()
            visitor.wait_s = round(running_at - started, 2)
        if any(text.startswith(RESULTS) for text in texts(snapshot, "subheader")) and not progress:
            visitor.outcome = "done"
            visitor.shared = any("other visitor" in text for text in texts(snapshot, "info"))
            if running_at is not None:
                visitor.job_s = round(time.perf_counter() - running_at, 2)
            break
        if errors:
            visitor.outcome = "refused" if running_at is None else "failed"
            visitor.sentence = errors[0]
            break
        if time.monotonic() > deadline:
            visitor.outcome = "timed out"
            return
        time.sleep(POLL_S["train"])
        snapshot = client.send({})
    client.send({"page": "gates"}, click="gates page")
    forecast = client.send({"page": "forecast"}, click="forecast page")
    visitor.errors += texts(forecast, "error")
    # a refresh: the browser opens the URL again, a new session on the same workspace
    again = Client(url, visitor)
    train = again.send({"page": "train", "query_params": {"ws": [visitor.workspace]}}, click="refresh")
    sidebar = " ".join(texts(train, "markdown"))
    visitor.refresh_dataset_ok = visitor.dataset.split(" (")[0] in sidebar and (
        scenario == "defaults" or "MSFT" not in sidebar)
    visitor.refresh_run_ok = visitor.outcome != "done" or any(t.startswith(RESULTS) for t in texts(train, "subheader"))
    again.send({"page": "gates"}, click="come back")


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))], 2)


def run_class(visitors: int, jobs: int, epochs: int | None, arrive_every_s: float, deadline_s: float,
              wait_on: str = "home", scenario: str = "defaults", hidden: int | None = None) -> dict:
    from lstm_core.store.disk import tree_bytes

    data = Path(tempfile.mkdtemp(prefix="class-data-"))
    port = free_port(PORTS)
    env = {**os.environ, "LSTM_LAB_DATA": str(data), "LSTM_LAB_CACHE": str(data / "cache"),
           "LSTM_LAB_MAX_JOBS": str(jobs), "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.headless=true",
               "--server.enableAgentApi=true", f"--server.port={port}", "--server.address=127.0.0.1",
               "--server.agentMaxSessions=200", "--browser.gatherUsageStats=false"]
    log = open(data / "server.log", "w")  # noqa: SIM115 - open for the server's whole life
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    began = time.monotonic()
    given = {"epochs": epochs, "hidden": hidden}
    settings = {f"setting_{name}": value for name, value in given.items() if value is not None}  # the Train form's
    result: dict = {"visitors": visitors, "job_slots": jobs, "scenario": scenario, "epochs": epochs, "hidden": hidden,
                    "arrive_every_s": arrive_every_s, "wait_on": wait_on,
                    "load_before": load_average()}
    peak = {"pss_mb": 0.0}
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            peak["pss_mb"] = max(peak["pss_mb"], tree_pss_mb(server.pid))
            done.wait(0.5)

    try:
        for _ in range(600):  # up to 60 s for the server to answer
            try:
                urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).read()
                break
            except OSError:
                time.sleep(0.1)
        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        deadline = time.monotonic() + deadline_s
        people = [Visitor(k) for k in range(1, visitors + 1)]

        def arrive(visitor: Visitor) -> Visitor:
            time.sleep((visitor.number - 1) * arrive_every_s)
            return visit(url, visitor, settings, deadline, wait_on, scenario)

        with ThreadPoolExecutor(max_workers=visitors) as pool:
            people = list(pool.map(arrive, people))
        result["seconds"] = round(time.monotonic() - began, 1)
        done.set()
        watcher.join()
    finally:
        done.set()
        stop(server, 30)
        log.close()
    waits = [p.wait_s for p in people if p.wait_s is not None]
    job_times = [p.job_s for p in people if p.job_s is not None]
    clicks = [(seconds, p.number, name) for p in people for name, seconds in p.clicks.items()]
    slowest = max(clicks, default=(None, None, None))
    outcomes: dict[str, int] = {}
    for p in people:
        outcomes[p.outcome] = outcomes.get(p.outcome, 0) + 1
    result |= {
        "outcomes": outcomes,
        "refusals": sorted({p.sentence for p in people if p.sentence}),
        "exceptions": [e for p in people for e in p.exceptions],
        "errors_shown": sorted({e for p in people for e in p.errors}),
        "wait_start_to_first_epoch_s": {"p50": percentile(waits, 0.5), "p95": percentile(waits, 0.95),
                                        "max": max(waits, default=None), "n": len(waits)},
        "job_s": {"median": round(statistics.median(job_times), 2) if job_times else None,
                  "max": max(job_times, default=None)},
        "peak_tree_pss_mb": round(peak["pss_mb"]),
        "disk_used_mb": round(tree_bytes(data) / 2**20, 1),
        "slowest_click": {"seconds": slowest[0], "visitor": slowest[1], "what": slowest[2]},
        "click_p50_s": percentile([c[0] for c in clicks], 0.5),
        "click_p95_s": percentile([c[0] for c in clicks], 0.95),
        "click_while_training_s": {q: percentile([c[0] for c in clicks if c[2] in BEFORE_RESULTS], v)
                                   for q, v in (("p50", 0.5), ("p95", 0.95), ("max", 1.0))},
        "click_after_results_s": {q: percentile([c[0] for c in clicks if c[2] not in BEFORE_RESULTS], v)
                                  for q, v in (("p50", 0.5), ("p95", 0.95), ("max", 1.0))},
        "poll_p95_s": percentile([s for p in people for s in p.polls], 0.95),
        "runs_shared": sum(p.shared for p in people),
        "refresh_found_dataset": sum(bool(p.refresh_dataset_ok) for p in people),
        "refresh_found_run": sum(bool(p.refresh_run_ok) for p in people),
        "load_after": load_average(),
        "per_visitor": [asdict(p) | {"polls": len(p.polls)} for p in people],
    }
    return result


def main() -> None:
    cli = CommandLine(__doc__, FULL, SMOKE)
    cli.add_argument("--scenario", choices=("defaults", "mixed"), default="defaults",
                     help="defaults: everyone presses Start on the full defaults; mixed: everyone trains their own")
    cli.add_argument("--wait-on", choices=("home", "train"), default="home",
                     help="where a visitor waits for its run: browsing Home (its sidebar line polled every 2 s) or "
                          "on Train (the whole page polled every 1 s: each poll is a full rerun, heavier than a "
                          "browser's live-panel fragment)")
    args, sizes = cli.parse()
    epochs = sizes.epochs if sizes.epochs is not None or args.scenario == "defaults" else MIXED_EPOCHS
    if not (1 <= sizes.visitors <= 60 and 1 <= sizes.jobs <= 8 and (epochs is None or 1 <= epochs <= 60)
            and sizes.deadline_s <= 3600):
        cli.error("at most 60 visitors, 8 job slots, 60 epochs and an hour")
    result = run_class(sizes.visitors, sizes.jobs, epochs, sizes.arrive_every_s, sizes.deadline_s, args.wait_on,
                       args.scenario, sizes.hidden)
    write_json(args.json, result)
    print_json({k: v for k, v in result.items() if k != "per_visitor"})


if __name__ == "__main__":
    main()
