"""Walk-forward forecasts with the model fine-tuned as the test period goes on (``backtest --refit-every K``), their
time estimated before they start, and the bounds of the forecast's own numbers.

The estimate is measured, not assumed: a refit's cost is mostly fixed costs per batch (an optimizer step on a small
batch costs far more than its multiply-adds say) and the windows it copies, so a probe times this machine's own
training step, window copy and forecast on the run's model, and each refit is priced from the samples it will see.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from lstm_core.bounds import Bound
from lstm_core.config import SETTINGS
from lstm_core.cost import training_macs
from lstm_core.errors import LabError
from lstm_core.model import build_model, predict
from lstm_core.pipeline import Prepared
from lstm_core.trainer import make_optimizer, train_batches

# the forecast's own numbers, each bounded once: the command line's flags and help, the Forecast page's inputs and the
# checks read them, under the names the flags use
FORECAST_BOUNDS: dict[str, Bound] = {
    "refit-every": Bound(1, 10_000),  # test origins between two refits
    "steps": Bound(SETTINGS["steps"].low, SETTINGS["steps"].high),  # forecast steps to print: the table's own range
    "period": Bound(1, 520),  # a seasonal naive baseline's period, in rows: up to two years of trading days
    "months": Bound(1, 120),  # months of history the Forecast page draws
}
# seconds a backtest's refits may take, as estimated on this machine before they start: beyond it the command says
# which --refit-every fits (``--ignore-estimate`` runs it anyway)
MAX_REFIT_S = 180.0
PROBE_BATCHES = 4  # training steps timed by the probe (after one untimed step: the first allocates)


def refit_origins(prepared: Prepared, refit_every: int) -> np.ndarray:
    """The test origins (sample end rows) at which the model is refitted."""
    return prepared.split_ends["test"][::refit_every]


def _known(prepared: Prepared) -> tuple[np.ndarray, int]:
    all_ends = np.sort(np.concatenate([prepared.split_ends[split] for split in ("train", "val", "test")]))
    return all_ends, prepared.config.horizon + prepared.steps - 1  # rows from a sample's end to its last target


def refit_macs(prepared: Prepared, refit_every: int, epochs: int = 1) -> float:
    """Multiply-adds of the refits of ``refit_outputs``: each trains ``epochs`` epochs on every sample known by then."""
    return training_macs(int(_known_counts(prepared, refit_every).sum()) * epochs, prepared.config)


def _known_counts(prepared: Prepared, refit_every: int) -> np.ndarray:
    """How many samples each refit trains on: those whose targets are all known at its origin. ``[refits]``"""
    all_ends, last_target = _known(prepared)
    return np.searchsorted(all_ends + last_target, refit_origins(prepared, refit_every), side="right")


@dataclass(frozen=True)
class RefitCost:
    """What a refit's parts take on this machine, timed on the run's own model (``probe_refit_cost``)."""

    copy_s_per_sample: float  # building a refit's training windows
    step_s: float  # one optimizer step on a batch of the run's size
    forecast_s_per_window: float
    fixed_s: float  # per refit: copying the model's state, the shuffle, the calls around them

    def per_refit(self, prepared: Prepared, refit_every: int, epochs: int = 1) -> np.ndarray:
        """Estimated seconds of each refit of ``refit_outputs(prepared, ..., refit_every, epochs)``. ``[refits]``"""
        known = _known_counts(prepared, refit_every).astype(float)
        steps = np.ceil(known / prepared.config.batch) * epochs
        origins = len(prepared.split_ends["test"])
        windows = np.minimum(refit_every, origins - np.arange(len(known)) * refit_every)
        return (self.fixed_s + known * self.copy_s_per_sample + steps * self.step_s
                + windows * self.forecast_s_per_window)

    def seconds(self, prepared: Prepared, refit_every: int, epochs: int = 1) -> float:
        return float(self.per_refit(prepared, refit_every, epochs).sum())


def probe_refit_cost(prepared: Prepared, model: nn.Module) -> RefitCost:
    """Time the parts of one refit on a copy of ``model``: its window copy, PROBE_BATCHES optimizer steps, a forecast
    of a batch of windows and the rest of a refit's round (a fraction of a second in all)."""
    config = prepared.config
    all_ends, last_target = _known(prepared)
    known = all_ends[all_ends + last_target <= prepared.split_ends["test"][0]]
    began = time.perf_counter()
    x, y = prepared.tensors_at(known)  # [S, T, F], [S] or [S, steps]
    copy_s = (time.perf_counter() - began) / max(len(known), 1)
    probe = copy.deepcopy(model)
    optimizer = make_optimizer(probe, config)
    generator = torch.Generator().manual_seed(config.seed)
    batch = x[: min(config.batch * (PROBE_BATCHES + 1), len(x))]
    steps = train_batches(probe, optimizer, batch, y[: len(batch)], config, generator)
    next(steps)  # the first step allocates what the others reuse
    began, timed = time.perf_counter(), 0
    for _ in steps:
        timed += 1
    step_s = (time.perf_counter() - began) / timed if timed else _one_step_s(probe, optimizer, x, y, config, generator)
    windows = prepared.inputs_at(prepared.split_ends["test"][: config.batch])
    began = time.perf_counter()
    predict(probe, windows)
    forecast_s = (time.perf_counter() - began) / max(len(windows), 1)
    began = time.perf_counter()
    copy.deepcopy(model)
    make_optimizer(probe, config)
    torch.randperm(len(known), generator=generator)
    fixed_s = time.perf_counter() - began
    return RefitCost(copy_s, step_s, forecast_s, fixed_s)


def _one_step_s(model: nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor,
                config, generator: torch.Generator) -> float:
    """A training set of one batch: time a second pass over it."""
    began = time.perf_counter()
    for _ in train_batches(model, optimizer, x[: config.batch], y[: config.batch], config, generator):
        pass
    return time.perf_counter() - began


def check_refit_cost(prepared: Prepared, refit_every: int, cost: RefitCost, epochs: int = 1,
                     limit_s: float = MAX_REFIT_S) -> float:
    """The refits' estimated seconds, or LabError naming them, the limit and the smallest ``refit_every`` within it."""
    FORECAST_BOUNDS["refit-every"].check("refit-every", refit_every)
    seconds = cost.seconds(prepared, refit_every, epochs)
    if seconds > limit_s:
        fits = next((k for k in _doubling(refit_every) if cost.seconds(prepared, k, epochs) <= limit_s), None)
        words = {"seconds": f"{seconds:,.0f}", "limit": f"{limit_s:,.0f}",
                 "refits": len(_known_counts(prepared, refit_every))}
        if fits is None:  # not even one refit over the whole test period fits: no interval to offer
            raise LabError("err_forecast_refit_time_none", **words)
        raise LabError("err_forecast_refit_time", k=fits, **words)
    return seconds


def _doubling(start: int) -> list[int]:
    """``start``'s multiples by 1.25 up to the bound: candidates for a cheaper refit interval."""
    high, k, found = int(FORECAST_BOUNDS["refit-every"].high), start, []
    while k < high:
        k = min(max(k + 1, math.ceil(k * 1.25)), high)
        found.append(k)
    return found


def refit_outputs(prepared: Prepared, model: nn.Module, refit_every: int, epochs: int = 1,
                  from_scratch: bool = False, on_refit: Callable[[int, int], None] | None = None) -> np.ndarray:
    """Walk-forward forecasts of the test origins with the model fine-tuned every ``refit_every`` origins, ``[S, steps]``.

    At each refit origin a copy of the model (carrying on from the previous refit's weights) trains ``epochs`` epochs
    on every sample whose targets are all known by that day, then forecasts the next ``refit_every`` origins in one
    batch. Scalers stay those of the training period, so a refit model reads its inputs as the original did.
    ``from_scratch``: each refit starts instead from fresh weights (the run's seed) and a fresh optimizer, the costly
    alternative that fine-tuning is measured against (bench/forecast.py). ``on_refit(done, total)`` is called after
    each refit. The cost is not checked here: ``check_refit_cost`` says beforehand what it will be.
    """
    FORECAST_BOUNDS["refit-every"].check("refit-every", refit_every)
    config = prepared.config
    model = copy.deepcopy(model)
    optimizer = make_optimizer(model, config)
    generator = torch.Generator().manual_seed(config.seed)
    all_ends, last_target = _known(prepared)
    ends = prepared.split_ends["test"]
    outputs = []
    total = math.ceil(len(ends) / refit_every)
    for done, start in enumerate(range(0, len(ends), refit_every), start=1):
        known = all_ends[all_ends + last_target <= ends[start]]  # nothing past the origin is read
        x, y = prepared.tensors_at(known)  # [S, T, F], [S] or [S, steps]
        if from_scratch:
            model = build_model(config)
            optimizer = make_optimizer(model, config)
        for _ in range(epochs):
            for _step in train_batches(model, optimizer, x, y, config, generator):
                pass
        outputs.append(predict(model, prepared.inputs_at(ends[start : start + refit_every])))
        if on_refit is not None:
            on_refit(done, total)
    return prepared.unscale(torch.cat(outputs).numpy(), ends)
