"""What a model costs, counted from its settings alone: parameters, bytes per step of activations, multiply-adds.

One cost model for the job limits (memory estimates, evaluation chunks), for bundles (how much re-scoring an
upload may cost) and for the Learn page's parameter counts. The byte coefficients were measured (peak RSS of a
worker process, one torch thread, CPU) and are checked against a real worker by tests/test_limits.py.
"""

from __future__ import annotations

from lstm_core.config import Cell, RunConfig

MB = 2**20
EVAL_BATCH_MAX = 512  # measured: larger chunks are no faster on a CPU (2048 took 1.2x as long), only bigger
# bytes kept per (sample x time step x hidden unit) while a batch trains: gates, states and their gradients
TRAIN_BYTES_FIRST_LAYER = 64
TRAIN_BYTES_NEXT_LAYER = 32
# the same in inference mode, where only each layer's outputs and the current gates are kept
EVAL_BYTES_FIRST_LAYER = 8
EVAL_BYTES_NEXT_LAYER = 4


def recurrent_parameters(cell: Cell | str, inputs: int, hidden: int, layers: int = 1, bias_vectors: int = 2) -> int:
    """Weights of a stacked recurrent layer: blocks·H·(I + H + b) for layer 1, blocks·H·(2H + b) after it.

    ``bias_vectors`` is 2 as PyTorch stores them (b_ih and b_hh), 1 as the equations write them.
    """
    blocks = Cell(cell).gate_blocks
    return sum(blocks * hidden * ((inputs if layer == 0 else hidden) + hidden + bias_vectors) for layer in range(layers))


def n_parameters(config: RunConfig) -> int:
    """Weights of the Forecaster ``config`` builds: the recurrent layers and the linear head."""
    head = config.hidden * config.steps + config.steps
    return recurrent_parameters(config.cell, config.n_features, config.hidden, config.layers) + head


def scoring_macs(n_windows: int, config: RunConfig) -> float:
    """Multiply-adds of predicting ``n_windows`` windows: windows x steps x recurrent parameters (about one each)."""
    return float(n_windows) * config.window * recurrent_parameters(config.cell, config.n_features, config.hidden,
                                                                   config.layers)


TRAIN_MACS_PER_FORWARD = 3  # a training step: the forward pass and a backward pass of about twice its cost


def training_macs(n_samples: int, config: RunConfig) -> float:
    """Multiply-adds of training on ``n_samples`` windows (one epoch over them): about three forward passes."""
    return TRAIN_MACS_PER_FORWARD * scoring_macs(n_samples, config)


def train_bytes_per_unit(layers: int) -> int:
    return TRAIN_BYTES_FIRST_LAYER + TRAIN_BYTES_NEXT_LAYER * (layers - 1)


def eval_bytes_per_unit(layers: int) -> int:
    return EVAL_BYTES_FIRST_LAYER + EVAL_BYTES_NEXT_LAYER * (layers - 1)


def eval_chunk_samples(window: int, hidden: int, layers: int, eval_mb: float) -> int:
    """Samples per evaluation chunk so that one chunk's activations stay within ``eval_mb`` (1 to EVAL_BATCH_MAX)."""
    per_sample = window * hidden * eval_bytes_per_unit(layers)  # bytes of one sample's activations
    return int(min(EVAL_BATCH_MAX, max(1, eval_mb * MB // per_sample)))


def eval_budget_mb(max_job_mb: float) -> float:
    """Memory one evaluation chunk may take within a job's budget: a tenth of it, at least 16 MB."""
    return max(16.0, max_job_mb / 10)
