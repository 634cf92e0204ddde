"""Benchmark of the walk-forward backtest (no refit) against one bare batched forward of the same windows (`python bench/forecast.py`)."""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lstm_core.config import RunConfig  # noqa: E402
from lstm_core.data import load_sample  # noqa: E402
from lstm_core.forecast import backtest, model_outputs  # noqa: E402
from lstm_core.model import build_model  # noqa: E402
from lstm_core.pipeline import Prepared  # noqa: E402

# MSFT's 7,983 rows: a test period of 12.5 % gives about 1,000 origins; untrained weights cost what trained ones do
CONFIG = RunConfig(target="logret", features=("logret",), window=60, horizon=1, steps=20, train_frac=0.75, val_frac=0.125)


def _median_seconds(fn, repeats: int) -> float:
    fn()  # warm-up: first-call allocations and kernel selection
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def measure(repeats: int = 5, threads: int = 1) -> dict:
    """Median seconds of the backtest and of bare forwards over its windows, and their ratios."""
    torch.set_num_threads(threads)
    prepared = Prepared(load_sample("MSFT").frame, CONFIG)
    model = build_model(CONFIG).eval()
    x_val, x_test = prepared.tensors("val")[0], prepared.tensors("test")[0]
    x_all = torch.cat([x_val, x_test])

    def bare(x: torch.Tensor) -> None:
        with torch.inference_mode():
            model(x)

    backtest_s = _median_seconds(lambda: backtest(prepared, model), repeats)
    # the backtest's own forecast of every test origin: windows from Prepared, chunked predict, unscaling
    forecast_pass_s = _median_seconds(lambda: model_outputs(model, prepared, "test"), repeats)
    bare_test_s = _median_seconds(lambda: bare(x_test), repeats)
    bare_all_s = _median_seconds(lambda: bare(x_all), repeats)
    return {
        "config": f"MSFT, window {CONFIG.window}, {CONFIG.steps} steps, LSTM {CONFIG.hidden}, {threads} thread(s)",
        "origins": len(x_test), "calibration_windows": len(x_val),
        "backtest_s": round(backtest_s, 4), "forecast_pass_s": round(forecast_pass_s, 4),
        "bare_forward_test_s": round(bare_test_s, 4),
        "bare_forward_val_and_test_s": round(bare_all_s, 4),
        "forecast_pass_vs_bare": round(forecast_pass_s / bare_test_s, 2),  # the target: at most 1.5
        # the whole backtest also calibrates on the validation windows and scores persistence and a linear AR
        "backtest_vs_bare_same_windows": round(backtest_s / bare_all_s, 2),
        "backtest_vs_bare_test_only": round(backtest_s / bare_test_s, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    print(json.dumps(measure(args.repeats, args.threads), indent=1))


if __name__ == "__main__":
    main()
