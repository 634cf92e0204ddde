"""The forecaster: a stacked nn.LSTM (or nn.GRU or a plain nn.RNN, for comparison) and a linear head on the last hidden state."""

from __future__ import annotations

import torch
from torch import nn

from lstm_core.config import Cell, RunConfig

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
