"""Walk-forward forecasts with the model fine-tuned as the test period goes on (``backtest --refit-every K``), their
cost counted before they start, and the bounds of the forecast's own numbers."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from lstm_core.bounds import Bound
from lstm_core.config import SETTINGS
from lstm_core.cost import training_macs
from lstm_core.errors import LabError
from lstm_core.model import build_model
from lstm_core.pipeline import Prepared
from lstm_core.trainer import make_optimizer, predict, train_batches

# the forecast's own numbers, each bounded once: the command line's flags and help, the Forecast page's inputs and the
# checks read them, under the names the flags use
FORECAST_BOUNDS: dict[str, Bound] = {
    "refit-every": Bound(1, 10_000),  # test origins between two refits
    "steps": Bound(SETTINGS["steps"].low, SETTINGS["steps"].high),  # forecast steps to print: the table's own range
    "period": Bound(1, 520),  # a seasonal naive baseline's period, in rows: up to two years of trading days
    "months": Bound(1, 120),  # months of history the Forecast page draws
}
# multiply-adds a backtest's refits may cost: about three minutes of one core at the ~1e10 a second measured
# (bench/forecast.py); beyond it the command says which --refit-every fits
MAX_REFIT_MACS = 2e12


def refit_origins(prepared: Prepared, refit_every: int) -> np.ndarray:
    """The test origins (sample end rows) at which the model is refitted."""
    return prepared.split_ends["test"][::refit_every]


def _known(prepared: Prepared) -> tuple[np.ndarray, int]:
    all_ends = np.sort(np.concatenate([prepared.split_ends[split] for split in ("train", "val", "test")]))
    return all_ends, prepared.config.horizon + prepared.steps - 1  # rows from a sample's end to its last target


def refit_macs(prepared: Prepared, refit_every: int, epochs: int = 1) -> float:
    """Multiply-adds of the refits of ``refit_outputs``: each trains ``epochs`` epochs on every sample known by then."""
    all_ends, last_target = _known(prepared)
    known = np.searchsorted(all_ends + last_target, refit_origins(prepared, refit_every), side="right")  # [refits]
    return training_macs(int(known.sum()) * epochs, prepared.config)


def check_refit_cost(prepared: Prepared, refit_every: int, epochs: int = 1, limit: float = MAX_REFIT_MACS) -> float:
    """The refits' multiply-adds, or LabError naming the cost, the limit and the smallest ``refit_every`` within it."""
    FORECAST_BOUNDS["refit-every"].check("refit-every", refit_every)
    cost = refit_macs(prepared, refit_every, epochs)
    if cost > limit:
        fits = next((k for k in _doubling(refit_every) if refit_macs(prepared, k, epochs) <= limit), None)
        raise LabError("err_forecast_refit_cost", gmac=f"{cost / 1e9:,.0f}", limit=f"{limit / 1e9:,.0f}",
                       k=fits if fits is not None else "–")
    return cost


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
