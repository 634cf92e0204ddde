"""What a run predicts: one object per target (``TargetKind``) and the registry that finds it by its ``Target``."""

from __future__ import annotations

from lstm_core.targets.answer import Answer
from lstm_core.targets.base import Series, Target, TargetKind, realized_vol
from lstm_core.targets.log_return import LogReturn
from lstm_core.targets.price import Price
from lstm_core.targets.volatility import Volatility

TARGETS: dict[Target, TargetKind] = {kind.id: kind for kind in (Volatility(), LogReturn(), Price(), Answer())}
PRICE_TARGETS = frozenset(target for target, kind in TARGETS.items() if kind.column == "Close")


def target_of(target: Target | str) -> TargetKind:
    """The ``TargetKind`` of ``target``."""
    return TARGETS[Target(target)]


__all__ = ["PRICE_TARGETS", "TARGETS", "Series", "Target", "TargetKind", "realized_vol", "target_of"]
