"""The one registry of baselines: every forecaster without a network that a model is judged against.

Each baseline is a small module with a ``BASELINE``; this registry lists them in the order tables show them.
A new baseline is one file (plus its name, ``m_<name>``, in the i18n table) and one line below; ``register`` adds
one at run time (tests do).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from lstm_core.baselines import (
    drift,
    ewma,
    garch,
    har,
    linear_ar,
    moving_average,
    persistence,
    seasonal_naive,
    train_mean,
    window_mean,
)
from lstm_core.baselines.base import DEFAULT_OPTIONS, Baseline, FitOptions, Predictor
from lstm_core.targets import Target

if TYPE_CHECKING:
    from lstm_core.pipeline import Prepared

PERSISTENCE = persistence.BASELINE.name
BASELINES: dict[str, Baseline] = {b.name: b for b in (
    persistence.BASELINE, ewma.BASELINE, window_mean.BASELINE, har.BASELINE, garch.BASELINE, train_mean.BASELINE,
    moving_average.BASELINE, drift.BASELINE, linear_ar.BASELINE, seasonal_naive.BASELINE,
)}


def register(baseline: Baseline) -> None:
    """Add ``baseline`` to the registry (replacing one of the same name)."""
    BASELINES[baseline.name] = baseline


def unregister(name: str) -> None:
    BASELINES.pop(name, None)


def baselines_for(target: Target, options: FitOptions = DEFAULT_OPTIONS) -> list[Baseline]:
    """The baselines that forecast ``target`` under ``options``, persistence first."""
    return [b for b in BASELINES.values() if b.applies(Target(target), options)]


def baseline_label(name: str, target: Target, horizon: int) -> tuple[str, dict[str, object]]:
    """A baseline's name for a run of ``target`` as (translation key, params)."""
    return BASELINES[name].label(Target(target), horizon)


def fit_all(data: Prepared, options: FitOptions = DEFAULT_OPTIONS) -> dict[str, Predictor]:
    """Every applicable baseline fitted on ``data``'s training rows."""
    return {b.name: b.fit(data, options) for b in baselines_for(data.config.target, options)}


def predict_splits(data: Prepared, splits: tuple[str, ...], options: FitOptions = DEFAULT_OPTIONS) -> dict[str, dict[str, np.ndarray]]:
    """split -> baseline -> forecasts ``[S, steps]`` in the target's own units, each baseline fitted once."""
    fitted = fit_all(data, options)
    return {split: {name: predict(data.split_ends[split]) for name, predict in fitted.items()} for split in splits}


__all__ = ["BASELINES", "DEFAULT_OPTIONS", "PERSISTENCE", "Baseline", "FitOptions", "Predictor", "baseline_label", "baselines_for",
           "fit_all", "predict_splits", "register", "unregister"]
