"""Benchmark of the walk-forward backtest (no refit) against one bare batched forward, of refit-every-k fine-tuning
against retraining from scratch, and of the refit time estimate against the refits it prices (`python bench/forecast.py`).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lstm_core.config import RunConfig  # noqa: E402
from lstm_core.data import load_sample  # noqa: E402
from lstm_core.evaluate import collect_outputs, model_outputs  # noqa: E402
from lstm_core.forecast import backtest, probe_refit_cost, refit_outputs  # noqa: E402
from lstm_core.model import build_model, predict  # noqa: E402
from lstm_core.pipeline import Prepared  # noqa: E402
from lstm_core.runs.run import train_run  # noqa: E402


def test_outputs(model, prepared: Prepared) -> np.ndarray:
    """The model's forecasts of every test origin: windows from Prepared, chunked predict, unscaling."""
    return prepared.unscale(predict(model, prepared.tensors("test")[0]).numpy(), prepared.split_ends["test"])

# MSFT's 7,983 rows: a test period of 12.5 % gives about 1,000 origins; untrained weights cost what trained ones do
CONFIG = RunConfig(target="logret", features=("logret",), window=60, horizon=1, steps=20, train_frac=0.75, val_frac=0.125)

# refits: a smaller model so that retraining from scratch four times stays a matter of seconds
REFIT_CONFIG = CONFIG.with_(window=30, steps=5, epochs=3)
REFITS = 4


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

    # the whole chain a run's Forecast page pays once: one forward over the validation and test windows, every
    # baseline fitted and forecast, the conformal calibration and the scores
    backtest_s = _median_seconds(lambda: backtest(prepared, collect_outputs(prepared, model_outputs(prepared, model))),
                                 repeats)
    forecast_pass_s = _median_seconds(lambda: test_outputs(model, prepared), repeats)
    bare_test_s = _median_seconds(lambda: bare(x_test), repeats)
    bare_all_s = _median_seconds(lambda: bare(x_all), repeats)
    return {
        "config": f"MSFT, window {CONFIG.window}, {CONFIG.steps} steps, LSTM {CONFIG.hidden}, {threads} thread(s)",
        "origins": len(x_test), "calibration_windows": len(x_val),
        "backtest_s": round(backtest_s, 4), "forecast_pass_s": round(forecast_pass_s, 4),
        "bare_forward_test_s": round(bare_test_s, 4),
        "bare_forward_val_and_test_s": round(bare_all_s, 4),
        "forecast_pass_vs_bare": round(forecast_pass_s / bare_test_s, 2),  # the target: at most 1.5
        # the whole backtest also calibrates on the validation windows and scores every baseline
        "backtest_vs_bare_same_windows": round(backtest_s / bare_all_s, 2),
        "backtest_vs_bare_test_only": round(backtest_s / bare_test_s, 2),
    }


def measure_refit(refits: int = REFITS, tune_epochs: int = 1, threads: int = 1) -> dict:
    """Seconds and test RMSE of refitting every k origins (k for ``refits`` refits): fine-tuning vs from scratch.

    The run trains ``REFIT_CONFIG.epochs`` epochs; fine-tuning carries its weights on for ``tune_epochs`` epochs at
    each refit, retraining starts from fresh weights for as many epochs as the run had. RMSE in log returns.
    """
    torch.set_num_threads(threads)
    config = REFIT_CONFIG
    frame = load_sample("MSFT").frame
    prepared = Prepared(frame, config)
    started = time.perf_counter()
    run = train_run(frame, "MSFT", config, prepared=prepared, device="cpu")
    train_s = time.perf_counter() - started
    model = run.model.cpu().eval()
    origins = prepared.n_samples("test")
    k = math.ceil(origins / refits)
    actual = prepared.raw_targets("test")  # [S, steps]

    def rmse(outputs: np.ndarray) -> float:
        return float(np.sqrt(np.mean((outputs - actual) ** 2)))

    def timed(fn) -> tuple[float, np.ndarray]:
        started = time.perf_counter()
        outputs = fn()
        return time.perf_counter() - started, outputs

    frozen_s, frozen = timed(lambda: test_outputs(model, prepared))
    tune_s, tuned = timed(lambda: refit_outputs(prepared, model, k, epochs=tune_epochs))
    scratch_s, scratch = timed(lambda: refit_outputs(prepared, model, k, epochs=config.epochs, from_scratch=True))
    persistence_rmse = float(np.sqrt(np.mean(actual**2)))  # a zero log return
    return {
        "config": f"MSFT, window {config.window}, {config.steps} steps, LSTM {config.hidden}, {threads} thread(s)",
        "origins": origins, "refit_every": k, "refits": math.ceil(origins / k), "run_epochs": config.epochs,
        "run_train_s": round(train_s, 2),
        "no_refit": {"seconds": round(frozen_s, 3), "rmse": round(rmse(frozen), 6)},
        "fine_tune": {"epochs": tune_epochs, "seconds": round(tune_s, 2), "rmse": round(rmse(tuned), 6)},
        "from_scratch": {"epochs": config.epochs, "seconds": round(scratch_s, 2), "rmse": round(rmse(scratch), 6)},
        "persistence_rmse": round(persistence_rmse, 6),
    }


def _lap_timer(laps: list[float]):
    """A ``(done, total)`` callback that appends the seconds since its previous call (or since it was made)."""
    last = [time.perf_counter()]

    def lap(done: int, total: int) -> None:
        now = time.perf_counter()
        laps.append(now - last[0])
        last[0] = now

    return lap


def measure_refit_estimate(intervals: tuple[int, ...] = (200, 50, 20), threads: int = 1) -> list[dict]:
    """The refit estimate the command line checks (a probe of this machine's own step, copy and forecast) against the
    refits it prices, timed one by one: the default model on MSFT, trained one epoch."""
    torch.set_num_threads(threads)
    frame = load_sample("MSFT").frame
    run = train_run(frame, "MSFT", RunConfig(epochs=1), device="cpu")
    rows = []
    for k in intervals:
        cost = probe_refit_cost(run.prepared, run.model)
        estimated = cost.per_refit(run.prepared, k)
        times: list[float] = []
        refit_outputs(run.prepared, run.model, k, on_refit=_lap_timer(times))
        ratios = estimated / np.asarray(times)
        rows.append({"refit_every": k, "refits": len(times), "estimated_s": round(float(estimated.sum()), 2),
                     "measured_s": round(sum(times), 2), "ratio": round(float(estimated.sum()) / sum(times), 2),
                     "per_refit_ratio_min": round(float(ratios.min()), 2),
                     "per_refit_ratio_max": round(float(ratios.max()), 2)})
    return rows


def measure_coverage_check(trials: int = 200) -> dict:
    """How often the coverage check flags an 80 % band that covers 65 % (power) and one that covers 80 % (false
    alarms), on constructed series with the default run's 580 calibration windows and 1,179 test origins: independent
    errors, and errors of overlapping 20-day windows."""
    sys.path.insert(0, str(ROOT / "tests"))
    from test_forecast import _check_flags

    return {f"horizon_{h}": {"flagged_at_65": _check_flags(65, trials, h) / trials,
                             "flagged_at_80": _check_flags(80, trials, h, seed=1) / trials} for h in (1, 20)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    print(json.dumps({**measure(args.repeats, args.threads), "refit": measure_refit(threads=args.threads),
                      "refit_estimate": measure_refit_estimate(threads=args.threads),
                      "coverage_check": measure_coverage_check()}, indent=1))


if __name__ == "__main__":
    main()
