"""What the Gates page needs to know about a kind of data, decided once: prices (windows of dated days) or a memory
task (sequences of numbered steps, whose units can be read for their roles).

The page and the unit search ask the kind (its flags, words and positions) and never branch on the data themselves;
a new kind of data is one more instance here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from lstm_core.gates.roles import task_sequences
from lstm_core.pipeline import Prepared, Window


@dataclass(frozen=True)
class GatesKind:
    """One kind of data as the Gates page shows it: translation keys, and what applies to it."""

    name: str
    caption_key: str  # the sentence under the run picker
    pick_key: str  # the window slider's label
    axis_key: str  # the x axis of a window's charts
    dated: bool  # a window's steps are days with dates (else numbered steps)
    reads_roles: bool  # units can be read for their roles on the data's own events (a task's marker or reset)
    raw_inputs: bool  # the inputs are drawn as read, before scaling (a task's channels are already small numbers)
    states_prediction: bool  # the animation's label carries the predicted value itself (a task's answer)
    one_match_per_window: bool  # a search returns at most one stretch per window (a task's sequences are independent:
    # ten steps of one sequence say less than ten sequences)
    search_array: str  # the array a unit search starts on: a task's input gate opens at its marker; prices' hidden state

    def dates(self, window: Window) -> pd.Index | None:
        """The window's dates for a chart's x axis, or None where its steps are numbered."""
        return window.dates if self.dated else None

    def step_labels(self, window: Window) -> list[str]:
        """Each step of the window as a slider names it: its date, or its number from 1."""
        return [d.strftime("%Y-%m-%d") for d in window.dates] if self.dated else [str(s + 1) for s in
                                                                                 range(len(window.x))]

    def x_values(self, window: Window) -> list[object]:
        """Each step's place on a chart's x axis."""
        return list(window.dates) if self.dated else list(range(1, len(window.x) + 1))

    def span(self, window: Window, start: int, stop: int) -> tuple[object, object]:
        """A stretch of steps as a shaded span on the x axis (half a step either side where steps are numbers)."""
        return (window.dates[start], window.dates[stop]) if self.dated else (start + 0.5, stop + 1.5)

    def first_window(self, prepared: Prepared, default: int) -> int:
        """The test window the page opens on: the last one, or a task's first sequence whose marker comes early (its
        hold to the read-out is long enough to watch)."""
        found = task_sequences(prepared) if self.reads_roles else None
        if found is None:
            return default
        early = np.flatnonzero(found[1][:, : prepared.config.window // 3].any(axis=1))
        return int(early[0]) if len(early) else default


PRICES = GatesKind("prices", caption_key="gates_run_caption", pick_key="gates_pick_window", axis_key="gates_axis_date",
                   dated=True, reads_roles=False, raw_inputs=False, states_prediction=False, one_match_per_window=False,
                   search_array="h")
TASK = GatesKind("task", caption_key="gates_task_caption", pick_key="gates_pick_sequence", axis_key="gates_axis_step",
                 dated=False, reads_roles=True, raw_inputs=True, states_prediction=True, one_match_per_window=True,
                 search_array="i")


def gates_kind(prepared: Prepared) -> GatesKind:
    """The kind of ``prepared``'s data: a memory task has an answer after each step, prices do not."""
    return TASK if prepared.answer is not None else PRICES
