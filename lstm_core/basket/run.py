"""One network trained on a basket's series pooled; each series scored against its own baselines, and the basket as a
panel.

Training reads every series' training windows (each series standardised on its own training rows, every window
relative to its own level) as one shuffled set, and stops early on every series' validation windows together. The
honest rival is a baseline too: the pooled linear model, a ridge regression on the same inputs fitted on the same
pooled training windows (``POOLED_LINEAR``), so the verdict can say whether the recurrent network adds anything
beyond its inputs.

The panel compares forecasters over the basket: on each test day, the mean loss over the series that have a window
that day; the Diebold-Mariano test on those daily means (HAC over ``horizon - 1`` lags, so overlapping windows and
the series' common shocks on one day are counted once), Holm over the baselines, read by the same ``judge`` as a
single run.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch

from lstm_core.baselines import DEFAULT_OPTIONS, FitOptions
from lstm_core.baselines.linear_ar import MAX_FIT_WINDOWS, design
from lstm_core.basket.data import Basket
from lstm_core.config import RunConfig
from lstm_core.errors import LabError
from lstm_core.evaluate import (
    MODEL,
    POOLED_LINEAR,
    UNTRAINED,
    Outputs,
    Score,
    Scores,
    collect_outputs,
    equal_loss_p,
    evaluate,
    holm,
    model_outputs,
    qlike_losses,
)
from lstm_core.features import Feature
from lstm_core.i18n import Sentences
from lstm_core.judgement import Judgement, forecaster_names, judge
from lstm_core.model import Forecaster, build_model
from lstm_core.pipeline import Cutoffs, Prepared
from lstm_core.runs.record import RunRecord, new_run_id
from lstm_core.runs.run import Run
from lstm_core.runs.weights import from_bytes, to_bytes
from lstm_core.targets import Target
from lstm_core.trainer import EpochRecord, StopReason, Trainer, TrainResult

RIDGE_GRID = (1e-8, 1e-4, 1e-2, 1.0, 100.0)  # penalties, as shares of the mean diagonal, tried on validation


class PooledData:
    """The basket's series as the training loop reads one dataset: every split's windows, series after series."""

    def __init__(self, prepared: list[Prepared]) -> None:
        self.parts = prepared

    def tensors(self, split: str) -> tuple[torch.Tensor, torch.Tensor]:
        """Every series' windows of a split, one after another, copied into one tensor as each is made: the peak is
        the whole plus one series' windows, not twice the whole (the memory estimate counts the rows once)."""
        total = self.n_samples(split)
        x = y = None
        at = 0
        for p in self.parts:
            px, py = p.tensors(split)
            if x is None:
                x = torch.empty((total, *px.shape[1:]), dtype=px.dtype)
                y = torch.empty((total, *py.shape[1:]), dtype=py.dtype)
            x[at:at + len(px)], y[at:at + len(py)] = px, py
            at += len(px)
            del px, py
        return x, y

    def n_samples(self, split: str) -> int:
        return sum(p.n_samples(split) for p in self.parts)


def market_series(basket: Basket, before: pd.Timestamp) -> pd.Series:
    """The basket's market factor, by day: the mean, across the series that have a return that day, of each one's
    |daily log return| over its own mean |return| on its days before ``before`` (the first validation day: training
    days only), so that a series joining or leaving the mean does not move its level; read one day later (day t holds
    day t - 1's), so that no series learns of a move made after its own close, whatever exchange it trades on."""
    moves = []
    for k, ds in enumerate(basket.datasets):
        move = np.log(ds.frame["Close"]).diff().abs()
        scale = move[move.index < before].mean()
        if not np.isfinite(scale) or scale <= 0:  # no training day of its own: its whole span's scale
            scale = move.mean()
        moves.append((move / scale).rename(k))
    # sorted by date, or shift(1) would not be "the day before" (pandas 3 stops sorting a union of dates unasked)
    return pd.concat(moves, axis=1, sort=True).mean(axis=1, skipna=True).shift(1).fillna(1.0)


def with_market(frame: pd.DataFrame, market: pd.Series) -> pd.DataFrame:
    """``frame`` with the market factor as its Market column, on its own days (the last known value on a day the
    factor lacks)."""
    return frame.assign(Market=market.reindex(frame.index).ffill().fillna(1.0).to_numpy())


def basket_frames(basket: Basket, config: RunConfig, cutoffs: Cutoffs) -> list[pd.DataFrame]:
    """Each series' frame as the network reads it: with the market factor when its inputs take it."""
    if Feature.MARKET not in config.features:
        return [ds.frame for ds in basket.datasets]
    market = market_series(basket, cutoffs.val)
    return [with_market(ds.frame, market) for ds in basket.datasets]


def prepare_basket(basket: Basket, config: RunConfig,
                   cutoffs: Cutoffs | None = None) -> tuple[Cutoffs, list[Prepared]]:
    """Every series cut at the basket's one calendar (or at ``cutoffs``, a larger basket's); LabError naming the
    series that does not fit the settings."""
    if Target(config.target) == Target.PRICE:
        raise LabError("err_basket_price")  # prices of different series are not on one scale
    cutoffs = cutoffs or basket.cutoffs(config)
    prepared = []
    for ds, frame in zip(basket.datasets, basket_frames(basket, config, cutoffs), strict=True):
        try:
            prepared.append(Prepared(frame, config, cutoffs))
        except LabError as err:
            # the inner sentence in the reader's language too, not the English one
            raise LabError("err_basket_series", name=ds.name, error=Sentences(((err.key, err.params),))) from err
    return cutoffs, prepared


def pooled_linear(prepared: list[Prepared]) -> list[dict[str, np.ndarray]]:
    """The pooled linear model: one ridge regression on the network's own inputs over every series' training windows,
    its penalty chosen on their validation windows; each series' forecasts by split, in its own units."""

    def rows(p: Prepared, split: str, cap: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        ends = p.split_ends[split]
        if cap is not None and len(ends) > cap:
            ends = ends[np.linspace(0, len(ends) - 1, cap).astype(int)]
        return design(p, ends), np.asarray(p.target[ends], dtype=np.float64).reshape(len(ends), -1)

    cap = MAX_FIT_WINDOWS // len(prepared)
    train = [rows(p, "train", cap) for p in prepared]
    x, y = np.vstack([a for a, _ in train]), np.vstack([b for _, b in train])
    gram, moment = x.T @ x, x.T @ y
    scale = np.trace(gram) / len(gram)
    val = [rows(p, "val") for p in prepared]
    best = None
    for penalty in RIDGE_GRID:
        coef = np.linalg.solve(gram + penalty * scale * np.eye(len(gram)), moment)
        loss = float(np.mean(np.concatenate([((a @ coef) - b).ravel() ** 2 for a, b in val])))
        if best is None or loss < best[0]:
            best = (loss, coef)
    coef = best[1]
    return [{split: p.unscale(design(p, p.split_ends[split]) @ coef, p.split_ends[split])
             for split in ("val", "cal", "test")} for p in prepared]


@dataclass
class SeriesResult:
    """One series of a basket run: its data cut at the basket's calendar, its forecasts and its scores."""

    name: str
    prepared: Prepared
    outputs: Outputs
    scores: Scores
    judgement: Judgement


@dataclass(frozen=True)
class SavedBasket:
    """A basket run as plain values: its settings and calendar, each series' scores and the panel's, the training
    history, and the weights as safetensors bytes. What a worker sends back, the pages show and a bundle holds."""

    config: RunConfig
    cutoffs: Cutoffs
    summary: dict[str, object]  # each series' rows and span, the days they share (Basket.summary)
    names: tuple[str, ...]
    series: dict[str, Scores]
    test_windows: dict[str, int]
    panel: Scores
    history: tuple[EpochRecord, ...]
    best_epoch: int
    best_val_loss: float
    stop_reason: StopReason
    seconds: float
    weights: bytes
    initial: bytes
    run_id: str = field(default_factory=new_run_id)

    def judgement(self, name: str | None = None) -> Judgement:
        """What the scores of series ``name`` (the panel's when None) support saying: the one judgement every page
        reads."""
        return judge(self.panel if name is None else self.series[name], self.config.target)

    def to_json(self) -> dict[str, object]:
        """What ``train`` prints for a basket: each series' metrics and judgement as a one-series run has them, the
        panel's, and the pooled linear model's RMSE per series and over the panel."""
        cfg = self.config
        label = forecaster_names("en", cfg.target, cfg.horizon, cfg.cell)
        return {
            "config": cfg.to_dict(), "basket": self.summary, "cutoffs": self.cutoffs.to_json(),
            "best_epoch": self.best_epoch, "stop_reason": str(self.stop_reason), "seconds": round(self.seconds, 3),
            "history": [{"epoch": h.epoch, "train_loss": h.train_loss, "val_loss": h.val_loss} for h in self.history],
            "series": {name: {"test_windows": self.test_windows[name], "metrics": self.series[name].to_json(),
                              "judgement": self.judgement(name).to_json(label)} for name in self.names},
            "panel": {"metrics": self.panel.to_json(), "judgement": self.judgement().to_json(label)},
            "pooled_linear": {**{name: self.series[name][POOLED_LINEAR].rmse for name in self.names},
                              "panel": self.panel[POOLED_LINEAR].rmse,
                              # BEATS only when the network is significantly better, Holm-adjusted
                              "panel_outcome": str(self.judgement().standing(POOLED_LINEAR))},
        }


@dataclass
class BasketRun:
    """A network trained on a basket: per-series results and the panel's scores and judgement."""

    config: RunConfig
    cutoffs: Cutoffs
    series: list[SeriesResult]
    panel: Scores
    panel_judgement: Judgement
    history: tuple[EpochRecord, ...]
    best_epoch: int
    stop_reason: StopReason
    seconds: float
    model: Forecaster
    initial_state: dict[str, torch.Tensor]
    summary: dict[str, object]
    best_val_loss: float = float("nan")

    def saved(self, with_weights: bool = True) -> SavedBasket:
        """This run as plain values: what a worker returns and the pages read (no frames, no model; without
        ``with_weights``, empty weights: for its JSON alone)."""
        weights = (to_bytes(self.model.state_dict()), to_bytes(self.initial_state)) if with_weights else (b"", b"")
        return SavedBasket(self.config, self.cutoffs, self.summary, tuple(s.name for s in self.series),
                           {s.name: s.scores for s in self.series}, {s.name: s.prepared.n_samples("test") for s in self.series},
                           self.panel, self.history, self.best_epoch, self.best_val_loss, self.stop_reason, self.seconds,
                           *weights)

    def to_json(self) -> dict[str, object]:
        return self.saved(with_weights=False).to_json()


class SeriesRun(Run):
    """One series of a basket run, read as a one-series run (Gates, Forecast): the basket's network on this series
    cut at the basket's calendar, its scores and judgement those the basket run was judged by, and its forecasts beside
    the pooled linear model's (the Forecast page's backtest and walk-forward show it with the other baselines)."""

    basket_names: tuple[str, ...] = ()
    pooled: dict[str, np.ndarray] | None = None  # the pooled linear model's forecasts of this series, by split

    def outputs(self, options: FitOptions = DEFAULT_OPTIONS) -> Outputs:
        with self._lock:  # re-entrant: the run's own outputs are made under it too
            made = super().outputs(options)
            if self.pooled is not None and POOLED_LINEAR not in made.test:
                made = Outputs({split: {**forecasts, POOLED_LINEAR: self.pooled[split]}
                                for split, forecasts in made.splits.items()})
                self._outputs[options] = made
            return made


def series_runs(saved: SavedBasket, basket: Basket) -> list[SeriesRun]:
    """Every series of a basket run as a ``Run`` the one-series pages read. A series' scores are the basket run's for
    it (the pooled linear model among its baselines, in the Holm family), never scored again without it, so every page
    says the verdict the Many series page says; the pooled linear model is fitted again on the same pooled windows (the
    same forecasts it was scored by) for the Forecast page's charts."""
    config = saved.config
    frames = basket_frames(basket, config, saved.cutoffs)
    prepared = [Prepared(frame, config, saved.cutoffs) for frame in frames]
    linear = pooled_linear(prepared)
    model = build_model(config)
    expected = model.state_dict()
    weights = from_bytes(saved.weights, "weights.safetensors", expected)
    initial = from_bytes(saved.initial, "initial.safetensors", expected)
    runs = []
    for k, (name, frame, p) in enumerate(zip(saved.names, frames, prepared, strict=True)):
        model = build_model(config)
        model.load_state_dict(weights)
        record = RunRecord(config, name, saved.series[name], saved.history, saved.best_epoch, saved.best_val_loss,
                           saved.stop_reason, saved.seconds,
                           {"features": p.feature_scaler, "target": p.target_scaler}, run_id=f"{saved.run_id}-{k}")
        run = SeriesRun(record, frame, model.eval(), initial, p)
        run.basket_names, run.pooled = saved.names, linear[k]
        run.memo("scores", lambda name=name: saved.series[name])
        runs.append(run)
    return runs


def _daily_mean(losses: list[np.ndarray], days: list[pd.Index]) -> np.ndarray:
    """Each day's mean loss over the series that have a window that day, in date order: ``[D]``."""
    frame = pd.concat([pd.Series(loss, index=day) for loss, day in zip(losses, days, strict=True)])
    return frame.groupby(level=0).mean().to_numpy()


def panel_p(losses_a: list[np.ndarray], losses_b: list[np.ndarray], days: list[pd.Index], horizon: int) -> float | None:
    """Two-sided p that forecasters a and b have equal mean loss over a panel: the Diebold-Mariano test on each day's
    cross-sectional mean loss difference (series ``k`` has losses ``losses_a[k]``, ``losses_b[k]`` on ``days[k]``),
    so that series moving together on one day count as one observation, not as several."""
    return equal_loss_p(_daily_mean(losses_a, days), _daily_mean(losses_b, days), horizon)


def panel_scores(series: list[SeriesResult], config: RunConfig) -> Scores:
    """Every forecaster over the basket: RMSE and MAE over every series' test windows, RMSE over their validation
    windows, and against the model the Diebold-Mariano p of the daily mean losses, Holm-adjusted over the baselines."""
    kind = series[0].prepared.target_kind
    names = series[0].outputs.names
    h = config.horizon

    def readable(split: str, name: str) -> list[np.ndarray]:
        return [s.outputs.readable(s.prepared, split, name) for s in series]

    actual = {split: [s.prepared.actual_values(split) for s in series] for split in ("val", "test")}
    days = [s.prepared.target_dates("test") for s in series]
    tests = {name: readable("test", name) for name in names}
    squared = {name: [(f - a) ** 2 for f, a in zip(tests[name], actual["test"], strict=True)] for name in names}
    qlikes = {name: [qlike_losses(a, f) for f, a in zip(tests[name], actual["test"], strict=True)] for name in names
              if kind.scores_variance}
    rows: dict[str, dict[str, float | None]] = {}
    for name in names:
        errors = np.concatenate([f - a for f, a in zip(tests[name], actual["test"], strict=True)])
        val = np.concatenate([f - a for f, a in zip(readable("val", name), actual["val"], strict=True)])
        rows[name] = {"rmse": float(np.sqrt(np.mean(errors**2))), "mae": float(np.mean(np.abs(errors))),
                      "val_rmse": float(np.sqrt(np.mean(val**2)))}
        if kind.scores_variance:
            rows[name]["qlike"] = float(np.mean(np.concatenate(qlikes[name])))
        if name != MODEL:
            rows[name]["dm_p"] = panel_p(squared[MODEL], squared[name], days, h)
            if kind.scores_variance:
                rows[name]["qlike_p"] = panel_p(qlikes[MODEL], qlikes[name], days, h)
    baselines = [name for name in names if name not in (MODEL, UNTRAINED)]
    adjusted = holm({name: rows[name]["dm_p"] for name in baselines})
    for name in baselines:
        rows[name]["dm_p_holm"] = adjusted[name]
    reference = rows[kind.reference]["rmse"]
    rows[MODEL]["skill"] = 1 - rows[MODEL]["rmse"] / reference if reference else None
    rows[MODEL]["p_vs_persistence"] = rows[kind.reference]["dm_p"]
    return Scores({name: Score.of(row) for name, row in rows.items()})


def train_basket(basket: Basket, config: RunConfig, stop_event: threading.Event | None = None,
                 on_epoch_end: Callable[[Trainer], None] | None = None, device: str | None = None,
                 max_seconds: float | None = None, cutoffs: Cutoffs | None = None,
                 on_batch_end: Callable[[Trainer], None] | None = None,
                 on_fit_end: Callable[[Trainer], None] | None = None) -> BasketRun:
    """Train one network on the basket's series pooled, then score it per series and as a panel (at ``cutoffs``
    when given: a series left out of a basket is scored at the whole basket's calendar)."""
    cutoffs, prepared = prepare_basket(basket, config, cutoffs)
    trainer = Trainer(config, PooledData(prepared), stop_event, device, max_seconds=max_seconds)
    for event, callback in (("on_batch_end", on_batch_end), ("on_epoch_end", on_epoch_end), ("on_fit_end", on_fit_end)):
        if callback is not None:
            trainer.add_callback(event, callback)
    return score_basket(basket, cutoffs, prepared, trainer.fit())


def score_basket(basket: Basket, cutoffs: Cutoffs, prepared: list[Prepared], result: TrainResult) -> BasketRun:
    """The final evaluation of a basket fit's kept weights: each series against its own baselines (the pooled linear
    model among them) and the panel. A worker ends with it; the server calls it on the last checkpoint of a worker it
    had to kill, and on a bundle it reads."""
    config = prepared[0].config
    before = build_model(config)
    before.load_state_dict(result.initial_state)
    before.eval()
    linear = pooled_linear(prepared)
    series = []
    for ds, p, lin in zip(basket.datasets, prepared, linear, strict=True):
        outputs = collect_outputs(p, model_outputs(p, result.model), untrained=model_outputs(p, before))
        outputs = Outputs({split: {**forecasts, POOLED_LINEAR: lin[split]} for split, forecasts in outputs.splits.items()})
        scores = evaluate(p, outputs)
        series.append(SeriesResult(ds.name, p, outputs, scores, judge(scores, config.target)))
    panel = panel_scores(series, config)
    return BasketRun(config, cutoffs, series, panel, judge(panel, config.target), tuple(result.history),
                     result.best_epoch, result.stop_reason, result.seconds, result.model, result.initial_state,
                     basket.summary(), result.best_val_loss)


def ensemble(runs: list[BasketRun]) -> tuple[list[SeriesResult], Scores]:
    """The runs' networks (one basket, one calendar, several seeds) as one forecaster: on every window, each series'
    model forecast is the mean of theirs (in the target's own units, as each network forecasts it), and so is the
    network before training's; scored per series and as a panel as one run is, against the same baselines."""
    config = runs[0].config
    series = []
    for k, first in enumerate(runs[0].series):
        splits = {split: {**forecasts, **{name: np.mean([run.series[k].outputs.splits[split][name] for run in runs],
                                                        axis=0) for name in (MODEL, UNTRAINED)}}
                  for split, forecasts in first.outputs.splits.items()}
        outputs = Outputs(splits)
        scores = evaluate(first.prepared, outputs)
        series.append(SeriesResult(first.name, first.prepared, outputs, scores, judge(scores, config.target)))
    return series, panel_scores(series, config)


def score_unseen(run: BasketRun, frame: pd.DataFrame, market: pd.Series | None = None) -> Scores:
    """The basket's network on a series it never trained on, at the basket's calendar, against that series' baselines
    (the pooled linear model is left out: it too was fitted without this series); ``market``: the factor of the
    basket it trained on, for a network that reads one."""
    if Feature.MARKET in run.config.features and market is not None:
        frame = with_market(frame, market)
    p = Prepared(frame, run.config, run.cutoffs)
    untrained = build_model(run.config)
    untrained.load_state_dict(run.initial_state)
    outputs = collect_outputs(p, model_outputs(p, run.model), untrained=model_outputs(p, untrained.eval()))
    return evaluate(p, outputs)


def pooled_report(basket: Basket, config: RunConfig, seeds: list[int], leave_one_out: bool = False,
                  on_run: Callable[[str, BasketRun], None] | None = None) -> dict[str, object]:
    """The basket trained with every seed: each run's panel and per-series outcomes and RMSEs, and with
    ``leave_one_out`` each series scored by a network trained on the others (one more training per series and seed)."""
    from lstm_core.runs.report import spread

    runs = []
    for seed in seeds:
        run = train_basket(basket, config.with_(seed=seed))
        if on_run is not None:
            on_run(f"seed {seed}", run)
        runs.append(run)
    names = [name for name in runs[0].panel]
    out: dict[str, object] = {
        "config": config.to_dict(), "seeds": seeds, "basket": basket.summary(),
        "seconds": [round(run.seconds, 1) for run in runs], "best_epoch": [run.best_epoch for run in runs],
        "panel": {"outcomes": [str(run.panel_judgement.outcome) for run in runs],
                  "forecasters": {name: {"rmse": spread([run.panel[name].rmse for run in runs]),
                                         "dm_p_holm": spread([run.panel[name].dm_p_holm for run in runs])}
                                  for name in names}},
        "series": {s.name: {"outcomes": [str(run.series[k].judgement.outcome) for run in runs],
                            "strongest": [run.series[k].judgement.strongest for run in runs],
                            "rmse": {name: spread([run.series[k].scores[name].rmse for run in runs]) for name in names},
                            "skill": spread([run.series[k].scores[MODEL].skill for run in runs])}
                   for k, s in enumerate(runs[0].series)},
    }
    averaged, panel = ensemble(runs)  # the seeds' forecasts averaged: one forecaster, judged as a run is
    out["ensemble"] = {
        "panel": {"outcome": str(judge(panel, config.target).outcome),
                  "forecasters": {name: {"rmse": panel[name].rmse, "dm_p_holm": panel[name].dm_p_holm,
                                         "dm_p": panel[name].dm_p} for name in names}},
        "series": {s.name: {"outcome": str(s.judgement.outcome), "rmse": s.scores[MODEL].rmse,
                            "skill": s.scores[MODEL].skill} for s in averaged},
    }
    if leave_one_out:
        unseen = {}
        for ds in basket.datasets:
            others = Basket(tuple(d for d in basket.datasets if d is not ds))
            rmses = []
            for seed in seeds:
                run = train_basket(others, config.with_(seed=seed), cutoffs=runs[0].cutoffs)
                if on_run is not None:
                    on_run(f"without {ds.name}, seed {seed}", run)
                rmses.append(score_unseen(run, ds.frame, market_series(others, run.cutoffs.val))[MODEL].rmse)
            unseen[ds.name] = {"rmse": spread(rmses), "trained_on_it": out["series"][ds.name]["rmse"][MODEL]}
        out["leave_one_out"] = unseen
    return out
