"""Split-conformal intervals: half-widths from validation errors, and how well intervals cover what happened.

Intervals are built in the target's own units (log returns, prices, log volatility), where a model's errors are
roughly exchangeable, as ``prediction +- q``: q is the conformal quantile of the absolute h-step errors of the
validation windows, which the model never trained on. Readable units (prices, volatility in % a day) are an
increasing function of those units, so an interval maps end to end and keeps its coverage. Every baseline gets the
same treatment from its own validation errors, so widths compare on equal footing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from lstm_core.errors import LabError
from lstm_core.evaluate import Outputs
from lstm_core.pipeline import Prepared

DEFAULT_LEVELS = (80, 95)


def parse_levels(text: str | None) -> tuple[int, ...]:
    """``"80,95"`` -> ``(80, 95)``; LabError unless every level is a whole percentage from 1 to 99."""
    if text is None:
        return DEFAULT_LEVELS
    parts = [part.strip() for part in str(text).split(",") if part.strip()]
    try:
        levels = tuple(sorted({int(part) for part in parts}))
    except ValueError as exc:
        raise LabError("err_forecast_levels", value=text) from exc
    if not levels or not all(1 <= level <= 99 for level in levels):
        raise LabError("err_forecast_levels", value=text)
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
    """Half-widths of each forecaster, level and step, in the target's own units, from the validation period only."""

    levels: tuple[int, ...]
    halfwidths: dict[str, np.ndarray]  # forecaster -> [L, steps]
    n_windows: int

    def halfwidth(self, name: str, level: int) -> np.ndarray:
        """``[steps]``"""
        return self.halfwidths[name][self.levels.index(level)]


def calibrate(prepared: Prepared, outputs: Outputs, levels: tuple[int, ...] = DEFAULT_LEVELS) -> Calibration:
    """Conformal half-widths from the h-step errors of the validation windows (never a training window's)."""
    actual = prepared.raw_targets("val")  # [S, steps]
    return Calibration(
        levels=tuple(levels),
        halfwidths={name: np.stack([conformal_halfwidth(np.abs(val - actual), level) for level in levels])
                    for name, val in outputs.val.items()},
        n_windows=len(actual),
    )


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
