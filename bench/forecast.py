"""Benchmark of the walk-forward backtest (no refit) against one bare batched forward, of refit-every-k fine-tuning
against retraining from scratch, and of the refit time estimate against the refits it prices.

    python bench/forecast.py [--repeats 5] [--threads 1] [--smoke] [--json out.json]
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/, for common, however this file is loaded

from common import ROOT, CommandLine, median_seconds, report, timed  # noqa: E402

from lstm_core.config import RunConfig  # noqa: E402
from lstm_core.data import load_source  # noqa: E402
from lstm_core.evaluate import collect_outputs, model_outputs  # noqa: E402
from lstm_core.forecast import backtest, probe_refit_cost, refit_outputs  # noqa: E402
from lstm_core.model import build_model, predict  # noqa: E402
from lstm_core.pipeline import Prepared  # noqa: E402
from lstm_core.runs.run import train_run  # noqa: E402

# MSFT's 7,983 rows: a test period of 12.5 % gives about 1,000 origins; untrained weights cost what trained ones do
CONFIG = RunConfig(target="logret", features=("logret",), window=60, horizon=1, steps=20, train_frac=0.75, val_frac=0.125)


@dataclass(frozen=True)
class Sizes:
    data: str = "sample:MSFT"
    repeats: int = 5
    config: RunConfig = CONFIG
    # refits: a smaller model so that retraining from scratch four times stays a matter of seconds
    refit_config: RunConfig = CONFIG.with_(window=30, steps=5, epochs=3)
    refits: int = 4
    estimate_config: RunConfig = RunConfig(epochs=1)  # the default model, trained one epoch
    estimate_intervals: tuple[int, ...] = (200, 50, 20)
    coverage_trials: int = 200


FULL = Sizes()
_SMOKE_MODEL = {"hidden": 2, "window": 5, "steps": 2}
SMOKE = Sizes(data="synthetic:sine", repeats=1, config=CONFIG.with_(**_SMOKE_MODEL),
              refit_config=CONFIG.with_(**_SMOKE_MODEL, epochs=1), refits=2,
              estimate_config=RunConfig(epochs=1, hidden=2, window=20), estimate_intervals=(100,), coverage_trials=2)


def test_outputs(model, prepared: Prepared) -> np.ndarray:
    """The model's forecasts of every test origin: windows from Prepared, chunked predict, unscaling."""
    return prepared.unscale(predict(model, prepared.tensors("test")[0]).numpy(), prepared.split_ends["test"])


def measure(sizes: Sizes = FULL, threads: int = 1) -> dict:
    """Median seconds of the backtest and of bare forwards over its windows, and their ratios."""
    torch.set_num_threads(threads)
    config, repeats = sizes.config, sizes.repeats
    prepared = Prepared(load_source(sizes.data).frame, config)
    model = build_model(config).eval()
    x_val, x_test = prepared.tensors("val")[0], prepared.tensors("test")[0]
    x_all = torch.cat([x_val, x_test])

    def bare(x: torch.Tensor) -> None:
        with torch.inference_mode():
            model(x)

    # the whole chain a run's Forecast page pays once: one forward over the validation and test windows, every
    # baseline fitted and forecast, the conformal calibration and the scores
    backtest_s = median_seconds(lambda: backtest(prepared, collect_outputs(prepared, model_outputs(prepared, model))),
                                repeats, warmup=1)
    forecast_pass_s = median_seconds(lambda: test_outputs(model, prepared), repeats, warmup=1)
    bare_test_s = median_seconds(lambda: bare(x_test), repeats, warmup=1)
    bare_all_s = median_seconds(lambda: bare(x_all), repeats, warmup=1)
    return {
        "config": f"{_name(sizes.data)}, window {config.window}, {config.steps} steps, LSTM {config.hidden}, "
                  f"{threads} thread(s)",
        "origins": len(x_test), "calibration_windows": len(x_val),
        "backtest_s": round(backtest_s, 4), "forecast_pass_s": round(forecast_pass_s, 4),
        "bare_forward_test_s": round(bare_test_s, 4),
        "bare_forward_val_and_test_s": round(bare_all_s, 4),
        "forecast_pass_vs_bare": round(forecast_pass_s / bare_test_s, 2),  # the target: at most 1.5
        # the whole backtest also calibrates on the validation windows and scores every baseline
        "backtest_vs_bare_same_windows": round(backtest_s / bare_all_s, 2),
        "backtest_vs_bare_test_only": round(backtest_s / bare_test_s, 2),
    }


def _name(data: str) -> str:
    """``MSFT`` for ``sample:MSFT``, ``sine`` for ``synthetic:sine``."""
    return data.partition(":")[2] or data


def measure_refit(sizes: Sizes = FULL, tune_epochs: int = 1, threads: int = 1) -> dict:
    """Seconds and test RMSE of refitting every k origins (k for the sizes' refits): fine-tuning vs from scratch.

    The run trains its config's epochs; fine-tuning carries its weights on for ``tune_epochs`` epochs at each refit,
    retraining starts from fresh weights for as many epochs as the run had. RMSE in log returns.
    """
    torch.set_num_threads(threads)
    config, refits = sizes.refit_config, sizes.refits
    frame = load_source(sizes.data).frame
    prepared = Prepared(frame, config)
    train_s, run = timed(lambda: train_run(frame, _name(sizes.data), config, prepared=prepared, device="cpu"))
    model = run.model.cpu().eval()
    origins = prepared.n_samples("test")
    k = math.ceil(origins / refits)
    actual = prepared.raw_targets("test")  # [S, steps]

    def rmse(outputs: np.ndarray) -> float:
        return float(np.sqrt(np.mean((outputs - actual) ** 2)))

    frozen_s, frozen = timed(lambda: test_outputs(model, prepared))
    tune_s, tuned = timed(lambda: refit_outputs(prepared, model, k, epochs=tune_epochs))
    scratch_s, scratch = timed(lambda: refit_outputs(prepared, model, k, epochs=config.epochs, from_scratch=True))
    persistence_rmse = float(np.sqrt(np.mean(actual**2)))  # a zero log return
    return {
        "config": f"{_name(sizes.data)}, window {config.window}, {config.steps} steps, LSTM {config.hidden}, "
                  f"{threads} thread(s)",
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


def measure_refit_estimate(sizes: Sizes = FULL, threads: int = 1) -> list[dict]:
    """The refit estimate the command line checks (a probe of this machine's own step, copy and forecast) against the
    refits it prices, timed one by one: the default model on MSFT, trained one epoch."""
    torch.set_num_threads(threads)
    frame = load_source(sizes.data).frame
    run = train_run(frame, _name(sizes.data), sizes.estimate_config, device="cpu")
    rows = []
    for k in sizes.estimate_intervals:
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


def measure_coverage_check(trials: int = FULL.coverage_trials) -> dict:
    """How often the coverage check flags an 80 % band that covers 65 % (power) and one that covers 80 % (false
    alarms), on constructed series with the default run's 580 calibration windows and 1,179 test origins: independent
    errors, and errors of overlapping 20-day windows."""
    sys.path.insert(0, str(ROOT / "tests"))
    from test_forecast import _check_flags

    return {f"horizon_{h}": {"flagged_at_65": _check_flags(65, trials, h) / trials,
                             "flagged_at_80": _check_flags(80, trials, h, seed=1) / trials} for h in (1, 20)}


def main() -> None:
    cli = CommandLine(__doc__, FULL, SMOKE)
    cli.add_argument("--threads", type=int, default=1)
    args, sizes = cli.parse()
    result = {**measure(sizes, args.threads), "refit": measure_refit(sizes, threads=args.threads),
              "refit_estimate": measure_refit_estimate(sizes, threads=args.threads),
              "coverage_check": measure_coverage_check(sizes.coverage_trials)}
    report(result, args.json)


if __name__ == "__main__":
    main()
