"""A generic training loop with early stopping, best-weight restore, a NaN guard and callbacks; it never draws."""

from __future__ import annotations

import copy
import math
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

import torch
from torch import nn

from lstm_core.config import RunConfig
from lstm_core.limits import EVAL_BATCH_MAX, eval_chunk_samples
from lstm_core.model import Forecaster, build_model
from lstm_core.pipeline import Prepared

EVAL_BATCH = EVAL_BATCH_MAX  # the most samples one evaluation chunk holds; fewer where the model is large
EPOCH0_TRAIN_WINDOWS = 1024  # windows that score the untrained model's training loss (epoch 0)


class StopReason(StrEnum):
    """Why a training run ended; each has a sentence ``reason_<value>`` in the translation table."""

    COMPLETED = "completed"  # every epoch ran
    EARLY_STOPPED = "early_stopped"  # validation loss stopped improving for ``patience`` epochs
    STOPPED = "stopped"  # the user asked (or left)
    DIVERGED = "diverged"  # the loss became NaN or infinite
    TIME_LIMIT = "time_limit"  # the job ran out of its wall-time budget


@dataclass
class EpochRecord:
    epoch: int  # 0 is the untrained model, scored before the first step; training epochs count from 1
    train_loss: float
    val_loss: float
    seconds: float  # training and validation
    samples_per_s: float  # training samples per second of the training phase alone


@dataclass
class TrainResult:
    model: Forecaster  # best weights restored
    initial_state: dict[str, torch.Tensor]
    history: list[EpochRecord]
    best_epoch: int  # 0 when no epoch beat the untrained model (its weights are then the ones kept)
    best_val_loss: float
    stop_reason: StopReason
    seconds: float
    batch_losses: list[float] = field(default_factory=list)


def make_optimizer(model: nn.Module, config: RunConfig) -> torch.optim.Optimizer:
    params = model.parameters()
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)
    if config.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    return torch.optim.SGD(params, lr=config.lr, momentum=0.9, weight_decay=config.weight_decay)


def resolve_device(device: str | None = None) -> torch.device:
    """``"auto"``/None: CUDA when available, else the CPU; otherwise the named device."""
    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def eval_chunk_for(model: nn.Module, window: int, eval_mb: float | None = None) -> int:
    """Samples per evaluation chunk for ``model`` on windows of ``window`` steps, within ``eval_mb`` of activations."""
    rnn = getattr(model, "rnn", None)
    if not isinstance(rnn, nn.RNNBase):
        return EVAL_BATCH
    return eval_chunk_samples(window, rnn.hidden_size, rnn.num_layers, eval_mb)


@torch.inference_mode()
def predict(model: nn.Module, x: torch.Tensor, chunk: int | None = None) -> torch.Tensor:
    """Model outputs for ``x [S, T, F]`` in evaluation mode, on the CPU: ``[S]``.

    ``chunk`` samples at a time; by default as many as fit the evaluation memory budget (lstm_core.limits),
    since a large model's activations for 2048 windows at once can take gigabytes.
    """
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    chunk = chunk or eval_chunk_for(model, x.shape[1] if x.ndim == 3 else 1)
    chunks = [model(x[k : k + chunk].to(device)).cpu() for k in range(0, len(x), chunk)]
    model.train(was_training)
    return torch.cat(chunks) if chunks else torch.empty(0)


class Trainer:
    """Fits a Forecaster on prepared data; report progress with ``add_callback(event, fn)``.

    Events: ``on_batch_end`` and ``on_epoch_end``; each callback receives the trainer and reads its
    attributes (``epoch``, ``batch``, ``n_batches``, ``batch_loss``, ``history``, ...). ``stop_event``
    (anything with ``is_set()``: a threading or multiprocessing Event) set from elsewhere ends training within
    one batch; so does ``max_seconds`` of wall time (reason TIME_LIMIT). Either way the best weights are kept.
    ``eval_chunk``: samples per evaluation chunk (default: sized to the evaluation memory budget).
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
        self.batch_losses: list[float] = []

    def add_callback(self, event: str, fn: Callable[[Trainer], None]) -> None:
        self.callbacks[event].append(fn)

    def _fire(self, event: str) -> None:
        for fn in self.callbacks[event]:
            fn(self)

    def _out_of_time(self, started: float) -> bool:
        return self.max_seconds is not None and time.perf_counter() - started > self.max_seconds

    def fit(self) -> TrainResult:
        cfg = self.config
        torch.manual_seed(cfg.seed)
        generator = torch.Generator().manual_seed(cfg.seed)
        model = build_model(cfg)
        initial_state = copy.deepcopy(model.state_dict())
        model.to(self.device)
        best_state = copy.deepcopy(model.state_dict())
        optimizer = make_optimizer(model, cfg)
        loss_fn = nn.MSELoss()
        x_train, y_train = (t.to(self.device) for t in self.prepared.tensors("train"))  # [S, T, F], [S]
        x_val, y_val = self.prepared.tensors("val")
        n_train = len(x_train)
        self.n_batches = math.ceil(n_train / cfg.batch)
        reason = StopReason.COMPLETED
        started = time.perf_counter()
        # epoch 0: the untrained model's losses, so a chart of learning starts where learning starts
        best_val = loss_fn(predict(model, x_val, self.eval_chunk), y_val).item()
        # the training loss of an untrained model is flat across windows: evenly spaced ones estimate it well, and
        # the first batch is not kept waiting for a forward pass over all of them
        spread = torch.linspace(0, n_train - 1, min(n_train, EPOCH0_TRAIN_WINDOWS), device=x_train.device).long()
        train_loss = loss_fn(predict(model, x_train[spread], self.eval_chunk), y_train[spread].cpu()).item()
        self.history.append(EpochRecord(0, train_loss, best_val, time.perf_counter() - started, math.nan))
        best_epoch, stale = 0, 0
        self._fire("on_epoch_end")
        if not math.isfinite(best_val):
            best_val = math.inf

        for epoch in range(1, cfg.epochs + 1):
            if self._out_of_time(started):
                reason = StopReason.TIME_LIMIT
                break
            self.epoch = epoch
            model.train()
            epoch_start = time.perf_counter()
            order = torch.randperm(n_train, generator=generator).to(self.device)
            loss_sum = 0.0
            for self.batch, start in enumerate(range(0, n_train, cfg.batch), start=1):
                idx = order[start : start + cfg.batch]
                xb, yb = x_train[idx], y_train[idx]  # [B, T, F], [B]
                optimizer.zero_grad(set_to_none=True)
                loss = loss_fn(model(xb), yb)
                loss.backward()
                if cfg.clip_grad > 0:
                    nn.utils.clip_grad_norm_(model.parameters(), cfg.clip_grad, foreach=True)
                optimizer.step()
                self.batch_loss = loss.item()
                if not math.isfinite(self.batch_loss):
                    reason = StopReason.DIVERGED
                    break
                loss_sum += self.batch_loss * len(idx)
                self.samples_seen += len(idx)
                self.batch_losses.append(self.batch_loss)
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
            val_loss = loss_fn(predict(model, x_val, self.eval_chunk), y_val).item()
            seconds = time.perf_counter() - epoch_start
            self.history.append(EpochRecord(epoch, loss_sum / n_train, val_loss, seconds, n_train / train_seconds))
            if not math.isfinite(val_loss):
                reason = StopReason.DIVERGED
                break
            if val_loss < best_val:
                best_val, best_epoch, stale = val_loss, epoch, 0
                best_state = copy.deepcopy(model.state_dict())
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

        model.load_state_dict(best_state)
        model.to("cpu").eval()  # the rest of the app (scores, gates, bundles) works on the CPU
        return TrainResult(
            model=model,
            initial_state=initial_state,
            history=self.history,
            best_epoch=best_epoch,
            best_val_loss=best_val,
            stop_reason=reason,
            seconds=time.perf_counter() - started,
            batch_losses=self.batch_losses,
        )
