"""What one job may ask for, decided before it runs: a memory estimate from its settings and data, and a wall-time limit.

The coefficients below were measured (peak RSS of a worker process, one torch thread, CPU) and are checked
against a real worker by tests/test_limits.py; bench/run.py reports the same figures for the article's model.
"""

from __future__ import annotations

from dataclasses import dataclass

from lstm_core.config import RunConfig
from lstm_core.cost import (
    MB,
    eval_budget_mb,
    eval_bytes_per_unit,
    eval_chunk_samples,
    n_parameters,
    train_bytes_per_unit,
)
from lstm_core.errors import LabError
from lstm_core.server_settings import setting, spec
from lstm_core.targets import target_of

DEFAULT_MAX_JOB_MB = spec("max_job_mb").default  # two jobs beside a ~600 MB server stay well inside a 2.7 GB host
DEFAULT_MAX_JOB_S = spec("max_job_s").default
# RSS of a fresh worker before its job: torch, numpy, pandas and lstm_core, mostly pages shared with the forkserver
WORKER_BASE_MB = 260.0
# a job adds this whatever its model: oneDNN's scratch space, the allocator's arenas, the result on its way out
TRAIN_FIXED_MB = 120.0
# weights, gradients, two Adam moments, the best and the initial copies, and the result's serialised copies
PARAM_COPIES = 8


@dataclass(frozen=True)
class JobLimits:
    """The server's limits for every job; read from the environment by ``from_env``."""

    max_job_mb: int = DEFAULT_MAX_JOB_MB  # LSTM_LAB_MAX_JOB_MB: the estimated peak memory a job may have
    max_job_s: float = DEFAULT_MAX_JOB_S  # LSTM_LAB_MAX_JOB_S: wall time after which a job stops, keeping its best weights

    @classmethod
    def from_env(cls) -> JobLimits:
        """Limits from LSTM_LAB_MAX_JOB_MB and LSTM_LAB_MAX_JOB_S (defaults where unset)."""
        return cls(
            max_job_mb=setting("max_job_mb"),
            max_job_s=setting("max_job_s"),
        )

    @property
    def eval_mb(self) -> float:
        """Memory one evaluation chunk may take: a tenth of the job's budget, at least 16 MB."""
        return eval_budget_mb(self.max_job_mb)


def eval_chunk(config: RunConfig, limits: JobLimits | None = None) -> int:
    """Samples per evaluation chunk of ``config``'s model within ``limits``' evaluation budget."""
    eval_mb = (limits or JobLimits.from_env()).eval_mb
    return eval_chunk_samples(config.window, config.hidden, config.layers, eval_mb)


@dataclass(frozen=True)
class MemoryEstimate:
    """A job's estimated peak memory (RSS of its worker) in MB, by part."""

    base_mb: float
    data_mb: float
    params_mb: float
    train_mb: float  # activations of one training batch
    eval_mb: float  # activations of one evaluation chunk

    fixed_mb: float = TRAIN_FIXED_MB

    @property
    def total_mb(self) -> float:
        # training batches and evaluation chunks never live at once: the allocator reuses one for the other
        return self.base_mb + self.data_mb + self.params_mb + self.fixed_mb + max(self.train_mb, self.eval_mb)


def memory_estimate(config: RunConfig, n_rows: int, limits: JobLimits | None = None) -> MemoryEstimate:
    """The parts of a training job's peak memory for ``config`` on ``n_rows`` rows of prices (or a task's steps)."""
    limits = limits or JobLimits.from_env()
    t, h, layers = config.window, config.hidden, config.layers
    kind = target_of(config.target)  # a task's samples are its sequences, not its rows
    n_samples = kind.sample_count(n_rows, config.window, config.horizon)
    n_train = kind.sample_count(int(n_rows * config.train_frac), config.window, config.horizon)  # the largest split
    # every split's windows as one contiguous float32 copy, plus the test windows again for the final prediction
    data_bytes = 4 * n_samples * t * config.n_features * 1.3
    batch = min(config.batch, n_train)
    chunk = min(eval_chunk(config, limits), n_train)
    return MemoryEstimate(
        base_mb=WORKER_BASE_MB,
        data_mb=data_bytes / MB,
        params_mb=PARAM_COPIES * 4 * n_parameters(config) / MB,
        train_mb=batch * t * h * train_bytes_per_unit(layers) / MB,
        eval_mb=chunk * t * h * eval_bytes_per_unit(layers) / MB,
    )


def estimate_job_mb(config: RunConfig, n_rows: int, limits: JobLimits | None = None) -> float:
    """Estimated peak memory, in MB, of a worker training ``config`` on ``n_rows`` rows of prices."""
    return memory_estimate(config, n_rows, limits).total_mb


def check_job_fits(config: RunConfig, n_rows: int, limits: JobLimits | None = None) -> MemoryEstimate:
    """The estimate, or LabError naming the budget when the job would need more memory than one job may have."""
    limits = limits or JobLimits.from_env()
    estimate = memory_estimate(config, n_rows, limits)
    if estimate.total_mb > limits.max_job_mb:
        raise LabError("err_job_memory", need_mb=f"{estimate.total_mb:,.0f}", budget_mb=f"{limits.max_job_mb:,}",
                       batch_mb=f"{estimate.train_mb:,.0f}")
    return estimate


def check_fits_here(config: RunConfig, n_rows: int) -> MemoryEstimate:
    """The command line's check: the estimate, or LabError when it is more than this machine has free now (the
    command's ``--ignore-estimate`` skips this)."""
    from lstm_core.jobs.memory import available_mb

    estimate = memory_estimate(config, n_rows)
    free_mb = available_mb()
    if free_mb is not None and estimate.total_mb > free_mb:
        raise LabError("err_cli_memory", need_mb=f"{estimate.total_mb:,.0f}", free_mb=f"{free_mb:,.0f}",
                       batch_mb=f"{estimate.train_mb:,.0f}")
    return estimate
