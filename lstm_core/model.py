"""The forecaster: a stacked nn.LSTM (or nn.GRU or a plain nn.RNN, for comparison) and a linear head on the last hidden state."""

from __future__ import annotations

import torch
from torch import nn

from lstm_core.config import Cell, RunConfig
from lstm_core.cost import EVAL_BATCH_MAX, eval_budget_mb, eval_chunk_samples
from lstm_core.server_settings import setting

RNN_CLASSES: dict[Cell, type[nn.RNNBase]] = {Cell.LSTM: nn.LSTM, Cell.GRU: nn.GRU, Cell.RNN: nn.RNN}


class Forecaster(nn.Module):
    """Maps a window of features ``[B, T, F]`` to one scaled target per sample ``[B]``, or ``[B, steps]`` for steps > 1.

    Multi-step forecasts are direct: the head reads the last hidden state once and emits every step, so no
    forecast feeds on another's error. One step keeps the single-output head, so old bundles' weights still fit.
    """

    def __init__(self, config: RunConfig) -> None:
        super().__init__()
        self.rnn = RNN_CLASSES[config.cell](
            input_size=config.n_features,
            hidden_size=config.hidden,
            num_layers=config.layers,
            dropout=config.dropout if config.layers > 1 else 0.0,
            batch_first=True,
        )
        self.steps = config.steps
        self.head = nn.Linear(config.hidden, config.steps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x)  # [B, T, F] -> [B, T, H]
        y = self.head(out[:, -1])  # [B, H] -> [B, steps]
        return y.squeeze(-1) if self.steps == 1 else y  # [B] for one step


def build_model(config: RunConfig, seed: int | None = None) -> Forecaster:
    """A freshly initialised model; the same seed always gives the same weights."""
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(config.seed if seed is None else seed)
    try:
        return Forecaster(config)
    finally:
        torch.random.set_rng_state(generator_state)


def eval_chunk_for(model: nn.Module, window: int, eval_mb: float | None = None) -> int:
    """Samples per evaluation chunk for ``model`` on windows of ``window`` steps, within ``eval_mb`` of activations."""
    rnn = getattr(model, "rnn", None)
    if not isinstance(rnn, nn.RNNBase):
        return EVAL_BATCH_MAX
    eval_mb = eval_budget_mb(setting("max_job_mb")) if eval_mb is None else eval_mb  # the server's budget
    return eval_chunk_samples(window, rnn.hidden_size, rnn.num_layers, eval_mb)


@torch.inference_mode()
def predict(model: nn.Module, x: torch.Tensor, chunk: int | None = None) -> torch.Tensor:
    """Model outputs for ``x [S, T, F]`` in evaluation mode, on the CPU: ``[S]``.

    ``chunk`` samples at a time; by default as many as fit the evaluation memory budget (lstm_core.jobs.limits),
    since a large model's activations for 2048 windows at once can take gigabytes.
    """
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    chunk = chunk or eval_chunk_for(model, x.shape[1] if x.ndim == 3 else 1)
    chunks = [model(x[k : k + chunk].to(device)).cpu() for k in range(0, len(x), chunk)]
    model.train(was_training)
    return torch.cat(chunks) if chunks else torch.empty(0)
