"""GARCH(1,1) with Student-t innovations (the ``arch`` package), fitted on the training period's returns only; each
sample's forecast is the mean of its h days' variance forecasts, made with the data up to its own end."""

from __future__ import annotations

import warnings

import numpy as np

from lstm_core.baselines.base import Baseline, FitOptions, Predictor
from lstm_core.features import VOL_FLOOR
from lstm_core.targets import Target

PERCENT = 100.0  # arch's optimiser works best on returns in percent
SLOW_IMPORT = "arch.univariate"  # 2-3 s with scipy.stats: worker processes and the app import it ahead of need
MAX_FIT_RETURNS = 10_000  # the latest training returns it is fitted on: forty years of days, and a bounded fit


def variance_paths(data, first_origin: int) -> np.ndarray:
    """Daily variance forecasts ``[N - first_origin, H]`` (fractions squared) made at every row from ``first_origin``
    on, for the next ``H = horizon + steps - 1`` days, with parameters fitted on the training rows' returns alone
    (the latest ``MAX_FIT_RETURNS`` of them)."""
    from arch import arch_model
    from arch.utility.exceptions import ConvergenceWarning

    returns = PERCENT * data.logret
    model = arch_model(returns, mean="Constant", vol="GARCH", p=1, q=1, dist="t", rescale=False)
    with warnings.catch_warnings():  # a poor optimum still gives a forecast; the scores say how good it is
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        fitted = model.fit(first_obs=max(0, data.train_rows - MAX_FIT_RETURNS), last_obs=data.train_rows, disp="off",
                           show_warning=False)
    horizon = data.config.horizon + data.steps - 1
    forecast = fitted.forecast(horizon=horizon, start=first_origin, reindex=False, method="analytic")
    return forecast.variance.to_numpy() / PERCENT**2  # [origins, H]


def fit(data, options: FitOptions) -> Predictor:
    h = data.config.horizon
    computed: dict[int, np.ndarray] = {}  # first origin -> its paths: forecasts are made from the earliest end asked

    def predict(ends: np.ndarray) -> np.ndarray:
        first = int(ends.min())
        start = min((origin for origin in computed if origin <= first), default=None)
        if start is None:
            start = first
            computed[start] = variance_paths(data, start)  # rows: origins start .. N - 1
        rows = computed[start][ends - start]  # [S, H]: the days after each end
        # step k is the h days starting k days after the first: the mean of their variances, as the target reads
        return np.stack([np.log(np.sqrt(rows[:, k : k + h].mean(axis=1) + VOL_FLOOR**2)) for k in range(data.steps)],
                        axis=1)

    return predict


BASELINE = Baseline("garch", frozenset({Target.LOGVOL}), fit)
