"""The inclusive range of a number that is not a RunConfig setting (a study's trials, a backtest's refits), written once.

RunConfig's own settings have their ranges in its table (``lstm_core.config``); the other numbers a page or a command
takes have theirs in a ``Bound``, in one table per concept (``tune.STUDY_BOUNDS``, ``forecast.FORECAST_BOUNDS``), read
by the widgets, the command line's flags and help, and the check.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from lstm_core.errors import LabError


@dataclass(frozen=True)
class Bound:
    """The inclusive range of one number; whole numbers unless ``is_int`` is False."""

    low: float
    high: float
    is_int: bool = True

    def check(self, name: str, value: object) -> None:
        """LabError naming ``name`` and this range unless ``value`` is a number inside it."""
        wrong_type = isinstance(value, bool) or not isinstance(value, int if self.is_int else (int, float))
        if wrong_type or not math.isfinite(value) or not self.low <= value <= self.high:
            low, high = (int(self.low), int(self.high)) if self.is_int else (f"{self.low:g}", f"{self.high:g}")
            raise LabError("err_cfg_range", name=name, value=value, low=low, high=high)

    def text(self) -> str:
        """``1 to 1000``, as help texts quote it."""
        return f"{self.low:g} to {self.high:g}"

    def widget(self) -> dict[str, int | float]:
        """``min_value`` and ``max_value`` for a number input."""
        if self.is_int:
            return {"min_value": int(self.low), "max_value": int(self.high)}
        return {"min_value": float(self.low), "max_value": float(self.high)}
