"""What a baseline is: a forecaster without a network, fitted on training rows only, that predicts any windows.

A baseline's ``fit`` reads a ``Prepared`` dataset (training rows only: its split ends, training windows and the
series up to each sample's own end) and returns a predictor: sample ends ``[S]`` -> forecasts of every step
``[S, steps]`` in the target's own units, the units the network is trained in. The Train verdict, the Forecast
page and the backtest all read the same predictions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from lstm_core.targets import Target, target_of

if TYPE_CHECKING:
    from lstm_core.pipeline import Prepared

Predictor = Callable[[np.ndarray], np.ndarray]  # sample ends [S] -> [S, steps], the target's own units
ALL_TARGETS = frozenset(Target)


@dataclass(frozen=True)
class FitOptions:
    """What a fit may need beyond the data: a season's length in rows, for the seasonal naive."""

    period: int | None = None


DEFAULT_OPTIONS = FitOptions()


@dataclass(frozen=True, eq=False)
class Baseline:
    """One baseline: its name (translated under ``m_<name>``), the targets it forecasts, and how it is fitted."""

    name: str
    targets: frozenset[Target]
    fit: Callable[[Prepared, FitOptions], Predictor]
    needs_period: bool = False  # fitted only when a period is given

    def applies(self, target: Target, options: FitOptions) -> bool:
        return target in self.targets and (options.period is not None or not self.needs_period)

    def label(self, target: Target, horizon: int) -> tuple[str, dict[str, object]]:
        """The baseline's name for a run of ``target`` as (translation key, params)."""
        return f"m_{self.name}", {}


def repeat_steps(values: np.ndarray, steps: int) -> np.ndarray:
    """One forecast ``[S]`` used for every step: ``[S, steps]``."""
    return np.repeat(np.asarray(values, dtype=np.float64)[:, None], steps, axis=1)


def price_steps(data: Prepared, ends: np.ndarray, price_at: Callable[[int], np.ndarray]) -> np.ndarray:
    """``price_at(days_ahead)`` for every step's horizon, each turned into the target's own units: ``[S, steps]``."""
    kind, h = target_of(data.config.target), data.config.horizon
    return np.stack([kind.from_price(price_at(h + k), data, ends) for k in range(data.steps)], axis=1)
