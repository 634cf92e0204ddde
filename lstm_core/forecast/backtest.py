"""Walk-forward scores of the test period: every test window is an origin, every forecaster scored per step."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from enum import StrEnum

import numpy as np
import pandas as pd

from lstm_core.baselines import PERSISTENCE
from lstm_core.errors import LabError
from lstm_core.evaluate import MODEL, UNTRAINED, Outputs
from lstm_core.forecast.conformal import (
    DEFAULT_LEVELS,
    Calibration,
    IntervalScore,
    adaptive_halfwidths,
    block_length,
    calibrate,
    coverage_interval,
    hits_interval,
    interval_scores,
)
from lstm_core.pipeline import Prepared


class IntervalKind(StrEnum):
    """How a forecast's intervals are made."""

    SPLIT = "split"  # split conformal: one half-width per level and step, from the calibration windows
    ADAPTIVE = "adaptive"  # adaptive conformal inference: the level moves along the test period with each miss


@dataclass(frozen=True)
class StepScore:
    """One step's point and interval scores over the test origins, in readable units."""

    step: int  # 1-based
    rmse: float
    mae: float
    mase: float | None  # MAE in the target's own units over persistence's on the training period
    intervals: dict[int, IntervalScore]  # level -> scores

    def to_json(self) -> dict[str, object]:
        return {"step": self.step, "rmse": self.rmse, "mae": self.mae, "mase": self.mase,
                "coverage": {str(level): s.coverage for level, s in self.intervals.items()},
                "intervals": {str(level): asdict(s) for level, s in self.intervals.items()}}


@dataclass(frozen=True)
class ForecasterScore:
    """A forecaster's scores at every step, and how sure its coverage is."""

    per_step: tuple[StepScore, ...]
    # level -> a 95 % block-bootstrap interval of the coverage averaged over steps (%): the test origins overlap, so
    # their hits are far from independent and the interval is wider than a binomial one
    coverage_interval: dict[int, tuple[float, float]] = field(default_factory=dict)
    coverage_by_year: dict[int, dict[int, float]] = field(default_factory=dict)  # level -> year -> coverage (%)

    def mean(self, level: int, score: str) -> float:
        """An interval score at ``level`` averaged over the steps."""
        return float(np.mean([getattr(row.intervals[level], score) for row in self.per_step]))

    @property
    def coverage(self) -> dict[int, float]:
        """Empirical coverage (%) of each level, averaged over the steps."""
        return {level: self.mean(level, "coverage") for level in self.per_step[0].intervals}

    def flagged(self, level: int) -> bool:
        """The level lies outside its coverage's interval: a miss larger than the overlapping origins' own noise."""
        low, high = self.coverage_interval[level]
        return not low <= level <= high

    def check_json(self) -> dict[str, dict[str, object]]:
        """Per level: the empirical coverage, its interval (0-100) and whether the level is flagged."""
        return {str(level): {"empirical": value, "interval": list(self.coverage_interval[level]),
                             "flagged": self.flagged(level)} for level, value in self.coverage.items()}

    def to_json(self) -> dict[str, object]:
        return {"per_step": [row.to_json() for row in self.per_step],
                "coverage": {str(level): value for level, value in self.coverage.items()},
                "coverage_interval": {str(level): list(bounds) for level, bounds in self.coverage_interval.items()},
                "coverage_by_year": {str(level): {str(year): value for year, value in years.items()}
                                     for level, years in self.coverage_by_year.items()}}


@dataclass(frozen=True)
class Backtest:
    """The whole backtest: the model's and every baseline's scores on the same origins."""

    origins: int
    steps: int
    calibration_windows: int
    refits: int
    scores: dict[str, ForecasterScore]  # "model" first, then the baselines
    seconds: float
    # the model's forecasts with adaptive conformal intervals (Gibbs and Candes 2021), for series that drift
    adaptive: ForecasterScore | None = None

    @property
    def model(self) -> ForecasterScore:
        return self.scores[MODEL]

    @property
    def baselines(self) -> dict[str, ForecasterScore]:
        return {name: score for name, score in self.scores.items() if name != MODEL}

    @property
    def levels(self) -> tuple[int, ...]:
        return tuple(self.model.coverage)

    def interval_kind(self, kind: IntervalKind) -> ForecasterScore:
        return self.adaptive if kind is IntervalKind.ADAPTIVE and self.adaptive is not None else self.model

    @property
    def recommended(self) -> IntervalKind:
        """The intervals to draw: the adaptive ones where the split ones fail their check at some level and the
        adaptive ones fail it at fewer, else the split ones."""
        if self.adaptive is None:
            return IntervalKind.SPLIT
        flags = {kind: sum(self.interval_kind(kind).flagged(level) for level in self.levels) for kind in IntervalKind}
        return IntervalKind.ADAPTIVE if flags[IntervalKind.SPLIT] > flags[IntervalKind.ADAPTIVE] else IntervalKind.SPLIT

    def coverage_json(self) -> dict[str, object]:
        """Both kinds' coverage checks, and which the page draws."""
        return {"split": self.model.check_json(),
                "adaptive": None if self.adaptive is None else self.adaptive.check_json(),
                "drawn": str(self.recommended)}

    def to_json(self) -> dict[str, object]:
        """What the command line prints: the model's scores at the top level (its split-conformal intervals'),
        ``coverage`` of both kinds of interval, each baseline's scores under ``baselines``."""
        model = self.model.to_json()
        return {"origins": self.origins, "steps": self.steps, "calibration_windows": self.calibration_windows,
                "refits": self.refits, "per_step": model["per_step"], "coverage_by_year": model["coverage_by_year"],
                "coverage": self.coverage_json(),
                "baselines": {name: score.to_json() for name, score in self.baselines.items()},
                "adaptive": None if self.adaptive is None else self.adaptive.to_json(),
                "seconds": self.seconds}


def _bounds(prepared: Prepared, calibration: Calibration, name: str, raw: np.ndarray,
            ends: np.ndarray) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Each level's interval around ``raw`` ``[S, steps]``, in readable units."""
    return {level: (prepared.readable_at(raw - calibration.halfwidth(name, level), ends),
                    prepared.readable_at(raw + calibration.halfwidth(name, level), ends))
            for level in calibration.levels}


def backtest(prepared: Prepared, outputs: Outputs, levels: tuple[int, ...] = DEFAULT_LEVELS,
             refits: int = 0) -> Backtest:
    """Per step: RMSE, MAE, MASE and, per level, coverage, width, Winkler and pinball, for every forecaster.

    The model's test forecasts may have been refitted (``refits`` times, see ``refit_outputs``); its intervals keep
    the half-widths of the original model's validation errors, since a refit model has trained on those windows.
    """
    started = time.perf_counter()
    ends = prepared.split_ends["test"]
    test_raw = prepared.raw_targets("test")  # [S, steps]
    actual = prepared.readable_at(test_raw, ends)
    train_ends = prepared.split_ends["train"]
    persistence = prepared.target_kind.persistence(prepared, train_ends, prepared.config.horizon)
    naive_mae = np.mean(np.abs(persistence[:, None] - prepared.raw_targets("train")), axis=0)  # [steps]
    calibration = calibrate(prepared, outputs, levels)
    cal_raw = prepared.raw_targets("cal")
    years = prepared.dates[ends].year.to_numpy()
    horizon = prepared.config.horizon

    def score(raw: np.ndarray, bounds: dict[int, tuple[np.ndarray, np.ndarray]],
              interval_of: Callable[[int, np.ndarray], tuple[float, float]]) -> ForecasterScore:
        median = prepared.readable_at(raw, ends)
        raw_mae = np.mean(np.abs(raw - test_raw), axis=0)
        hits = {level: 100 * np.mean((actual >= lo) & (actual <= hi), axis=1)  # [S, steps] -> [S]
                for level, (lo, hi) in bounds.items()}
        rows = []
        for k in range(actual.shape[1]):
            error = median[:, k] - actual[:, k]
            rows.append(StepScore(
                step=k + 1, rmse=float(np.sqrt(np.mean(error**2))), mae=float(np.mean(np.abs(error))),
                mase=float(raw_mae[k] / naive_mae[k]) if naive_mae[k] > 0 else None,
                intervals={level: interval_scores(actual[:, k], lo[:, k], hi[:, k], level)
                           for level, (lo, hi) in bounds.items()},
            ))
        return ForecasterScore(
            tuple(rows),
            coverage_interval={level: interval_of(level, h) for level, h in hits.items()},
            coverage_by_year={level: {int(y): float(h[years == y].mean()) for y in np.unique(years)}
                              for level, h in hits.items()},
        )

    block = block_length(len(ends), horizon, prepared.steps)
    scores = {name: score(raw, _bounds(prepared, calibration, name, raw, ends),
                          lambda level, hits, name=name, raw=raw: coverage_interval(
                              outputs.cal[name] - cal_raw, raw - test_raw, level, horizon))
              for name, raw in outputs.test.items() if name != UNTRAINED}  # the network before training: the verdict's
    # the model again, its intervals adapted along the test period; the test origins' own noise is their uncertainty
    model_raw = outputs.test[MODEL]
    delays = horizon + np.arange(prepared.steps)  # origins until each step's outcome is known
    adaptive_bounds = {}
    for level in levels:
        widths = adaptive_halfwidths(outputs.cal[MODEL] - cal_raw, model_raw - test_raw, level, delays)
        adaptive_bounds[level] = (prepared.readable_at(model_raw - widths, ends), prepared.readable_at(model_raw + widths, ends))

    return Backtest(origins=len(ends), steps=prepared.steps, calibration_windows=calibration.n_windows, refits=refits,
                    scores=scores, seconds=time.perf_counter() - started,
                    adaptive=score(model_raw, adaptive_bounds, lambda level, hits: hits_interval(hits, block)))


@dataclass(frozen=True)
class WalkForward:
    """Each test origin's errors and interval hits, in readable units: the backtest spread over time."""

    dates: pd.DatetimeIndex  # [S] each origin's last known day
    squared_errors: dict[str, np.ndarray]  # forecaster -> [S] squared error averaged over the steps
    hits: dict[int, np.ndarray]  # level -> [S] share of the model's steps whose interval held the actual value

    def rolling_rmse(self, window: int) -> dict[str, np.ndarray]:
        """Trailing RMSE over the last ``window`` origins (fewer at the start), per forecaster: ``[S]`` each."""
        return {who: np.sqrt(trailing_mean(errors, window)) for who, errors in self.squared_errors.items()}

    def rolling_coverage(self, window: int) -> dict[int, np.ndarray]:
        """Trailing empirical coverage (%) of the model's intervals over the last ``window`` origins: ``[S]`` each."""
        return {level: 100 * trailing_mean(hits, window) for level, hits in self.hits.items()}


def trailing_mean(values: np.ndarray, window: int) -> np.ndarray:
    """Mean of each value and the ``window - 1`` before it (as many as there are at the start)."""
    if window < 1:
        raise LabError("err_forecast_window", window=window)
    cumulative = np.concatenate([[0.0], np.cumsum(np.asarray(values, dtype=np.float64))])
    ends = np.arange(1, len(values) + 1)
    starts = np.maximum(ends - window, 0)
    return (cumulative[ends] - cumulative[starts]) / (ends - starts)


def walk_forward(prepared: Prepared, outputs: Outputs, levels: tuple[int, ...] = DEFAULT_LEVELS) -> WalkForward:
    """Per-origin squared errors of every forecaster and the model's interval hits (the backtest's forecasts and
    half-widths, kept per origin instead of averaged)."""
    ends = prepared.split_ends["test"]
    actual = prepared.readable_at(prepared.raw_targets("test"), ends)
    squared = {who: np.mean((prepared.readable_at(raw, ends) - actual) ** 2, axis=1)  # [S, steps] -> [S]
               for who, raw in outputs.test.items() if who != UNTRAINED}
    bounds = _bounds(prepared, calibrate(prepared, outputs, levels), MODEL, outputs.test[MODEL], ends)
    hits = {level: np.mean((actual >= lower) & (actual <= upper), axis=1)  # [S, steps] -> [S]
            for level, (lower, upper) in bounds.items()}
    return WalkForward(dates=prepared.dates[ends], squared_errors=squared, hits=hits)


@dataclass(frozen=True)
class WidthComparison:
    """The model's and persistence's intervals at one level on the test period, averaged over steps."""

    level: int
    model_width: float
    persistence_width: float
    model_coverage: float  # %
    persistence_coverage: float

    @property
    def narrower(self) -> bool:
        """Narrower at no worse coverage (more than a point short of persistence's is no fair win)."""
        return self.model_width < self.persistence_width and self.model_coverage >= self.persistence_coverage - 1

    @property
    def comparable(self) -> bool:
        """Their coverages are within a point of each other: then, and only then, widths say who is surer."""
        return abs(self.model_coverage - self.persistence_coverage) <= 1

    @property
    def ratio(self) -> float:
        return self.model_width / self.persistence_width if self.persistence_width > 0 else math.inf


def compare_widths(result: Backtest) -> list[WidthComparison]:
    """One comparison per level of a backtest."""
    model, persistence = result.model, result.scores[PERSISTENCE]
    return [WidthComparison(level, model.mean(level, "width"), persistence.mean(level, "width"),
                            model.mean(level, "coverage"), persistence.mean(level, "coverage"))
            for level in result.levels]


def miscalibrated(result: Backtest, kind: IntervalKind = None) -> list[tuple[int, float, float, float]]:
    """(level, coverage, interval low, interval high), in %, of each level whose 95 % block-bootstrap interval of the
    model's test coverage (by intervals of ``kind``, default split) excludes the level itself: a miss larger than the
    overlapping origins' own noise."""
    score = result.interval_kind(kind or IntervalKind.SPLIT)
    return [(level, value, *score.coverage_interval[level]) for level, value in score.coverage.items()
            if score.flagged(level)]
