"""All of LSTM Lab's benchmarks in one go: prints one table and writes bench/results.json (the tests run it at --smoke).

    python bench/run.py [--threads 1] [--skip-browser] [--skip PARTS] [--ray-address HOST:PORT] [--smoke]
                        [--json bench/results.json]

Runs bench/tune.py (trials per minute with 1 and 2 workers, the median pruner against none), bench/train.py (trainer and worker-process jobs against a bare nn.LSTM loop, Start to first batch, the
process tree's memory with one and three jobs, malloc settings), the gate-extraction benchmark of
bench/gates.py, bench/memory.py (the default memory task solved by an LSTM, a GRU and a plain RNN as jobs, the roles
found, the unit search over 1,000 test windows), bench/backends.py (the local job pool against a Ray cluster on loopback,
when Ray is installed), and bench/browser_timings.py (cold start, page switches, clicks while jobs train, server memory),
and records the machine it ran on with its load, since timings on a shared machine mean little without it.
Streamlit settings can be varied through the environment, e.g. ``STREAMLIT_RUNNER_POST_SCRIPT_GC=false``. With
``--smoke`` every part runs at its own smoke sizes (seconds each, figures that mean nothing) and nothing is written
unless ``--json`` says where.
"""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/, for common, however this file is loaded

from common import (  # noqa: E402
    BENCH,
    ROOT,
    CommandLine,
    load_average,
    load_module,
    print_rows,
    rounded_median,
    write_json,
)


@dataclass(frozen=True)
class Sizes:
    gate_repeats: int = 40  # of the gate extraction's timings (bench/gates.py's own default is 80)


FULL, SMOKE = Sizes(), Sizes(gate_repeats=2)
PARTS = ("train", "tune", "gates", "memory", "forecast", "csv", "panel", "backends", "browser")  # in the order they run


def measure_part(name: str, smoke: bool, function: str = "measure") -> dict:
    """``function`` of bench/<name>.py at that script's full sizes, or its smoke ones."""
    module = load_module(name)
    return getattr(module, function)(module.SMOKE if smoke else module.FULL)


def machine() -> dict:
    """CPU, cores, memory, versions and load: what the numbers below depend on."""
    import plotly
    import streamlit
    import torch

    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")),
                 platform.processor() or "unknown")
    meminfo = Path("/proc/meminfo").read_text() if Path("/proc/meminfo").exists() else ""
    total_kb = next((int(line.split()[1]) for line in meminfo.splitlines() if line.startswith("MemTotal")), 0)
    return {
        "cpu": model,
        "logical_cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "memory_gb": round(total_kb / 2**20, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_threads_default": torch.get_num_threads(),
        "streamlit": streamlit.__version__,
        "plotly": plotly.__version__,
        "streamlit_env": {k: v for k, v in os.environ.items() if k.startswith("STREAMLIT_")},
        "load_average_at_start": load_average(),
    }


def run_train(threads: int, smoke: bool = False) -> dict:
    """bench/train.py in its own process (it times malloc settings in fresh processes of its own too)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "train.json"
        subprocess.run([sys.executable, str(BENCH / "train.py"), "--threads", str(threads), "--json", str(out),
                        *(["--smoke"] if smoke else [])], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
        return json.loads(out.read_text())


def run_gates(repeats: int, smoke: bool = False) -> dict:
    """bench/gates.py's extraction (1 and 2 threads) and figure timings at its sizes, ``repeats`` times."""
    gates = load_module("gates")
    measured = gates.measure(gates.SMOKE if smoke else gates.FULL, repeats)
    result: dict = {"size": measured["size"]}
    for threads in (1, 2):
        result[f"threads_{threads}"] = {name: round(ms, 3) for name, ms in measured[f"threads_{threads}"].items()}
    figure = measured["figure"]
    result["figure"] = {"build_ms": round(1e3 * figure["build_s"], 1), "to_json_ms": round(1e3 * figure["to_json_s"], 1),
                        "json_mb": round(figure["figure_mb"], 2), "frames": figure["frames"]}
    return result


def run_backends(smoke: bool = False, address: str | None = None) -> dict:
    """The local pool against a Ray cluster, each measured in a fresh process (bench/backends.py): a throw-away
    cluster, or the one at ``address``."""
    backends = load_module("backends")
    return backends.measure(backends.SMOKE if smoke else backends.FULL, smoke, address)


def table(results: dict) -> list[tuple[str, str, str]]:
    """(group, measurement, value) rows for the printed table."""
    rows: list[tuple[str, str, str]] = []
    m = results["machine"]
    rows += [("machine", "cpu", f"{m['cpu']} ({m['usable_cores']} of {m['logical_cores']} cores usable)"),
             ("machine", "memory", f"{m['memory_gb']} GB"),
             ("machine", "versions", f"python {m['python']}, torch {m['torch']}, streamlit {m['streamlit']}"),
             ("machine", "load average (1, 5, 15 min)", f"{m['load_average_at_start']} at start, "
                                                         f"{results['load_average_at_end']} at end")]
    if m["streamlit_env"]:
        rows.append(("machine", "streamlit settings from env", ", ".join(f"{k}={v}" for k, v in m["streamlit_env"].items())))
    if "train" in results:
        tr = results["train"]
        rows += [("training", "config", f"{tr['config']}, {tr['threads']} thread(s)"),
                 ("training", "bare nn.LSTM loop", f"{tr['bare_samples_per_s']:,} samples/s"),
                 ("training", "LSTM Lab trainer", f"{tr['train_samples_per_s']:,} samples/s ({tr['train_vs_bare']:.0%} of bare)"),
                 ("training", "LSTM Lab trainer, clip_grad 1.0 (the app's default)",
                  f"{tr['train_clip_1_samples_per_s']:,} samples/s"),
                 ("jobs", "a job in a worker process (forkserver, 1 thread, nice 10)",
                  f"{tr['job_samples_per_s']:,} samples/s ({tr['job_vs_bare']:.0%} of bare: median of back-to-back pairs "
                  f"{tr['job_vs_bare_pairs']})")]
        fb = tr["start_to_first_batch"]
        rows += [("jobs", "Start to first training batch, forkserver cold (it imports torch)", f"{fb['cold_s']} s"),
                 ("jobs", "Start to first training batch, forkserver warm", f"{fb['warm_s']} s (worker running after "
                  f"{1000 * fb['warm_worker_start_s']:.1f} ms; scoring the untrained model, epoch 0, {fb['epoch0_s']} s)")]
        for n in (1, 3):
            m = tr["tree_memory"][f"jobs_{n}"]
            rows.append(("jobs", f"peak summed PSS of the process tree, {n} job(s) at once",
                         f"{m['tree_pss_peak_mb']:,} MB (each worker's peak RSS {m['worker_peak_rss_mb']} MB)"))
        for kernel, name in (("onednn", "torch's default oneDNN LSTM"), ("native", "native LSTM kernels")):
            default, tuned = tr["step"][f"{kernel}_default"], tr["step"][f"{kernel}_tuned"]
            rows.append(("training", f"2x128 w120 b128 step, {name}, default -> tuned malloc",
                         f"{default['ms']} -> {tuned['ms']} ms ({default['faults']:,} -> {tuned['faults']:,} page faults)"))
    if "tune" in results:
        rows += load_module("tune").rows(results["tune"])
    if "panel" in results:
        rows += load_module("panel").rows(results["panel"])
    if "backends" in results:
        rows += load_module("backends").rows(results["backends"])
    if "gates" in results:
        g = results["gates"]
        for threads in (1, 2):
            r = g[f"threads_{threads}"]
            rows.append(("gates", f"{g['size']}, {threads} thread(s)",
                         f"forward {r['forward_ms']} ms, extract {r['fast_ms']} ms, per-step loop {r['slow_ms']} ms"))
        f = g["figure"]
        rows.append(("gates", "animated figure", f"{f['frames']} frames: build {f['build_ms']} ms, "
                                                 f"to_json {f['to_json_ms']} ms, {f['json_mb']} MB"))
        if "animation" in g:
            a = g["animation"]
            rows.append(("gates", "animation playing in Chromium (6 x 64 heatmap)", f"{a['frames_per_s']} frames/s, "
                         f"{a['blank_shots']} of {a['shots']} mid-play screenshots blank"))
    if "memory" in results:
        rows += load_module("memory").rows(results["memory"])
    if "forecast" in results:
        f = results["forecast"]
        rows.append(("forecast", f"backtest, {f['config']}, {f['origins']} origins",
                     f"{f['backtest_s']} s in all; forecast pass {f['forecast_pass_s']} s = {f['forecast_pass_vs_bare']}x "
                     f"one bare forward of the same windows ({f['bare_forward_test_s']} s)"))
        if "refit" in f:
            r = f["refit"]
            rows.append(("forecast", f"no refit, {r['config']}, {r['origins']} origins",
                         f"{r['no_refit']['seconds']} s, log-return RMSE {r['no_refit']['rmse']} "
                         f"(persistence {r['persistence_rmse']})"))
            for way, what in (("fine_tune", "fine-tune"), ("from_scratch", "retrain from scratch")):
                w = r[way]
                rows.append(("forecast", f"refit every {r['refit_every']} ({r['refits']} refits): {what}, "
                                         f"{w['epochs']} epoch(s) each", f"{w['seconds']} s, log-return RMSE {w['rmse']}"))
    if "csv" in results:
        c = results["csv"]
        rows.append(("data", f"CSV of {c['mb']} MB, {c['rows']:,} rows, dates ISO then dd.mm.yyyy halfway",
                     f"{c['seconds_median']} s to read ({c['dates_misread']} dates misread)"))
    if "switches" in results.get("browser", {}) or "switches" in results:
        w = results.get("switches") or results["browser"]["switches"]
        for key, what in (("lang_switch_train_s", "language switch on Train, a run's results shown, idle"),
                          ("lang_switch_learn_s", "language switch on Learn, idle"),
                          ("tab_switch_learn_s", "Learn tab switch (lesson / calculator), idle")):
            values = w[key]
            shown = f"median {rounded_median(values)} s, slowest {max(values)} s {values}" if values else "none timed"
            if key == "tab_switch_learn_s" and w.get("tab_clicks_without_rerun"):
                shown += f"; {w['tab_clicks_without_rerun']} click(s) brought no rerun"
            rows.append(("browser", what, shown))
    if "browser" in results:
        b = results["browser"]
        by_page = ", ".join(f"{k} {v}" for k, v in b["page_switch_median_by_page_s"].items())
        first = ", ".join(f"{k} {v}" for k, v in b["page_switch_first_round_s"].items())
        rows += [("browser", "cold start: process start to first page", f"{b['cold_start_s']} s "
                                                                          f"(health answer at {b['cold_start_health_s']} s)"),
                 ("browser", "page switch, median of all clicks", f"{b['page_switch_median_s']} s"),
                 ("browser", "page switch, first visit", first),
                 ("browser", "page switch, later visits (median)", by_page),
                 ("browser", "Learn language switch, nothing training", f"{b['widget_update_idle_s']} s"),
                 ("browser", "... while 1 default job trains", f"{b['widget_update_1job_s']} s {b['widget_update_1job_all_s']}"),
                 ("browser", "... while 3 default jobs train", f"{b['widget_update_3jobs_s']} s {b['widget_update_3jobs_all_s']}"),
                 ("browser", "Learn step click (a table, a chart), idle / 1 job / 3 jobs",
                  f"{b['step_click_idle_s']} / {b['step_click_1job_s']} / {b['step_click_3jobs_s']} s"),
                 ("browser", "app's own rate, 1 job (Chromium on the same 2 cores)", f"{b['app_samples_per_s_1job']:,} samples/s"),
                 ("browser", "app's own rate, 3 jobs (Chromium on the same 2 cores)", " / ".join(f"{x:,}" for x in b["app_samples_per_s_3jobs"]) + " samples/s"),
                 ("memory", "server RSS after the first page", f"{b['rss_after_first_page_mb']} MB"),
                 ("memory", "server peak RSS (VmHWM), 1 job", f"{b['peak_rss_1job_mb']} MB (all pages visited, "
                                                               f"{b['epochs_1job']} epochs)"),
                 ("memory", "server peak RSS (VmHWM), 3 jobs at once", f"{b['peak_rss_3jobs_mb']} MB (fresh server, cap 3)")]
    return rows


def main() -> None:
    cli = CommandLine(__doc__, FULL, SMOKE, json_default=BENCH / "results.json")
    cli.add_argument("--threads", type=int, default=1, help="torch threads for the training benchmark")
    cli.add_argument("--skip", default="", help=f"comma list of parts to leave out: {', '.join(PARTS)}")
    cli.add_argument("--skip-browser", action="store_true", help="the same as --skip browser")
    cli.add_argument("--ray-address", default=None,
                     help="a running Ray cluster (HOST:PORT) for the backends figures instead of a throw-away one")
    cli.add_argument("--only", default=None,
                     help="comma list of parts to run alone, the rest kept from --json: csv, switches, panel, backends")
    args, sizes = cli.parse()
    smoke = args.smoke
    skip = {part for part in args.skip.split(",") if part} | ({"browser"} if args.skip_browser else set())
    if skip - set(PARTS):
        cli.error(f"--skip takes {', '.join(PARTS)}, not {', '.join(sorted(skip - set(PARTS)))}")

    started = time.perf_counter()
    results: dict = {"machine": machine()}
    if args.only:
        kept = json.loads(args.json.read_text()) if args.json and args.json.exists() else {}
        parts = set(args.only.split(","))
        results = {**kept, "machine": results["machine"]}
        if "csv" in parts:
            results["csv"] = measure_part("csv_dates", smoke)
        if "panel" in parts:
            results["panel"] = measure_part("panel", smoke)
        if "backends" in parts:
            results["backends"] = run_backends(smoke, args.ray_address)
        if "switches" in parts:
            from playwright.sync_api import sync_playwright

            sys.path.insert(0, str(ROOT / "tests"))
            from browser import launch_chromium

            browser_timings = load_module("browser_timings")
            with sync_playwright() as pw:
                chromium = launch_chromium(pw)
                results["switches"] = browser_timings.switch_timings(
                    chromium, browser_timings.SMOKE if smoke else browser_timings.FULL)
                chromium.close()
        results["load_average_at_end"] = load_average()
        results["only"] = sorted(parts)
        print_table(results, args.json, started)
        return
    if "train" not in skip:
        print("training benchmark ...", file=sys.stderr, flush=True)
        results["train"] = run_train(args.threads, smoke)
        results["threads"] = results["train"]["threads"]
        results["train_samples_per_s"] = results["train"]["train_samples_per_s"]
        results["bare_samples_per_s"] = results["train"]["bare_samples_per_s"]
    if "tune" not in skip:
        print("tuning benchmark ...", file=sys.stderr, flush=True)
        results["tune"] = measure_part("tune", smoke)
    if "gates" not in skip:
        print("gate benchmark ...", file=sys.stderr, flush=True)
        results["gates"] = run_gates(sizes.gate_repeats, smoke)
    if "memory" not in skip:
        print("memory task benchmark ...", file=sys.stderr, flush=True)
        results["memory"] = measure_part("memory", smoke)
    if "forecast" not in skip:
        print("forecast benchmark ...", file=sys.stderr, flush=True)
        results["forecast"] = {**measure_part("forecast", smoke),
                               "refit": measure_part("forecast", smoke, "measure_refit")}
    if "csv" not in skip:
        results["csv"] = measure_part("csv_dates", smoke)
    if "panel" not in skip:
        print("panel of the defaults ...", file=sys.stderr, flush=True)
        results["panel"] = measure_part("panel", smoke)
    if "backends" not in skip and importlib.util.find_spec("ray") is None:
        print("Ray is not installed (pip install -r requirements-ray.txt): no backends figures", file=sys.stderr)
    elif "backends" not in skip:
        print("local pool against a Ray cluster on loopback ...", file=sys.stderr, flush=True)
        results["backends"] = run_backends(smoke, args.ray_address)
    if "browser" not in skip:
        if "gates" in results:
            gates = load_module("gates")
            gate_sizes = gates.SMOKE if smoke else gates.FULL
            animation = gates.bench_animation_fps(gate_sizes.steps, gate_sizes.hidden, gate_sizes.layers,
                                                  gate_sizes.play_s, gate_sizes.shots)
            results["gates"]["animation"] = {name: round(value, 2) for name, value in animation.items()}
        print("browser timings ...", file=sys.stderr, flush=True)
        results["browser"] = measure_part("browser_timings", smoke)
    results["load_average_at_end"] = load_average()

    print_table(results, args.json, started)


def print_table(results: dict, path: Path | None, started: float) -> None:
    results["seconds"] = round(time.perf_counter() - started)
    print_rows(table(results))
    write_json(path, results)
    print(f"\nwrote {path} ({results['seconds']} s)" if path else f"\n{results['seconds']} s")


if __name__ == "__main__":
    main()
