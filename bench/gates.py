"""Benchmark of gate extraction and the animated gate figure, including its frame rate in Chromium.

    python bench/gates.py [--steps 250] [--hidden 64] [--layers 2] [--repeats 80] [--skip-browser] [--smoke]
                          [--json out.json]
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/, for common, however this file is loaded

from common import ROOT, CommandLine, median_seconds, write_json  # noqa: E402

from lstm_core.gates import GateTrace, extract_gates, extract_gates_reference  # noqa: E402
from lstm_core.plots.gates import gate_animation_figure  # noqa: E402


@dataclass(frozen=True)
class Sizes:
    steps: int = 250  # the window T
    hidden: int = 64
    layers: int = 2
    repeats: int = 80
    play_s: float = 5.0  # seconds the animation plays in Chromium while its frames are counted
    shots: int = 8  # screenshots taken while it plays


FULL = Sizes()
SMOKE = Sizes(steps=12, hidden=4, layers=2, repeats=2, play_s=1.0, shots=1)


def bench_extraction(steps: int, hidden: int, layers: int, threads: int, repeats: int) -> dict[str, float]:
    """Median milliseconds of one nn.LSTM forward, the fast extraction and the per-step reference loop.

    The three are timed in turn within each repeat, so a change in machine load hits all of them alike.
    """
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    lstm = nn.LSTM(1, hidden, layers, batch_first=True).eval()
    x = torch.randn(1, steps, 1)  # [B=1, T, F=1]

    def forward() -> None:
        with torch.inference_mode():
            lstm(x)

    candidates = {
        "forward_ms": forward,
        "fast_ms": lambda: extract_gates(lstm, x),
        "slow_ms": lambda: extract_gates_reference(lstm, x),
    }
    times: dict[str, list[float]] = {name: [] for name in candidates}
    for repeat in range(repeats + 3):
        for name, fn in candidates.items():
            if name == "slow_ms" and repeat % 4:
                continue  # the slow loop is timed on every fourth repeat only
            start = time.perf_counter()
            fn()
            if repeat >= 3:  # the first rounds warm up allocator and kernels
                times[name].append(1e3 * (time.perf_counter() - start))
    return {name: statistics.median(values) for name, values in times.items()}


def figure_inputs(steps: int, hidden: int, layers: int) -> tuple[GateTrace, np.ndarray, pd.DatetimeIndex]:
    """What the animated figure draws: the gates of a seeded untrained LSTM over ``steps`` random inputs, and a random
    price path on as many business days."""
    torch.manual_seed(0)
    lstm = nn.LSTM(1, hidden, layers, batch_first=True).eval()
    trace = extract_gates(lstm, torch.randn(steps, 1))
    prices = 100 + np.cumsum(np.random.default_rng(0).normal(size=steps))
    return trace, prices, pd.bdate_range("2024-01-02", periods=steps)


def bench_figure(steps: int, hidden: int, layers: int, repeats: int) -> dict[str, float]:
    """Build time of the animated figure (last layer shown), its JSON size, and the trace's own JSON size."""
    trace, prices, dates = figure_inputs(steps, hidden, layers)

    def build() -> object:
        return gate_animation_figure(trace, prices, dates, layer=layers - 1, prediction=float(prices[-1]))

    seconds = median_seconds(build, repeats, warmup=1)
    fig = build()
    json_seconds = median_seconds(fig.to_json, repeats, warmup=1)
    return {
        "build_s": seconds,
        "to_json_s": json_seconds,
        "figure_mb": len(fig.to_json()) / 1e6,
        "frames": len(fig.frames),
        "trace_json_mb": len(json.dumps(trace.to_json())) / 1e6,
    }


def measure(sizes: Sizes = FULL, repeats: int | None = None) -> dict:
    """Extraction with 1 and 2 threads, then the figure with 1, at ``sizes`` (``repeats`` in place of theirs)."""
    repeats = repeats or sizes.repeats
    steps, hidden, layers = sizes.steps, sizes.hidden, sizes.layers
    result: dict = {"size": f"T={steps}, {layers}x{hidden} LSTM, batch 1"}
    for threads in (1, 2):
        result[f"threads_{threads}"] = bench_extraction(steps, hidden, layers, threads, repeats)
    torch.set_num_threads(1)
    result["figure"] = bench_figure(steps, hidden, layers, repeats=max(3, repeats // 8))
    return result


def bench_animation_fps(steps: int, hidden: int, layers: int, seconds: float = FULL.play_s,
                        shots: int = FULL.shots) -> dict[str, float]:
    """Frames per second of the animated figure playing in headless Chromium, from a plain HTML file
    written by plotly's ``write_html``, and how many screenshots of its heatmap taken while it plays
    show a blank heatmap.

    Play is clicked as a user would; frames are counted by plotly's ``plotly_animatingframe`` event
    for ``seconds``, then ``shots`` screenshots of the heatmap follow (the same check as
    tests/test_browser_gates.py).
    """
    sys.path.insert(0, str(ROOT / "tests"))
    from browser import launch_chromium
    from playwright.sync_api import sync_playwright
    from test_browser_gates import COUNT_FRAMES_JS, painted_share

    trace, prices, dates = figure_inputs(steps, hidden, layers)
    fig = gate_animation_figure(trace, prices, dates, layer=layers - 1, prediction=float(prices[-1]))
    with tempfile.TemporaryDirectory(prefix="gates-bench-") as tmp, sync_playwright() as pw:
        html = Path(tmp) / "gates.html"
        fig.write_html(html, include_plotlyjs=True, auto_play=False)  # plotly.js inline: no network
        browser = launch_chromium(pw)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(html.as_uri())
        chart = page.locator(".js-plotly-plot")
        chart.locator(".heatmaplayer image").wait_for(timeout=30_000)
        chart.evaluate(COUNT_FRAMES_JS)
        chart.locator(".updatemenu-button").nth(0).click()  # Play
        page.wait_for_timeout(int(seconds * 1000))
        stamps = page.evaluate("window.__gateFrames")
        area = chart.locator(".draglayer .x2y2 .nsewdrag").bounding_box()  # the heatmap's plot area
        blank = sum(painted_share(_png_pixels(page.screenshot(clip=area))) < 0.25 for _ in range(shots))
        browser.close()
    return {
        "frames": len(fig.frames),
        "frames_per_s": (len(stamps) - 1) / ((stamps[-1] - stamps[0]) / 1000),
        "blank_shots": blank,
        "shots": shots,
    }


def _png_pixels(png: bytes) -> np.ndarray:
    """A PNG as an ``[H, W, 3]`` uint8 array."""
    import io

    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def main() -> None:
    cli = CommandLine(__doc__, FULL, SMOKE)
    cli.add_argument("--skip-browser", action="store_true", help="leave out the frame rate in Chromium")
    args, sizes = cli.parse()

    print(f"torch {torch.__version__}; window T={sizes.steps}, {sizes.layers} layer(s) x {sizes.hidden} units, batch 1, "
          f"F=1")
    print(f"median of {sizes.repeats} runs, interleaved (reference loop: every 4th run)\n")
    header = f"{'threads':>7} | {'nn.LSTM fwd':>11} | {'fast extract':>12} | {'slow loop':>10} | {'fast/fwd':>8} | {'slow/fwd':>8} | {'slow/fast':>9}"
    print(header)
    print("-" * len(header))
    result = measure(sizes)
    for threads in (1, 2):
        r = result[f"threads_{threads}"]
        print(
            f"{threads:>7} | {r['forward_ms']:>8.3f} ms | {r['fast_ms']:>9.3f} ms | {r['slow_ms']:>7.2f} ms | "
            f"{r['fast_ms'] / r['forward_ms']:>7.2f}x | {r['slow_ms'] / r['forward_ms']:>7.1f}x | {r['slow_ms'] / r['fast_ms']:>8.1f}x"
        )
    f = result["figure"]
    print(
        f"\nanimated figure (one layer, {f['frames']} frames): built in {f['build_s'] * 1e3:.0f} ms, "
        f"to_json {f['to_json_s'] * 1e3:.0f} ms, JSON {f['figure_mb']:.2f} MB"
    )
    print(f"GateTrace.to_json() of all layers: {f['trace_json_mb']:.2f} MB as JSON text")
    if not args.skip_browser:
        a = result["animation"] = bench_animation_fps(sizes.steps, sizes.hidden, sizes.layers, sizes.play_s, sizes.shots)
        print(f"playing in Chromium: {a['frames_per_s']:.1f} frames/s; "
              f"{a['blank_shots']} of {a['shots']} screenshots taken while playing show a blank heatmap")
    write_json(args.json, result)


if __name__ == "__main__":
    main()
