"""Tests of lstm_core.trainer: learning, reproducibility, early stopping, stop, NaN guard, callbacks."""

import math
import threading

import numpy as np
import pytest
import torch

from lstm_core.model import build_model, predict
from lstm_core.pipeline import Prepared
from lstm_core.trainer import Trainer
from tests.helpers import TINY, tiny_frame


def test_loss_falls_on_a_learnable_series():
    cfg = TINY.with_(target="price", features=("close",), epochs=15, lr=5e-3)
    result = Trainer(cfg, Prepared(tiny_frame(), cfg)).fit()
    assert result.history[-1].train_loss < 0.5 * result.history[0].train_loss
    assert result.best_val_loss == min(h.val_loss for h in result.history)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_same_seed_same_losses(cell):
    cfg = TINY.with_(cell=cell)
    prepared = Prepared(tiny_frame(), cfg)
    a, b = Trainer(cfg, prepared).fit(), Trainer(cfg, prepared).fit()
    assert [h.train_loss for h in a.history] == [h.train_loss for h in b.history]
    assert [h.val_loss for h in a.history] == [h.val_loss for h in b.history]
    c = Trainer(cfg.with_(seed=2), prepared).fit()
    assert [h.train_loss for h in c.history] != [h.train_loss for h in a.history]


def test_best_weights_are_restored():
    cfg = TINY.with_(epochs=6, lr=0.05)  # a high rate makes validation loss bounce
    prepared = Prepared(tiny_frame(), cfg)
    result = Trainer(cfg, prepared).fit()
    x, y = prepared.tensors("val")
    restored = torch.nn.functional.mse_loss(predict(result.model, x), y).item()
    assert restored == pytest.approx(result.best_val_loss, rel=1e-5)
    assert result.best_epoch == result.history[int(np.argmin([h.val_loss for h in result.history]))].epoch


def test_early_stopping_after_patience():
    cfg = TINY.with_(epochs=50, patience=2, lr=0.05)
    result = Trainer(cfg, Prepared(tiny_frame(), cfg)).fit()
    assert result.stop_reason == "early_stopped"
    assert len(result.history) == result.best_epoch + 3  # epoch 0, then best, then `patience` worse ones


def test_stop_event_ends_within_one_batch_and_keeps_best():
    cfg = TINY.with_(epochs=20, batch=8)
    prepared = Prepared(tiny_frame(), cfg)
    stop = threading.Event()
    trainer = Trainer(cfg, prepared, stop)
    seen = []

    def on_batch(t):
        seen.append((t.epoch, t.batch))
        if t.epoch == 2 and t.batch == 3:
            stop.set()

    trainer.add_callback("on_batch_end", on_batch)
    result = trainer.fit()
    assert result.stop_reason == "stopped"
    assert seen[-1] == (2, 3)  # no batch ran after the one during which Stop was pressed
    assert [h.epoch for h in result.history] == [0, 1] and result.best_epoch == 1  # epoch 2 was partial: not scored


def test_nan_loss_stops_with_best_weights_kept(monkeypatch):
    cfg = TINY.with_(target="price", features=("close",), epochs=5)  # a sine's level: epoch 1 beats the untrained model
    prepared = Prepared(tiny_frame(), cfg)
    held = {}
    original = prepared.tensors

    def tensors(split):  # keep a handle on the training targets the trainer will read
        x, y = original(split)
        held[split] = y
        return x, y

    monkeypatch.setattr(prepared, "tensors", tensors)
    trainer = Trainer(cfg, prepared)

    def poison(t):  # once epoch 1 is done, every training target becomes NaN
        if t.epoch == 1 and t.batch == t.n_batches:
            held["train"][:] = math.nan

    trainer.add_callback("on_batch_end", poison)
    result = trainer.fit()
    assert result.stop_reason == "diverged"
    assert [h.epoch for h in result.history] == [0, 1] and result.best_epoch == 1
    x, y = original("val")
    kept = torch.nn.functional.mse_loss(predict(result.model, x), y).item()
    assert math.isfinite(kept) and kept == pytest.approx(result.best_val_loss, rel=1e-5)


def test_callbacks_report_progress():
    cfg = TINY.with_(epochs=2)
    prepared = Prepared(tiny_frame(), cfg)
    trainer = Trainer(cfg, prepared)
    events = []
    trainer.add_callback("on_batch_end", lambda t: events.append(("batch", t.epoch, t.batch)))
    trainer.add_callback("on_epoch_end", lambda t: events.append(("epoch", t.epoch, len(t.history))))
    trainer.fit()
    n_batches = math.ceil(prepared.n_samples("train") / cfg.batch)
    assert events[0] == ("epoch", 0, 1)  # the untrained model is scored before the first batch
    assert events.count(("epoch", 1, 2)) == 1 and events.count(("epoch", 2, 3)) == 1
    assert sum(e[0] == "batch" for e in events) == 2 * n_batches
    assert events[n_batches + 1] == ("epoch", 1, 2)


def test_epoch_zero_is_the_untrained_model():
    cfg = TINY.with_(epochs=3)
    prepared = Prepared(tiny_frame(), cfg)
    result = Trainer(cfg, prepared).fit()
    untrained = build_model(cfg).eval()
    for split, loss in (("train", result.history[0].train_loss), ("val", result.history[0].val_loss)):
        x, y = prepared.tensors(split)
        assert loss == pytest.approx(torch.nn.functional.mse_loss(predict(untrained, x), y).item(), rel=1e-6)
    assert result.history[0].epoch == 0 and math.isnan(result.history[0].samples_per_s)
    assert [h.epoch for h in result.history] == [0, 1, 2, 3]
