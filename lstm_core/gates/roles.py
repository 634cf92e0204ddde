"""What each unit of a network trained on a memory task does, measured on the task's test sequences.

A memory task's answer is known, so the article's story (the input gate writes, the forget gate keeps, the cell
holds) can be checked unit by unit: a *latch* opens its input gate at the marker and shuts it elsewhere, then keeps
its forget gate near 1 until the read-out; a *carrier* holds the answer in its cell (its last cell state follows
the answer); a *reset* unit drops its forget gate at the count task's reset marker. Every number here is a mean
over the test sequences; ``TaskReading.claims`` turns them into the page's sentences, one function, tested.

A GRU has one gate for both jobs: its update gate z keeps the state where it is near 1 and writes the candidate over
it where it is near 0, so its *write* gate is 1 - z and its *keep* gate z, and its hidden state h is what it holds.
A plain RNN has no gate: only a carrier can be looked for in its hidden state.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from lstm_core.config import Cell
from lstm_core.features import Feature
from lstm_core.gates.trace import GateTrace
from lstm_core.pipeline import Prepared

OPENS_BY = 0.3  # an input gate that opens at the marker: at least this much higher there than elsewhere
HOLDS_AT = 0.9  # a forget gate that holds: at least this on average from the marker to the read-out
CARRIES_AT = 0.9  # a cell that carries the answer: |r| of its last value with the answer at least this
DROPS_BY = 0.3  # a forget gate that clears at a reset: at least this much lower there than elsewhere


class Role(StrEnum):
    """A job a unit can be seen doing on a memory task; each has its sentences (``gates_role_<value>...``)."""

    LATCH = "latch"  # writes at the marker (input gate open there, shut elsewhere) and then holds (forget gate ~1)
    CARRIER = "carrier"  # its cell at the last step follows the answer
    RESET = "reset"  # its forget gate drops at the reset marker: it forgets on cue


@dataclass(frozen=True)
class UnitStats:
    """Per unit of one layer, ``[H]`` each, over every step of every test sequence."""

    input_at_event: np.ndarray  # mean input gate at the event steps (marker or reset)
    input_elsewhere: np.ndarray  # ... at every other step
    forget_at_event: np.ndarray
    forget_elsewhere: np.ndarray
    forget_held: np.ndarray  # mean forget gate on the steps after a sequence's first event, up to the read-out
    answer_r: np.ndarray  # Pearson r of the last cell state with the answer (0 for a unit that never moves)

    @property
    def input_contrast(self) -> np.ndarray:
        return self.input_at_event - self.input_elsewhere

    @property
    def forget_drop(self) -> np.ndarray:
        return self.forget_elsewhere - self.forget_at_event


@dataclass(frozen=True)
class Finding:
    """The unit that best plays ``role``, whether it passes the role's thresholds, and the numbers that say so."""

    role: Role
    unit: int
    found: bool
    numbers: dict[str, float]


@dataclass(frozen=True)
class TaskReading:
    """What the units of one layer do on a task's test sequences: per-unit numbers and the roles they play."""

    event: Feature  # the channel whose 1s are the events: MARKER (write) or RESET (forget)
    stats: UnitStats
    findings: tuple[Finding, ...]  # one per role this task has, the carrier first
    sequences: int
    cell: Cell = Cell.LSTM  # whose gates the numbers are: a GRU's findings give its update gate z itself

    def finding(self, role: Role) -> Finding | None:
        return next((f for f in self.findings if f.role is role), None)

    def unit_scores(self) -> np.ndarray:
        """Per unit, how closely it is tied to the task (larger first): the units found in a role, then |r|: ``[H]``."""
        scores = np.abs(self.stats.answer_r).astype(np.float64)
        for rank, finding in enumerate(self.findings):
            if finding.found:
                scores[finding.unit] = max(scores[finding.unit], 3.0 - rank / len(self.findings))
        return scores

    def claims(self) -> list[tuple[str, dict[str, object]]]:
        """The page's sentences about the units, as (translation key, params): each role found, or that none is."""
        said = []
        suffix = "" if self.cell == Cell.LSTM else f"_{self.cell}"  # a GRU's sentences name its update gate
        for f in self.findings:
            key = f"gates_role_{f.role}{suffix}" if f.found else f"gates_role_{f.role}_none{suffix}"
            said.append((key, {"unit": f.unit, **{k: f"{v:.2f}" for k, v in f.numbers.items()}}))
        latch, carrier = self.finding(Role.LATCH), self.finding(Role.CARRIER)
        if latch and carrier and latch.found and carrier.found and latch.unit == carrier.unit:
            said.append(("gates_role_same_unit", {"unit": latch.unit}))
        return said


def unit_stats(trace: GateTrace, events: np.ndarray, answers: np.ndarray, layer: int = 0) -> UnitStats:
    """The numbers of every unit of ``layer`` over a batch of whole sequences.

    ``trace`` is batched (``[B, T, H]`` per array), ``events`` ``[B, T]`` marks the event steps (True where the
    marker or reset channel is 1) and ``answers`` ``[B]`` holds each sequence's answer.
    """
    if not trace.batched:
        raise ValueError("a task reading needs a batch of whole sequences")
    arrays = trace.layer(layer)
    events = np.asarray(events, dtype=bool)
    if events.shape != arrays["h"].shape[:2] or np.shape(answers) != (trace.batch,):
        raise ValueError("events must be [B, T] and answers [B], like the trace's sequences")
    if not events.any() or events.all():
        raise ValueError("the sequences need event steps and other steps to compare")
    # after a sequence's first event, up to and including its last step: what a latch must hold through
    seen = np.cumsum(events, axis=1)  # events so far, this step's included
    held = (seen >= 1) & ~(events & (seen == 1))  # not the first event's own step
    i, f, memory = _role_arrays(trace, arrays)  # [B, T, H] each: what writes, what keeps, what holds
    if i is None:  # no gates: the carrier alone
        zero = np.zeros(trace.hidden)
        return UnitStats(zero, zero, zero, zero, zero, correlation(memory[:, -1, :], np.asarray(answers, dtype=np.float64)))
    return UnitStats(
        input_at_event=i[events].mean(axis=0), input_elsewhere=i[~events].mean(axis=0),
        forget_at_event=f[events].mean(axis=0), forget_elsewhere=f[~events].mean(axis=0),
        forget_held=f[held].mean(axis=0) if held.any() else np.zeros(trace.hidden),
        answer_r=correlation(memory[:, -1, :], np.asarray(answers, dtype=np.float64)),
    )


def _role_arrays(trace: GateTrace, arrays: dict[str, np.ndarray]) -> tuple[np.ndarray | None, np.ndarray | None,
                                                                           np.ndarray]:
    """(write gate, keep gate, memory) of a cell: an LSTM's i, f and c; a GRU's 1 - z, z and h; a plain RNN's h alone."""
    if trace.cell == Cell.GRU:
        return 1.0 - arrays["z"], arrays["z"], arrays["h"]
    if trace.cell == Cell.RNN:
        return None, None, arrays["h"]
    return arrays["i"], arrays["f"], arrays["c"]


def correlation(values: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Pearson r of each column of ``values`` ``[B, H]`` with ``target`` ``[B]``; 0 where either never moves: ``[H]``."""
    v = np.asarray(values, dtype=np.float64)
    v = v - v.mean(axis=0)
    y = target - target.mean()
    norm = np.sqrt((v**2).sum(axis=0) * (y**2).sum())
    return np.divide(y @ v, norm, out=np.zeros(v.shape[1]), where=norm > 1e-12)


def read_task_units(trace: GateTrace, events: np.ndarray, answers: np.ndarray, event: Feature = Feature.MARKER,
                    layer: int = 0) -> TaskReading:
    """The roles the units of ``layer`` play on these sequences: always a carrier, and a latch for a marker task or a
    reset unit for a count (see ``unit_stats`` for the shapes)."""
    stats = unit_stats(trace, events, answers, layer)
    r = np.abs(stats.answer_r)
    carrier = int(np.argmax(r))
    findings = [Finding(Role.CARRIER, carrier, bool(r[carrier] >= CARRIES_AT), {"r": float(stats.answer_r[carrier])})]
    if trace.cell == Cell.RNN:  # no gate to read
        return TaskReading(event, stats, tuple(findings), trace.batch, trace.cell)
    # a GRU's sentences give its update gate z (keep = z, write = 1 - z)
    said = (lambda write: 1.0 - write) if trace.cell == Cell.GRU else (lambda write: write)
    if event == Feature.RESET:
        unit = int(np.argmax(stats.forget_drop))
        findings.append(Finding(Role.RESET, unit, bool(stats.forget_drop[unit] >= DROPS_BY), {
            "at": float(stats.forget_at_event[unit]), "elsewhere": float(stats.forget_elsewhere[unit])}))
    else:
        opens = stats.input_contrast >= OPENS_BY
        # among the units whose input gate opens at the marker, the one that holds best; else the most contrasted
        unit = int(np.argmax(np.where(opens, stats.forget_held, -np.inf))) if opens.any() else int(np.argmax(stats.input_contrast))
        passes = bool(opens[unit] and stats.forget_held[unit] >= HOLDS_AT)
        findings.append(Finding(Role.LATCH, unit, passes, {
            "at": float(said(stats.input_at_event[unit])), "elsewhere": float(said(stats.input_elsewhere[unit])),
            "held": float(stats.forget_held[unit])}))
    return TaskReading(event, stats, tuple(findings), trace.batch, trace.cell)


EVENT_CHANNELS = (Feature.MARKER, Feature.RESET)  # the channels whose 1s are a task's events, the first one read


def task_sequences(prepared: Prepared, split: str = "test") -> tuple[np.ndarray, np.ndarray, np.ndarray, Feature] | None:
    """A task split's sequences as the model reads them ``[B, T, F]``, their event steps ``[B, T]``, their answers
    ``[B]`` and the event channel; None when the model does not read a marker or reset channel."""
    features = prepared.config.features
    event = next((f for f in EVENT_CHANNELS if f in features), None)
    if event is None or prepared.answer is None:
        return None
    x, _ = prepared.tensors(split)  # [B, T, F] scaled
    raw = prepared.feature_scaler.inverse(x.numpy().astype(np.float64))  # [B, T, F] the channels as drawn
    events = raw[..., features.index(event)] > 0.5  # 0 or 1 in the data
    return x.numpy(), events, prepared.answer[prepared.split_ends[split]], event
