"""RunConfig: the one frozen description of a run (data window, model, training) that everything shares."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from lstm_core.errors import LabError

TARGETS = ("price", "logret")
FEATURES = ("close", "open", "high", "low", "volume", "logret")
CELLS = ("lstm", "gru")
OPTIMIZERS = ("adam", "adamw", "sgd")


@dataclass(frozen=True)
class RunConfig:
    """Every setting of one training run; widgets, trainer, saved bundle and CLI all read this."""

    # data
    target: str = "logret"  # "price": next price level; "logret": log(price[t+h] / price[t])
    features: tuple[str, ...] = ("logret",)
    window: int = 60  # input days per sample
    horizon: int = 1  # days ahead to predict
    train_frac: float = 0.7
    val_frac: float = 0.15  # the rest is the held-out test period
    # model
    cell: str = "lstm"
    hidden: int = 50
    layers: int = 1
    dropout: float = 0.0  # between stacked layers; needs layers >= 2
    # training
    optimizer: str = "adam"
    lr: float = 1e-3
    batch: int = 64
    epochs: int = 30
    patience: int = 5  # epochs without a better validation loss before stopping
    clip_grad: float = 1.0  # max gradient norm; 0 disables clipping
    weight_decay: float = 0.0
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (tuples become lists)."""
        d = asdict(self)
        d["features"] = list(self.features)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunConfig:
        """Rebuild from ``to_dict`` output, ignoring keys this version does not know."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in d.items() if k in known}
        if "features" in values:
            values["features"] = tuple(values["features"])
        return cls(**values).validated()

    def with_(self, **changes: Any) -> RunConfig:
        """A copy with some settings changed."""
        return replace(self, **changes)

    @property
    def n_features(self) -> int:
        return len(self.features)

    def validated(self) -> RunConfig:
        """Self, or LabError naming the first setting that is out of range."""
        _choice("target", self.target, TARGETS)
        _choice("cell", self.cell, CELLS)
        _choice("optimizer", self.optimizer, OPTIMIZERS)
        if not self.features:
            raise LabError("err_cfg_no_features")
        for feat in self.features:
            _choice("features", feat, FEATURES)
        if len(set(self.features)) != len(self.features):
            raise LabError("err_cfg_choice", name="features", value=",".join(self.features), choices="no repeats")
        _int_range("window", self.window, 2, 500)
        _int_range("horizon", self.horizon, 1, 60)
        _int_range("hidden", self.hidden, 1, 512)
        _int_range("layers", self.layers, 1, 4)
        _int_range("batch", self.batch, 1, 4096)
        _int_range("epochs", self.epochs, 1, 1000)
        _int_range("patience", self.patience, 1, 1000)
        _int_range("seed", self.seed, 0, 2**31 - 1)
        _float_range("dropout", self.dropout, 0.0, 0.9)
        _float_range("lr", self.lr, 1e-6, 1.0)
        _float_range("clip_grad", self.clip_grad, 0.0, 1e3)
        _float_range("weight_decay", self.weight_decay, 0.0, 1.0)
        _float_range("train_frac", self.train_frac, 0.1, 0.95)
        _float_range("val_frac", self.val_frac, 0.02, 0.5)
        if self.train_frac + self.val_frac >= 0.98:
            raise LabError("err_cfg_no_test", train=self.train_frac, val=self.val_frac)
        return self


def _choice(name: str, value: object, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise LabError("err_cfg_choice", name=name, value=value, choices=", ".join(choices))


def _int_range(name: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise LabError("err_cfg_range", name=name, value=value, low=low, high=high)


def _float_range(name: str, value: object, low: float, high: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise LabError("err_cfg_range", name=name, value=value, low=low, high=high)
