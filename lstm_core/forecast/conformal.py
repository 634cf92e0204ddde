"""Split-conformal intervals: half-widths from validation errors, and how well intervals cover what happened.

Intervals are built in the target's own units (log returns, prices, log volatility), where a model's errors are
roughly exchangeable, as ``prediction +- q``: q is the conformal quantile of the absolute h-step errors of the
calibration windows, which the model never trained on and early stopping never read (the later part of the
validation period, ``Prepared``'s "cal" split). Readable units (prices, volatility in % a day) are an
increasing function of those units, so an interval maps end to end and keeps its coverage. Every baseline gets the
same treatment from its own validation errors, so widths compare on equal footing.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass

import numpy as np

from lstm_core.errors import LabError
from lstm_core.evaluate import MODEL, Outputs
from lstm_core.pipeline import Prepared

DEFAULT_LEVELS = (80, 95)


MAX_LEVELS = 5  # each level is a bootstrap of its coverage and a band: the Forecast page offers five


def parse_levels(text: str | None) -> tuple[int, ...]:
    """``"80,95"`` -> ``(80, 95)``; LabError unless every level is a whole percentage from 1 to 99, MAX_LEVELS at most."""
    if text is None:
        return DEFAULT_LEVELS
    parts = [part.strip() for part in str(text).split(",") if part.strip()]
    try:
        levels = tuple(sorted({int(part) for part in parts}))
    except ValueError as exc:
        raise LabError("err_forecast_levels", value=str(text)[:60], most=MAX_LEVELS) from exc
    if not levels or not all(1 <= level <= 99 for level in levels) or len(levels) > MAX_LEVELS:
        raise LabError("err_forecast_levels", value=str(text)[:60], most=MAX_LEVELS)
    return levels


def conformal_halfwidth(abs_errors: np.ndarray, level: float) -> np.ndarray:
    """Split-conformal half-width per step: the ``ceil((n + 1) level)``-th smallest absolute error, ``[steps]``.

    With fewer calibration windows than that rank needs the largest error is used (a slightly short interval).
    """
    errors = np.sort(np.asarray(abs_errors, dtype=np.float64), axis=0)  # [n, steps]
    n = len(errors)
    rank = min(math.ceil((n + 1) * level / 100), n)
    return errors[rank - 1]


@dataclass(frozen=True)
class Calibration:
    """Half-widths of each forecaster, level and step, in the target's own units, from the calibration period only."""

    levels: tuple[int, ...]
    halfwidths: dict[str, np.ndarray]  # forecaster -> [L, steps]
    n_windows: int

    def halfwidth(self, name: str, level: int) -> np.ndarray:
        """``[steps]``"""
        return self.halfwidths[name][self.levels.index(level)]


def calibrate_adaptive(prepared: Prepared, outputs: Outputs, levels: tuple[int, ...] = DEFAULT_LEVELS) -> Calibration:
    """The model's adaptive half-widths for the forecast past the data's last day (ACI run along the whole test
    period), every other forecaster's split-conformal ones."""
    split = calibrate(prepared, outputs, levels)
    cal_errors = outputs.cal[MODEL] - prepared.raw_targets("cal")
    test_errors = outputs.test[MODEL] - prepared.raw_targets("test")
    delays = prepared.config.horizon + np.arange(prepared.steps)  # origins until each step's outcome is known
    model = np.stack([adaptive_next_halfwidths(cal_errors, test_errors, level, delays) for level in levels])
    return Calibration(split.levels, {**split.halfwidths, MODEL: model}, split.n_windows)


def calibrate(prepared: Prepared, outputs: Outputs, levels: tuple[int, ...] = DEFAULT_LEVELS) -> Calibration:
    """Conformal half-widths from the h-step errors of the calibration windows (never a training window's, nor one
    that chose the early-stopping epoch)."""
    actual = prepared.raw_targets("cal")  # [S, steps]
    return Calibration(
        levels=tuple(levels),
        halfwidths={name: np.stack([conformal_halfwidth(np.abs(cal - actual), level) for level in levels])
                    for name, cal in outputs.cal.items()},
        n_windows=len(actual),
    )


ACI_GAMMA = 0.005  # Gibbs and Candes' step: how fast the level adapts to misses


def adaptive_halfwidths(cal_errors: np.ndarray, test_errors: np.ndarray, level: int, delays: np.ndarray,
                        gamma: float = ACI_GAMMA) -> np.ndarray:
    """Adaptive conformal inference (Gibbs and Candes 2021) along the test origins: ``[S, steps]`` half-widths.

    Each step keeps its own working miscoverage ``a``, starting at ``1 - level``; once an origin's outcome is known
    (``delays[k]`` origins later: the days its target needs), ``a`` moves by ``gamma * (1 - level - miss)``, so a
    series that drifts into wilder days gets wider intervals, and calmer days narrower ones. The half-width at an
    origin is the ``1 - a`` quantile of the calibration errors and every test error known by then (all of them when
    ``a <= 0``). Absolute errors in the target's own units, ``[n, steps]`` and ``[S, steps]``.
    """
    return _adaptive(cal_errors, test_errors, level, delays, gamma)[0]


def adaptive_next_halfwidths(cal_errors: np.ndarray, test_errors: np.ndarray, level: int, delays: np.ndarray,
                             gamma: float = ACI_GAMMA) -> np.ndarray:
    """The adaptive half-widths of the next origin, past the data's last day, where every test outcome is known:
    ``[steps]``, for the forecast ahead."""
    return _adaptive(cal_errors, test_errors, level, delays, gamma)[1]


def _adaptive(cal_errors: np.ndarray, test_errors: np.ndarray, level: int, delays: np.ndarray,
              gamma: float) -> tuple[np.ndarray, np.ndarray]:
    cal, test = np.abs(np.asarray(cal_errors, dtype=np.float64)), np.abs(np.asarray(test_errors, dtype=np.float64))
    widths, following = np.zeros_like(test), np.zeros(test.shape[1])
    for k in range(test.shape[1]):
        widths[:, k], following[k] = _adaptive_step(cal[:, k], test[:, k], 1 - level / 100, int(delays[k]), gamma)
    return widths, following


def _adaptive_step(cal: np.ndarray, test: np.ndarray, target: float, delay: int,
                   gamma: float) -> tuple[np.ndarray, float]:
    """One step's ACI: its half-width at each test origin ``[S]``, and at the next origin once every outcome is known."""
    known, alpha, widths = sorted(cal), target, np.zeros_like(test)

    def quantile() -> float:
        if alpha >= 1:
            return 0.0
        rank = math.ceil((len(known) + 1) * (1 - alpha))
        return known[min(max(rank, 1), len(known)) - 1] if alpha > 0 else known[-1]

    def learn(j: int) -> None:  # origin j's outcome is known: its miss moves the level, its error joins the others
        nonlocal alpha
        alpha += gamma * (target - float(test[j] > widths[j]))
        bisect.insort(known, test[j])

    for t in range(len(test)):
        if t - delay >= 0:  # the newest origin whose outcome is known now
            learn(t - delay)
        widths[t] = quantile()
    for j in range(max(len(test) - delay, 0), len(test)):  # by the data's last day, every outcome is known
        learn(j)
    return widths, quantile()


BOOTSTRAP_RESAMPLES = 2000
# the coverage's uncertainty is given as a 95 % interval, and a level is flagged when it lies outside. Measured on
# constructed series (tests/test_forecast.py, bench/forecast.py, 200 trials): with independent errors an 80 % band that
# covers 65 % is flagged 200 times and a calibrated one 13; with overlapping 20-day windows (580 calibration windows,
# 1,179 test origins: the default run's) 135 and 27 times: with that many shared days the check can do no better
INTERVAL_LEVEL = 95


def block_length(n: int, horizon: int, steps: int) -> int:
    """Blocks that keep the dependence of overlapping forecasts: twice the rows two neighbouring origins share (the
    horizon and the steps), and at least sqrt(n)."""
    return int(min(n, max(2 * (horizon + steps - 1), math.ceil(math.sqrt(n)))))


def _block_rows(n: int, block: int, rng: np.random.Generator, resamples: int) -> np.ndarray:
    """Row indices of ``resamples`` moving-block resamples of ``n`` rows in order: ``[resamples, n]``."""
    block = max(1, min(block, n))
    starts = rng.integers(0, n - block + 1, size=(resamples, math.ceil(n / block)))
    return (starts[:, :, None] + np.arange(block)).reshape(resamples, -1)[:, :n]


def block_bootstrap_means(values: np.ndarray, block: int, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """Means of ``values`` (in order) under moving-block resampling: blocks of ``block`` neighbours drawn with
    replacement keep the series' own dependence. ``[resamples]``."""
    values = np.asarray(values, dtype=np.float64)
    block = max(1, min(block, len(values)))
    cumulative = np.concatenate([[0.0], np.cumsum(values)])
    block_means = (cumulative[block:] - cumulative[:-block]) / block  # every block's mean
    starts = rng.integers(0, len(block_means), size=(resamples, math.ceil(len(values) / block)))
    return block_means[starts].mean(axis=1)


def _interval(samples: np.ndarray) -> tuple[float, float]:
    """The central INTERVAL_LEVEL % of ``samples`` (%), within 0-100."""
    tail = (100 - INTERVAL_LEVEL) / 2
    low, high = np.percentile(samples, tail), np.percentile(samples, 100 - tail)
    return float(np.clip(low, 0, 100)), float(np.clip(high, 0, 100))


def coverage_interval(cal_errors: np.ndarray, test_errors: np.ndarray, level: int, horizon: int,
                      resamples: int = BOOTSTRAP_RESAMPLES, seed: int = 0) -> tuple[float, float]:
    """An INTERVAL_LEVEL % interval (%) of the test coverage of split-conformal intervals at ``level``, averaged over
    steps.

    Both sources of its noise are resampled by moving blocks, since neighbouring windows share most of their days:
    the calibration windows (which set the half-widths: with few of them, a well-made band covers a little more or
    less than its level by chance) and the test origins (which are scored). Absolute errors in the target's own units,
    ``[n, steps]`` each; a hit is an error within the half-width. Seeded, so it reproduces.
    """
    cal, test = np.abs(np.asarray(cal_errors, dtype=np.float64)), np.abs(np.asarray(test_errors, dtype=np.float64))
    steps = cal.shape[1]
    rng = np.random.default_rng(seed)
    # the test origins' own noise, at the half-widths the real calibration set gives
    hits = np.mean(test <= conformal_halfwidth(cal, level), axis=1)  # [S]
    test_block = block_length(len(test), horizon, steps)
    test_noise = block_bootstrap_means(hits, test_block, resamples, rng) - hits.mean()  # [B]
    # the calibration set's noise: half-widths from resampled calibration windows, scored on every test origin
    rows = _block_rows(len(cal), block_length(len(cal), horizon, steps), rng, resamples)  # [B, n_cal]
    rank = min(math.ceil((len(cal) + 1) * level / 100), len(cal)) - 1
    coverage = np.zeros(resamples)
    for k in range(steps):
        halfwidths = np.partition(cal[rows, k], rank, axis=1)[:, rank]  # [B]
        coverage += np.searchsorted(np.sort(test[:, k]), halfwidths, side="right") / len(test)
    return _interval(100 * (coverage / steps + test_noise))


def hits_interval(hits: np.ndarray, block: int, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = 0) -> tuple[float, float]:
    """An INTERVAL_LEVEL % interval (%) of the coverage of intervals that adapt as they go (ACI: no calibration set
    to resample), from each test origin's hits (% of its steps inside, ``[S]``, in order), resampled in blocks."""
    return _interval(block_bootstrap_means(np.asarray(hits, dtype=np.float64), block, resamples,
                                           np.random.default_rng(seed)))


@dataclass(frozen=True)
class IntervalScore:
    """Central intervals at one level over some forecasts, in readable units."""

    coverage: float  # % of actual values inside
    width: float  # mean width
    winkler: float  # the width plus 2 / alpha times how far the actual value fell outside
    pinball: float  # mean quantile loss of the lower end at alpha / 2 and the upper end at 1 - alpha / 2


def interval_scores(actual: np.ndarray, lower: np.ndarray, upper: np.ndarray, level: float) -> IntervalScore:
    """Coverage, width, Winkler score and pinball loss of central intervals at ``level``."""
    actual, lower, upper = (np.asarray(a, dtype=np.float64) for a in (actual, lower, upper))
    alpha = 1 - level / 100
    below, above = np.clip(lower - actual, 0, None), np.clip(actual - upper, 0, None)
    width = upper - lower

    def pinball(quantile: np.ndarray, tau: float) -> np.ndarray:
        diff = actual - quantile
        return np.maximum(tau * diff, (tau - 1) * diff)

    return IntervalScore(
        coverage=float(100 * np.mean((actual >= lower) & (actual <= upper))),
        width=float(np.mean(width)),
        winkler=float(np.mean(width + 2 / alpha * (below + above))),
        pinball=float(np.mean((pinball(lower, alpha / 2) + pinball(upper, 1 - alpha / 2)) / 2)),
    )
