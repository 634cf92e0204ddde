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
from lstm_core.evaluate import Outputs
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
    cal, test = np.abs(np.asarray(cal_errors, dtype=np.float64)), np.abs(np.asarray(test_errors, dtype=np.float64))
    target = 1 - level / 100
    widths = np.zeros_like(test)
    for k in range(test.shape[1]):
        known = sorted(cal[:, k])
        alpha, delay = target, int(delays[k])
        for t in range(len(test)):
            j = t - delay  # the newest origin whose outcome is known now
            if j >= 0:
                alpha += gamma * (target - float(test[j, k] > widths[j, k]))
                bisect.insort(known, test[j, k])
            rank = math.ceil((len(known) + 1) * (1 - alpha))
            widths[t, k] = known[min(max(rank, 1), len(known)) - 1] if alpha > 0 else known[-1]
            if alpha >= 1:
                widths[t, k] = 0.0
    return widths


BOOTSTRAP_RESAMPLES = 2000
INTERVAL_LEVEL = 90  # the coverage's uncertainty is given as a 90 % interval


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


def coverage_interval(cal_errors: np.ndarray, test_errors: np.ndarray, level: int, horizon: int,
                      resamples: int = BOOTSTRAP_RESAMPLES, seed: int = 0) -> tuple[float, float]:
    """A 90 % interval (%) of the test coverage of split-conformal intervals at ``level``, averaged over steps.

    Both sources of its noise are resampled by moving blocks, since neighbouring windows share most of their days:
    the calibration windows (which set the half-widths) and the test origins (which are scored). Absolute errors in
    the target's own units, ``[n, steps]`` each; a hit is an error within the half-width. Seeded, so it reproduces.
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
    samples = 100 * (coverage / steps + test_noise)
    tail = (100 - INTERVAL_LEVEL) / 2
    return float(np.percentile(samples, tail)), float(np.percentile(samples, 100 - tail))


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
