"""Memory tasks: synthetic sequences whose answer is known, so that what each gate does can be seen and checked.

The classic test of an LSTM since Hochreiter & Schmidhuber (1997): a value must be kept over many steps, and a
network without gates forgets it. A task's frame holds its sequences end to end, one row per step: ``Step`` (the
row's place in its sequence, 0 first), its input channels (``Value`` and ``Marker`` or ``Reset``) and ``Answer``,
the answer as it stands after that step, so the answer a sequence asks for is ``Answer`` on its last step.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import pandas as pd

from lstm_core.data.dataset import DataQuality, Dataset, Source
from lstm_core.errors import LabError
from lstm_core.features import Feature
from lstm_core.targets import Target

ROW_INDEX = "Row"  # the name of a task frame's index (a price frame's is "Date")
STEP_COLUMN = "Step"
ANSWER_COLUMN = "Answer"
DECIMALS = 3  # values are drawn on a grid of 0.001: a bundle's data.csv stays short and reads back exactly
PULSE_P = 0.3  # count: the chance of a pulse at each step
RESET_P = 0.03  # count: the chance of a reset at each step (about three in 100 steps)


def frame_columns(kind: TaskKind) -> tuple[str, ...]:
    """The columns of a task's frame, in order (its index is ``ROW_INDEX``)."""
    return (STEP_COLUMN, *(channel.column for channel in kind.channels), ANSWER_COLUMN)


class TaskKind(StrEnum):
    """Which memory task; each has its name (``task_<value>``) and its description (``task_<value>_help``)."""

    REMEMBER = "remember"  # a noisy value at every step and a marker on one: the answer is the marked value
    ADD = "add"  # the adding problem: two marked values in [0, 1], the answer is their sum
    COUNT = "count"  # pulses to count and reset markers: the answer is the count since the last reset

    @property
    def channels(self) -> tuple[Feature, ...]:
        """The input channels a sequence of this task has, in the order the model reads them."""
        return (Feature.VALUE, Feature.RESET) if self is TaskKind.COUNT else (Feature.VALUE, Feature.MARKER)


@dataclass(frozen=True)
class Bound:
    """The whole numbers one task setting may take (the Data page's inputs, the CLI and the check read it)."""

    low: int
    high: int
    default: int


TASK_BOUNDS = {
    "length": Bound(10, 500, 100),  # steps per sequence: the run's window
    "sequences": Bound(100, 20_000, 2_000),
    "seed": Bound(0, 2**31 - 1, 0),
}
MAX_TASK_ROWS = 1_000_000  # steps in all, as many rows as an uploaded CSV may have


@dataclass(frozen=True)
class TaskSpec:
    """One memory task: which, how long each sequence is, how many there are, and the seed that draws them."""

    kind: TaskKind
    length: int = TASK_BOUNDS["length"].default
    sequences: int = TASK_BOUNDS["sequences"].default
    seed: int = TASK_BOUNDS["seed"].default

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "kind", TaskKind(self.kind))
        except ValueError:
            raise LabError("err_unknown_task", kind=self.kind, choices=", ".join(TaskKind)) from None
        for name, bound in TASK_BOUNDS.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not bound.low <= value <= bound.high:
                raise LabError("err_task_bound", name=name, value=value, low=bound.low, high=bound.high)
            object.__setattr__(self, name, int(value))
        if self.rows > MAX_TASK_ROWS:
            raise LabError("err_task_too_big", rows=f"{self.rows:,}", limit=f"{MAX_TASK_ROWS:,}")

    @property
    def rows(self) -> int:
        return self.length * self.sequences

    @property
    def name(self) -> str:
        """A stable English identifier that runs are filed under."""
        return f"{self.kind} task (length {self.length}, {self.sequences} sequences, seed {self.seed})"

    @property
    def source(self) -> str:
        """The command line's ``--data`` spec that makes this very task again (``load_source`` reads it)."""
        return f"task:{self.kind}:{self.length}:{self.sequences}:{self.seed}"

    def settings(self) -> dict[str, object]:
        """The run settings this task asks for: its answer as the target, its channels, one sequence per window."""
        return {"target": Target.ANSWER, "features": self.kind.channels, "window": self.length}


def generate(spec: TaskSpec) -> pd.DataFrame:
    """The task's sequences end to end, one row per step: ``[sequences * length]`` rows, the same for the same spec."""
    rng = np.random.default_rng(spec.seed)
    n, length = spec.sequences, spec.length
    if spec.kind is TaskKind.COUNT:
        value, control, answer = _count(rng, n, length)
    else:
        marks = 2 if spec.kind is TaskKind.ADD else 1
        low = 0.0 if spec.kind is TaskKind.ADD else -1.0
        value, control, answer = _remember(rng, n, length, marks, low)
    channel = spec.kind.channels[1].column  # "Marker" or "Reset"
    frame = pd.DataFrame({
        STEP_COLUMN: np.tile(np.arange(length), n),
        Feature.VALUE.column: value.ravel(),
        channel: control.ravel(),
        ANSWER_COLUMN: np.round(answer, DECIMALS).ravel(),
    })
    frame.index.name = ROW_INDEX
    return frame


def _remember(rng: np.random.Generator, n: int, length: int, marks: int, low: float) -> tuple[np.ndarray, ...]:
    """Values drawn uniformly from [low, 1], ``marks`` distinct marked steps before the last one (every place equally
    likely); the answer after each step is the sum of the marked values seen so far. ``[n, length]`` each."""
    value = np.round(rng.uniform(low, 1.0, (n, length)), DECIMALS)
    # distinct places among the first length - 1 steps: the best `marks` of random keys, uniformly chosen sets
    places = np.argsort(rng.random((n, length - 1)), axis=1)[:, :marks]  # [n, marks]
    marker = np.zeros((n, length))
    np.put_along_axis(marker, places, 1.0, axis=1)
    answer = np.cumsum(value * marker, axis=1)
    return value, marker, answer


def _count(rng: np.random.Generator, n: int, length: int) -> tuple[np.ndarray, ...]:
    """Pulses (1) to count and resets (1) that set the count back to 0; a reset step carries no pulse. The answer
    after each step is the number of pulses since the last reset. ``[n, length]`` each."""
    reset = (rng.random((n, length)) < RESET_P).astype(np.float64)
    pulse = np.where(reset == 1, 0.0, (rng.random((n, length)) < PULSE_P).astype(np.float64))
    total = np.cumsum(pulse, axis=1)  # pulses so far
    # the count is the pulses since the last reset: subtract the total as it stood at the latest reset
    at_reset = np.where(reset == 1, total, 0.0)
    answer = total - np.maximum.accumulate(at_reset, axis=1)
    return pulse, reset, answer


def parse_task_source(text: str) -> dict[str, object]:
    """``remember`` or ``remember:100:2000:0`` (kind, then length, sequences and seed, each optional) as
    ``load_task``'s arguments; LabError for a part that is not a whole number."""
    parts = text.split(":") if text else []
    names = ("length", "sequences", "seed")
    if len(parts) > 1 + len(names):
        raise LabError("err_bad_source", spec=f"task:{text}")
    if not parts or not parts[0]:  # "task:" alone once trained remember without saying so
        raise LabError("err_task_no_kind", kinds=", ".join(str(k) for k in TaskKind))
    values: dict[str, object] = {"kind": parts[0]}
    for name, part in zip(names, parts[1:], strict=False):
        if not part.isdigit():
            raise LabError("err_task_bound", name=name, value=part, low=TASK_BOUNDS[name].low, high=TASK_BOUNDS[name].high)
        values[name] = int(part)
    return values


def load_task(kind: TaskKind | str, length: int = TASK_BOUNDS["length"].default,
              sequences: int = TASK_BOUNDS["sequences"].default, seed: int = TASK_BOUNDS["seed"].default) -> Dataset:
    """A memory task as a dataset (LabError naming a setting out of its bounds)."""
    spec = TaskSpec(kind, length, sequences, seed)
    frame = generate(spec)
    quality = DataQuality(rows=len(frame), start="0", end=str(len(frame) - 1))
    return Dataset(name=spec.name, source=Source.TASK, frame=frame, quality=quality, subject=str(spec.kind),
                   seed=spec.seed, task=spec)
