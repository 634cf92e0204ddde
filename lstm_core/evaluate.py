"""Honest scoring on the held-out test period: the model against every baseline, in the units a person reads."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields

import numpy as np
import torch
from torch import nn

from lstm_core.baselines import DEFAULT_OPTIONS, FitOptions, predict_splits
from lstm_core.model import predict
from lstm_core.pipeline import Prepared, Split

MODEL = "model"  # the network's row beside the baselines' in every table
UNTRAINED = "untrained"  # the same network with its initial weights: what it forecast before any training
POOLED_LINEAR = "pooled_linear"  # a basket's rival: one ridge regression on the network's inputs over every series


SCORED_SPLITS = ("val", "cal", "test")  # the splits every forecaster forecasts once per run


@dataclass(frozen=True, eq=False)
class Outputs:
    """Every forecaster's forecasts of the validation, calibration and test windows, in the target's own units:
    ``[S, steps]`` each, by split and then by name ("model" first, then the baselines in the registry's order).

    Made once per run (``Run.outputs``): the verdict, the intervals and the backtest all read these.
    """

    splits: dict[str, dict[str, np.ndarray]]

    @property
    def val(self) -> dict[str, np.ndarray]:
        return self.splits["val"]

    @property
    def cal(self) -> dict[str, np.ndarray]:
        return self.splits["cal"]

    @property
    def test(self) -> dict[str, np.ndarray]:
        return self.splits["test"]

    @property
    def names(self) -> list[str]:
        return list(self.test)

    @property
    def baselines(self) -> list[str]:
        """The simple methods (not the model, not the network before training)."""
        return [name for name in self.test if name not in (MODEL, UNTRAINED)]

    def readable(self, prepared: Prepared, split: str, name: str) -> np.ndarray:
        """``name``'s first-step forecasts of a split in readable units: ``[S]``."""
        raw = self.splits[split][name][:, 0]
        return prepared.target_kind.readable(raw, prepared, prepared.split_ends[split])

    def with_model_test(self, test: np.ndarray) -> Outputs:
        """The same with the model's test forecasts replaced (by refitted ones)."""
        return Outputs({**self.splits, "test": {**self.test, MODEL: test}})


ModelOutputs = dict[str, np.ndarray]  # split -> the model's forecasts, own units, [S, steps]


def model_outputs(prepared: Prepared, model: nn.Module, chunk: int | None = None) -> ModelOutputs:
    """The model's forecasts of every validation, calibration and test window, unscaled: split -> ``[S, steps]``.

    One batched forward over the three (``predict`` chunks it only to bound memory).
    """
    xs = [prepared.tensors(split)[0] for split in SCORED_SPLITS]  # [S, T, F] each
    ends = np.concatenate([prepared.split_ends[split] for split in SCORED_SPLITS])
    every = prepared.unscale(predict(model, torch.cat(xs), chunk).numpy(), ends)  # [sum S, steps]
    bounds = np.cumsum([0, *(len(x) for x in xs)])
    return {split: every[bounds[k] : bounds[k + 1]] for k, split in enumerate(SCORED_SPLITS)}


def collect_outputs(prepared: Prepared, model: ModelOutputs, options: FitOptions = DEFAULT_OPTIONS,
                    untrained: ModelOutputs | None = None) -> Outputs:
    """The model's forecasts beside every applicable baseline's (each fitted once, on training rows only), and the
    same network's before training when given (its forecasts with its initial weights, ``model_outputs``)."""
    base = predict_splits(prepared, SCORED_SPLITS, options)
    before = {split: {UNTRAINED: untrained[split]} if untrained is not None else {} for split in SCORED_SPLITS}
    return Outputs({split: {MODEL: model[split], **base[split], **before[split]} for split in SCORED_SPLITS})


@dataclass(frozen=True)
class Score:
    """One forecaster's scores on a split, in readable units; None where a score is undefined or does not apply.

    Field names are run.json's keys (``Scores.to_json``): the four accuracy scores every row has, QLIKE for a
    volatility target, the tests against the model (a baseline's and the untrained network's rows), the validation
    RMSE every row carries, and the model's own skill, test against the reference and direction base.
    """

    rmse: float
    mae: float | None = None
    mape: float | None = None  # %, None for a series that touches or crosses zero
    direction_acc: float | None = None  # %, None when no day moved on both sides
    qlike: float | None = None
    qlike_p: float | None = None
    dm_p: float | None = None  # Diebold-Mariano p that it and the model have equal mean squared error
    dm_p_holm: float | None = None  # dm_p Holm-adjusted over every baseline (baselines only)
    val_rmse: float | None = None
    skill: float | None = None  # the model's: 1 - its RMSE / the reference baseline's
    p_vs_persistence: float | None = None  # the model's: the reference's dm_p (its first name, kept in run.json)
    direction_base: float | None = None  # the model's: directional accuracy that needs no model
    # the scores that apply to this row, defined or not (a test whose variance is undefined is null, one that does
    # not apply is absent): run.json and the tables show the difference
    applies: frozenset[str] = field(default=frozenset(("rmse", "mae", "mape", "direction_acc")), repr=False)

    @classmethod
    def of(cls, row: dict[str, float | None]) -> Score:
        """The score of a row by name (evaluate's, or run.json's), every name in it applying."""
        return cls(**row, applies=frozenset(row))

    def get(self, name: str) -> float | None:
        """The score called ``name`` (a column of a table that lists scores by name); KeyError for no such score."""
        if name not in SCORE_NAMES:
            raise KeyError(name)
        return getattr(self, name)

    def to_json(self) -> dict[str, float | None]:
        """run.json's row: every score that applies or is defined; an undefined one (NaN, infinity) as null."""
        row = {name: getattr(self, name) for name in SCORE_NAMES}
        return {k: v if v is None or math.isfinite(v) else None for k, v in row.items()
                if v is not None or k in self.applies}


SCORE_NAMES = tuple(f.name for f in fields(Score) if f.name != "applies")


class Scores(dict[str, Score]):
    """Every forecaster's ``Score`` on a split by name: "model" first, then the baselines, then "untrained"."""

    def to_json(self) -> dict[str, dict[str, float | None]]:
        return {name: score.to_json() for name, score in self.items()}


def metrics(actual: np.ndarray, predicted: np.ndarray, last: np.ndarray) -> dict[str, float | None]:
    """RMSE, MAE, MAPE (%) and directional accuracy (%) of forecasts in readable units (prices or volatility).

    ``last`` is the last known value of each sample: direction is right when the forecast moves the same way
    from it as the actual value did. Days on which either stayed flat are left out (a flat day has no direction);
    directional accuracy is None when no such pair is left (persistence never moves). MAPE is None for a series
    that touches or crosses zero, where a percentage error means nothing.
    """
    actual, predicted, last = (np.asarray(a, dtype=np.float64) for a in (actual, predicted, last))
    error = predicted - actual
    predicted_move, actual_move = np.sign(predicted - last), np.sign(actual - last)
    moves = (predicted_move != 0) & (actual_move != 0)
    one_sign = bool((actual > 0).all() or (actual < 0).all())
    return {
        "rmse": float(np.sqrt(np.mean(error**2))),
        "mae": float(np.mean(np.abs(error))),
        "mape": float(100 * np.mean(np.abs(error / actual))) if one_sign else None,
        "direction_acc": float(100 * np.mean(predicted_move[moves] == actual_move[moves])) if moves.any() else None,
    }


def _betainc(a: float, b: float, x: float) -> float:
    """Regularized incomplete beta I_x(a, b) by its continued fraction (Lentz; Numerical Recipes' betacf)."""
    if x <= 0.0 or x >= 1.0:
        return 0.0 if x <= 0.0 else 1.0
    if x > (a + 1) / (a + b + 2):  # the fraction converges fast only below its mean: use the symmetry
        return 1.0 - _betainc(b, a, 1.0 - x)
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)) / a
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    f = d
    for m in range(1, 300):
        for numerator in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                          -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            f *= c * d
        if abs(c * d - 1.0) < 1e-15:
            break
    return front * f


def student_t_two_sided_p(statistic: float, df: float) -> float:
    """P(|T| >= |statistic|) for Student's t with ``df`` degrees of freedom."""
    return _betainc(df / 2, 0.5, df / (df + statistic * statistic))


def diebold_mariano_p(errors_a: np.ndarray, errors_b: np.ndarray, horizon: int = 1) -> float | None:
    """Two-sided p-value that forecasts a and b have equal mean squared error (Diebold & Mariano 1995)."""
    errors_a, errors_b = np.asarray(errors_a, dtype=np.float64), np.asarray(errors_b, dtype=np.float64)
    return equal_loss_p(errors_a**2, errors_b**2, horizon)


def equal_loss_p(losses_a: np.ndarray, losses_b: np.ndarray, horizon: int = 1) -> float | None:
    """Two-sided Diebold-Mariano p-value that two forecasts have equal mean loss, from their per-window losses.

    The variance of the loss difference uses ``horizon - 1`` autocovariances, since errors of
    overlapping h-step forecasts are correlated. The statistic carries the Harvey, Leybourne & Newbold (1997)
    small-sample correction and is read against Student's t with n - 1 degrees of freedom, without which DM
    rejects too often on short test periods and long horizons. None when the difference has no variance.
    """
    d = np.asarray(losses_a, dtype=np.float64) - np.asarray(losses_b, dtype=np.float64)
    n = len(d)
    if n < 3:
        return None
    h = min(horizon, n - 1)
    centred = d - d.mean()
    variance = centred @ centred / n
    for lag in range(1, h):
        variance += 2 * (centred[lag:] @ centred[:-lag]) / n
    correction = (n + 1 - 2 * h + h * (h - 1) / n) / n
    if not variance > 0 or not correction > 0:
        return None
    statistic = d.mean() / math.sqrt(variance / n) * math.sqrt(correction)
    return student_t_two_sided_p(statistic, n - 1)


def holm(p_values: dict[str, float | None]) -> dict[str, float | None]:
    """Holm-Bonferroni adjusted p-values over the defined ones (an undefined p stays undefined and is not counted):
    the i-th smallest of m is multiplied by m - i + 1, then made monotone and capped at 1."""
    defined = sorted((p, name) for name, p in p_values.items() if p is not None)
    m, adjusted, running = len(defined), {}, 0.0
    for i, (p, name) in enumerate(defined):
        running = max(running, min(1.0, (m - i) * p))
        adjusted[name] = running
    return {name: adjusted.get(name) for name in p_values}


def qlike(actual: np.ndarray, predicted: np.ndarray) -> float:
    """QLIKE of volatility forecasts: the mean of ``a/f - log(a/f) - 1`` over variances ``a = actual^2``, ``f =
    predicted^2`` (Patton 2011): robust to noise in the realized measure, and harsher on forecasts that are too low."""
    return float(np.mean(qlike_losses(actual, predicted)))


def qlike_losses(actual: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """Each window's QLIKE loss (see ``qlike``)."""
    ratio = (np.asarray(actual, dtype=np.float64) / np.asarray(predicted, dtype=np.float64)) ** 2
    return ratio - np.log(ratio) - 1


def majority_share(actual: np.ndarray, last: np.ndarray) -> float | None:
    """The share (%) of the more common direction among the actual moves: what always guessing it would score."""
    moves = np.sign(np.asarray(actual, dtype=np.float64) - np.asarray(last, dtype=np.float64))
    moves = moves[moves != 0]
    return float(100 * max(np.mean(moves > 0), np.mean(moves < 0))) if len(moves) else None


def evaluate(prepared: Prepared, outputs: Outputs, split: str = "test") -> Scores:
    """Metrics of the model, every baseline and the network before training on a split (first step, readable units).

    Each row but the model's carries ``dm_p``, the Diebold-Mariano p-value (HLN-corrected, h - 1 autocovariances) that
    the model and it have equal mean squared error, and for a volatility target ``qlike_p``, the same test on QLIKE
    losses; each baseline's also ``dm_p_holm``, that p Holm-adjusted over every baseline (the network before training
    is not one of them: it is the judgement's own gate, lstm_core.judgement). Every row carries ``val_rmse``, its RMSE
    on the validation period, where the judgement names the strongest baseline before reading the test. The model's row carries its ``skill`` against the target's reference
    baseline (``TargetKind.reference``: persistence for prices and volatility, the training mean for a memory task),
    ``p_vs_persistence`` (the same test against the reference; the key keeps its first name, so bundles and the command
    line's JSON read as before) and ``direction_base``, the directional accuracy that needs no model (the majority
    direction's share, or for some targets a baseline's score).
    """
    kind, h = prepared.target_kind, prepared.config.horizon
    actual = prepared.actual_values(split)
    forecasts = {name: outputs.readable(prepared, split, name) for name in outputs.names}
    reference = prepared.target_kind.reference
    last = forecasts[reference]  # persistence's forecast is the last known value; directions are read from it
    table = {name: metrics(actual, forecast, last) for name, forecast in forecasts.items()}
    model_errors = forecasts[MODEL] - actual
    model_qlike = qlike_losses(actual, forecasts[MODEL]) if kind.scores_variance else None
    for name, forecast in forecasts.items():
        if model_qlike is not None:
            losses = qlike_losses(actual, forecast)
            table[name]["qlike"] = float(np.mean(losses))
            if name != MODEL:
                table[name]["qlike_p"] = equal_loss_p(model_qlike, losses, h)
        if name != MODEL:
            table[name]["dm_p"] = diebold_mariano_p(model_errors, forecast - actual, h)
    adjusted = holm({name: table[name]["dm_p"] for name in outputs.baselines})
    for name in outputs.baselines:
        table[name]["dm_p_holm"] = adjusted[name]
    if split != Split.VAL:
        val_actual = prepared.actual_values("val")
        for name in outputs.names:
            table[name]["val_rmse"] = float(np.sqrt(np.mean((outputs.readable(prepared, "val", name) - val_actual) ** 2)))
    reference_rmse = table[reference]["rmse"]
    skill = 1 - table[MODEL]["rmse"] / reference_rmse if reference_rmse > 0 else None
    model = table[MODEL]
    model["skill"] = skill if skill is None or math.isfinite(skill) else None
    model["p_vs_persistence"] = table[reference]["dm_p"]
    base = kind.direction_baseline
    model["direction_base"] = table[base]["direction_acc"] if base in table else majority_share(actual, last)
    return Scores({name: Score.of(row) for name, row in table.items()})
