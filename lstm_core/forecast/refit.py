"""Walk-forward forecasts with the model fine-tuned as the test period goes on (``backtest --refit-every K``)."""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn

from lstm_core.errors import LabError
from lstm_core.model import build_model
from lstm_core.pipeline import Prepared
from lstm_core.trainer import make_optimizer, predict, train_batches


def refit_outputs(prepared: Prepared, model: nn.Module, refit_every: int, epochs: int = 1,
                  from_scratch: bool = False) -> np.ndarray:
    """Walk-forward forecasts of the test origins with the model fine-tuned every ``refit_every`` origins, ``[S, steps]``.

    At each refit origin a copy of the model (carrying on from the previous refit's weights) trains ``epochs`` epochs
    on every sample whose targets are all known by that day, then forecasts the next ``refit_every`` origins in one
    batch. Scalers stay those of the training period, so a refit model reads its inputs as the original did.
    ``from_scratch``: each refit starts instead from fresh weights (the run's seed) and a fresh optimizer, the costly
    alternative that fine-tuning is measured against (bench/forecast.py).
    """
    if refit_every < 1:
        raise LabError("err_forecast_refit", k=refit_every)
    config = prepared.config
    model = copy.deepcopy(model)
    optimizer = make_optimizer(model, config)
    generator = torch.Generator().manual_seed(config.seed)
    all_ends = np.concatenate([prepared.split_ends[split] for split in ("train", "val", "test")])
    ends = prepared.split_ends["test"]
    last_target = config.horizon + prepared.steps - 1  # rows from a sample's end to its last target
    outputs = []
    for start in range(0, len(ends), refit_every):
        known = all_ends[all_ends + last_target <= ends[start]]  # nothing past the origin is read
        x, y = prepared.tensors_at(known)  # [S, T, F], [S] or [S, steps]
        if from_scratch:
            model = build_model(config)
            optimizer = make_optimizer(model, config)
        for _ in range(epochs):
            for _step in train_batches(model, optimizer, x, y, config, generator):
                pass
        outputs.append(predict(model, prepared.inputs_at(ends[start : start + refit_every])))
    return prepared.unscale(torch.cat(outputs).numpy(), ends)
