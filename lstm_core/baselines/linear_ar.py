"""A linear autoregression on the model's own inputs: least squares over the training windows, every step at once."""

from __future__ import annotations

import numpy as np

from lstm_core.baselines.base import ALL_TARGETS, Baseline, FitOptions, Predictor

MAX_LAGS = 60  # the last days of each window it reads: a 500-day window of 7 features would be a 3,500-wide system
MAX_FIT_WINDOWS = 20_000  # evenly spaced training windows beyond this: the estimate barely moves, the memory would


def design(data, ends: np.ndarray) -> np.ndarray:
    """Regression rows of the samples ending at ``ends``: their last ``MAX_LAGS`` steps of the network's own inputs and
    a constant, ``[S, L*F + 1]``."""
    x = data.inputs_at(ends)[:, -MAX_LAGS:]  # [S, L, F]
    flat = x.reshape(len(ends), -1).double().numpy()  # [S, L*F]
    return np.hstack([flat, np.ones((len(ends), 1))])


def fit_coefficients(data) -> np.ndarray:
    """Least-squares coefficients ``[L*F + 1, steps]`` on the training windows' scaled targets.

    Normal equations with a whisper of ridge (1e-8 of the mean diagonal): the system is only L*F + 1 wide, so this
    is many times faster than an SVD of every training row, and stays solvable when inputs repeat.
    """
    ends = data.split_ends["train"]
    if len(ends) > MAX_FIT_WINDOWS:
        ends = ends[np.linspace(0, len(ends) - 1, MAX_FIT_WINDOWS).astype(int)]
    rows = design(data, ends)
    gram = rows.T @ rows  # [P, P]
    gram += 1e-8 * np.trace(gram) / len(gram) * np.eye(len(gram))
    targets = np.asarray(data.target[ends], dtype=np.float64).reshape(len(ends), -1)  # [S, steps], scaled
    return np.linalg.solve(gram, rows.T @ targets)


def fit(data, options: FitOptions) -> Predictor:
    coef = fit_coefficients(data)
    return lambda ends: data.unscale(design(data, ends) @ coef, ends)  # [S, P] @ [P, steps]


BASELINE = Baseline("linear_ar", ALL_TARGETS, fit)
