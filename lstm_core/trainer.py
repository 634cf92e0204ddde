"""A generic training loop with early stopping, best-weight restore, a NaN guard and callbacks; it never draws."""

from __future__ import annotations

import copy
import math
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum

import torch
from torch import nn

from lstm_core.config import Optimizer, RunConfig
from lstm_core.model import Forecaster, build_model, predict
from lstm_core.pipeline import Prepared

EPOCH0_TRAIN_WINDOWS = 1024  # windows that score the untrained model's training loss (epoch 0)


class StopReason(StrEnum):
    """Why a training run ended; each has a sentence ``reason_<value>`` in the translation table."""

    COMPLETED = "completed"  # every epoch ran
    EARLY_STOPPED = "early_stopped"  # validation loss stopped improving for ``patience`` epochs
    STOPPED = "stopped"  # the user asked (or left)
    DIVERGED = "diverged"  # the loss became NaN or infinite
    TIME_LIMIT = "time_limit"  # the job ran out of its wall-time budget
    WORKER_LOST = "worker_lost"  # its worker was killed or lost mid-training; the server kept its last best weights


@dataclass(frozen=True)
class EpochRecord:
    epoch: int  # 0 is the untrained model, scored before the first step; training epochs count from 1
    train_loss: float
    val_loss: float
    seconds: float  # training and validation
    samples_per_s: float  # training samples per second of the training phase alone


@dataclass(frozen=True)
class TrainTick:
    """Where training is: the one progress message, from the trainer's callbacks to the worker's pipe to the page."""

    epoch: int
    batch: int
    n_batches: int
    samples: int  # training samples seen so far
    train_seconds: float  # wall time since the first training batch began (validation passes included)
    losses: tuple[float, ...]  # batch losses since the previous tick
    history: tuple[EpochRecord, ...] | None = None  # every epoch so far, when it grew
    # what the run's final evaluation (every validation and test window) should take, from the last validation pass
    # timed on this host under its current load: the server waits in proportion before it kills a job past its limit
    eval_seconds: float | None = None


@dataclass
class TrainResult:
    model: Forecaster  # best weights restored
    initial_state: dict[str, torch.Tensor]
    history: list[EpochRecord]
    best_epoch: int  # 0 when no epoch beat the untrained model (its weights are then the ones kept)
    best_val_loss: float
    stop_reason: StopReason
    seconds: float


_OPTIMIZERS: dict[Optimizer, Callable[..., torch.optim.Optimizer]] = {
    Optimizer.ADAM: torch.optim.Adam,
    Optimizer.ADAMW: torch.optim.AdamW,
    Optimizer.SGD: lambda params, **kw: torch.optim.SGD(params, momentum=0.9, **kw),
}


def make_optimizer(model: nn.Module, config: RunConfig) -> torch.optim.Optimizer:
    return _OPTIMIZERS[config.optimizer](model.parameters(), lr=config.lr, weight_decay=config.weight_decay)


def train_batches(model: nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor,
                  config: RunConfig, generator: torch.Generator) -> Iterator[tuple[int, float]]:
    """One shuffled pass over ``x [S, T, F]``, ``y [S]``: an optimizer step per batch, yielding (samples, loss) after each.

    The caller may stop between batches; the Trainer does, to keep its promise of stopping within one batch.
    """
    loss_fn = nn.MSELoss()
    order = torch.randperm(len(x), generator=generator).to(x.device)
    model.train()
    for start in range(0, len(x), config.batch):
        idx = order[start : start + config.batch]
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(x[idx]), y[idx])  # [B, T, F] -> [B]
        loss.backward()
        if config.clip_grad > 0:
            nn.utils.clip_grad_norm_(model.parameters(), config.clip_grad, foreach=True)
        optimizer.step()
        yield len(idx), loss.item()


def resolve_device(device: str | None = None) -> torch.device:
    """``"auto"``/None: CUDA when available, else the CPU; otherwise the named device."""
    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


class Trainer:
    """Fits a Forecaster on prepared data; report progress with ``add_callback(event, fn)``.

    Events: ``on_batch_end``, ``on_epoch_end`` and ``on_fit_end`` (training is over, the best weights chosen, the
    final evaluation not yet begun); each callback receives the trainer and reads its attributes (``epoch``,
    ``batch``, ``n_batches``, ``batch_loss``, ``history``, ``best_epoch``, ``best_state``, ...). ``stop_event``
    (anything with ``is_set()``: a threading or multiprocessing Event) set from elsewhere ends training within
    one batch; so does ``max_seconds`` of wall time (reason TIME_LIMIT). Either way the best weights are kept.
    ``eval_chunk``: samples per evaluation chunk, which the caller sizes to its memory budget (default: the
    server's evaluation budget, as ``lstm_core.model.predict`` sizes it).
    """

    def __init__(
        self,
        config: RunConfig,
        prepared: Prepared,
        stop_event: threading.Event | None = None,
        device: str | None = None,
        max_seconds: float | None = None,
        eval_chunk: int | None = None,
    ) -> None:
        self.config = config
        self.max_seconds = max_seconds
        self.eval_chunk = eval_chunk
        self.device = resolve_device(device)
        self.prepared = prepared
        self.stop_event = stop_event or threading.Event()
        self.callbacks: dict[str, list[Callable[[Trainer], None]]] = defaultdict(list)
        self.epoch = 0
        self.batch = 0
        self.n_batches = 0
        self.batch_loss = math.nan
        self.samples_seen = 0
        self.history: list[EpochRecord] = []
        self.training_since: float | None = None  # when epoch 0 was scored and the first batch began
        self.initial_state: dict[str, torch.Tensor] = {}
        self.best_state: dict[str, torch.Tensor] = {}  # on the CPU: the weights that will be kept, so far
        self.best_epoch = 0
        self.best_val_loss = math.inf
        self.stop_reason = StopReason.COMPLETED
        self.eval_seconds: float | None = None  # estimated final evaluation time, from the last validation pass

    def add_callback(self, event: str, fn: Callable[[Trainer], None]) -> None:
        self.callbacks[event].append(fn)

    def _fire(self, event: str) -> None:
        for fn in self.callbacks[event]:
            fn(self)

    def tick(self, losses: tuple[float, ...] = (), with_history: bool = False) -> TrainTick:
        """A progress message of where training is now."""
        now = time.perf_counter()
        return TrainTick(
            epoch=self.epoch, batch=self.batch, n_batches=self.n_batches, samples=self.samples_seen,
            train_seconds=now - (self.training_since or now), losses=losses,
            history=tuple(self.history) if with_history else None, eval_seconds=self.eval_seconds,
        )

    def _validate(self, model: nn.Module, x_val: torch.Tensor, y_val: torch.Tensor) -> float:
        """The validation loss, timed: the final evaluation scores these windows and the test ones the same way."""
        began = time.perf_counter()
        loss = nn.functional.mse_loss(predict(model, x_val, self.eval_chunk), y_val).item()
        per_window = (time.perf_counter() - began) / max(len(x_val), 1)
        self.eval_seconds = per_window * (len(x_val) + self.prepared.n_samples("test"))
        return loss

    def _keep_best(self, model: nn.Module, epoch: int, val_loss: float) -> None:
        self.best_epoch, self.best_val_loss = epoch, val_loss
        self.best_state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}

    def _out_of_time(self, started: float) -> bool:
        return self.max_seconds is not None and time.perf_counter() - started > self.max_seconds

    def fit(self) -> TrainResult:
        cfg = self.config
        torch.manual_seed(cfg.seed)
        generator = torch.Generator().manual_seed(cfg.seed)
        model = build_model(cfg)
        initial_state = copy.deepcopy(model.state_dict())
        self.initial_state = initial_state
        model.to(self.device)
        optimizer = make_optimizer(model, cfg)
        loss_fn = nn.MSELoss()  # the validation score; training steps use train_batches
        x_train, y_train = (t.to(self.device) for t in self.prepared.tensors("train"))  # [S, T, F], [S]
        x_val, y_val = self.prepared.tensors("val")
        n_train = len(x_train)
        self.n_batches = math.ceil(n_train / cfg.batch)
        reason = StopReason.COMPLETED
        started = time.perf_counter()
        # epoch 0: the untrained model's losses, so a chart of learning starts where learning starts
        best_val = self._validate(model, x_val, y_val)
        # the training loss of an untrained model is flat across windows: evenly spaced ones estimate it well, and
        # the first batch is not kept waiting for a forward pass over all of them
        spread = torch.linspace(0, n_train - 1, min(n_train, EPOCH0_TRAIN_WINDOWS), device=x_train.device).long()
        train_loss = loss_fn(predict(model, x_train[spread], self.eval_chunk), y_train[spread].cpu()).item()
        self.history.append(EpochRecord(0, train_loss, best_val, time.perf_counter() - started, math.nan))
        if not math.isfinite(best_val):
            best_val = math.inf
        self._keep_best(model, 0, best_val)
        stale = 0
        self.training_since = time.perf_counter()
        self._fire("on_epoch_end")

        for epoch in range(1, cfg.epochs + 1):
            if self._out_of_time(started):
                reason = StopReason.TIME_LIMIT
                break
            self.epoch = epoch
            epoch_start = time.perf_counter()
            loss_sum = 0.0
            steps = train_batches(model, optimizer, x_train, y_train, cfg, generator)
            for self.batch, (size, self.batch_loss) in enumerate(steps, start=1):
                if not math.isfinite(self.batch_loss):
                    reason = StopReason.DIVERGED
                    break
                loss_sum += self.batch_loss * size
                self.samples_seen += size
                self._fire("on_batch_end")
                if self.stop_event.is_set():
                    reason = StopReason.STOPPED
                    break
                if self._out_of_time(started):
                    reason = StopReason.TIME_LIMIT
                    break
            interrupted = reason in (StopReason.STOPPED, StopReason.TIME_LIMIT) and self.batch < self.n_batches
            if reason == StopReason.DIVERGED or interrupted:
                break  # a partial epoch gets no validation score
            train_seconds = time.perf_counter() - epoch_start
            val_loss = self._validate(model, x_val, y_val)
            seconds = time.perf_counter() - epoch_start
            self.history.append(EpochRecord(epoch, loss_sum / n_train, val_loss, seconds, n_train / train_seconds))
            if not math.isfinite(val_loss):
                reason = StopReason.DIVERGED
                break
            if val_loss < self.best_val_loss:
                self._keep_best(model, epoch, val_loss)
                stale = 0
            else:
                stale += 1
            self._fire("on_epoch_end")
            if reason == StopReason.TIME_LIMIT:
                break
            if reason == StopReason.STOPPED or self.stop_event.is_set():
                reason = StopReason.STOPPED
                break
            if stale >= cfg.patience:
                reason = StopReason.EARLY_STOPPED
                break

        model.to("cpu").eval()  # the rest of the app (scores, gates, bundles) works on the CPU
        model.load_state_dict(self.best_state)
        self.stop_reason = reason
        self._fire("on_fit_end")
        return TrainResult(
            model=model,
            initial_state=initial_state,
            history=self.history,
            best_epoch=self.best_epoch,
            best_val_loss=self.best_val_loss,
            stop_reason=reason,
            seconds=time.perf_counter() - started,
        )
