"""Units you can search (LSTMVis, Strobelt et al. 2018): where else do the same units fire in the same pattern?

Pick units and a stretch of one window where they are "on" (an array of theirs past a threshold); every other stretch
of the same length in the test period is scored by the overlap of its on/off pattern with the picked one (on-cells
in common over on-cells in either, so a stretch where more units fire, or fewer, scores less), and the best ones that
do not overlap each other are returned. On a memory task, the input gate of the unit that latches the marker is on at
the marker alone: its search returns the other sequences' marker steps.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lstm_core.errors import LabError
from lstm_core.gates.trace import CELL_SIGMOIDS

BOUNDED = frozenset(gate for gates in CELL_SIGMOIDS.values() for gate in gates)  # every cell's gates in (0, 1)

DEFAULT_THRESHOLD = 0.5
MAX_MATCHES = 10


@dataclass(frozen=True)
class Match:
    """One stretch found: which window (or sequence) of the batch, where in it, and how well it overlaps."""

    window: int  # index in the searched batch
    start: int  # its first step inside that window
    row: int  # that step's row in the data (windows of prices overlap: a row is the same day in each)
    score: float  # overlap of on-cells, 0..1 (1: the same units on at the same steps)


def on_cells(values: np.ndarray, array: str, threshold: float) -> np.ndarray:
    """Where an array counts as "on": a gate above ``threshold``, a signed array (g, c, h) beyond it either way."""
    return values > threshold if array in BOUNDED else np.abs(values) > threshold


def search_units(values: np.ndarray, units: Sequence[int], window: int, start: int, stop: int, *, array: str = "h",
                 threshold: float = DEFAULT_THRESHOLD, first_rows: np.ndarray | None = None,
                 top: int = MAX_MATCHES, one_per_window: bool = False) -> list[Match]:
    """The ``top`` stretches most like steps ``start..stop`` of window ``window`` in units ``units``.

    ``values`` ``[B, T, H]`` is one array of a layer over a batch of windows; ``first_rows`` ``[B]`` the data row of
    each window's first step (default: windows laid end to end, as a task's sequences are). The picked stretch itself
    and any stretch sharing a row with one already returned are left out (``one_per_window``: also any other stretch
    of a window already matched, and of the picked window). LabError when the picked units are never on in the picked
    stretch.
    """
    values = np.asarray(values)
    n_windows, steps, hidden = values.shape
    units = np.asarray(sorted({int(u) for u in units}), dtype=int)
    if not len(units) or units.min() < 0 or units.max() >= hidden:
        raise LabError("err_gates_bad_unit", unit=", ".join(map(str, units)), last=hidden - 1)
    if not (0 <= window < n_windows and 0 <= start <= stop < steps):
        raise ValueError(f"the stretch {start}..{stop} of window {window} is outside the {n_windows} x {steps} batch")
    if first_rows is None:
        first_rows = np.arange(n_windows) * steps
    first_rows = np.asarray(first_rows, dtype=np.int64)
    on = on_cells(values[:, :, units], array, threshold)  # [B, T, K]
    length = stop - start + 1
    pattern = on[window, start : stop + 1]  # [w, K]
    if not pattern.any():
        raise LabError("err_search_nothing_on", threshold=threshold)
    places = steps - length + 1  # candidate starts per window
    common = np.zeros((n_windows, places), dtype=np.int64)  # on-cells shared with the pattern, per candidate
    for dt in range(length):  # [B, n, K] & [K] summed over units, one offset of the stretch at a time
        common += (on[:, dt : dt + places, :] & pattern[dt]).sum(axis=2)
    per_step = np.concatenate([np.zeros((n_windows, 1), dtype=np.int64), np.cumsum(on.sum(axis=2), axis=1)], axis=1)
    candidate_on = per_step[:, length:] - per_step[:, :places]  # [B, n] on-cells in each candidate
    union = pattern.sum() + candidate_on - common
    score = common / union  # union >= the pattern's on-cells > 0
    rows = first_rows[:, None] + np.arange(places)[None, :]  # [B, n] each candidate's first row
    query_row = int(first_rows[window] + start)
    taken = [(query_row, query_row + length)]  # row ranges already covered: the query's, then each match's
    order = np.lexsort((rows.ravel(), -score.ravel()))  # best first, earlier rows first among equals
    matches: list[Match] = []
    for flat in order:
        if len(matches) >= top or score.flat[flat] <= 0:
            break
        row = int(rows.flat[flat])
        if any(row < end and begin < row + length for begin, end in taken):
            continue
        b, s = divmod(int(flat), places)
        if one_per_window and (b == window or any(m.window == b for m in matches)):
            continue
        matches.append(Match(b, s, row, float(score.flat[flat])))
        taken.append((row, row + length))
    return matches


def all_tied(matches: Sequence[Match], top: int = MAX_MATCHES) -> bool:
    """Whether the search filled its ``top`` places with stretches of one score: a pattern so simple (one unit on at
    one step) that it recurs all over the test period, and the ranking singles nothing out."""
    return len(matches) >= top and matches[0].score == matches[-1].score


def holds_event(matches: Sequence[Match], events: np.ndarray, length: int) -> list[bool]:
    """Whether each match's stretch of ``length`` steps holds an event step (``events`` ``[B, T]``: a task's markers
    or resets): on a memory task, the claim that the search returned marker steps."""
    return [bool(np.asarray(events)[m.window, m.start : m.start + length].any()) for m in matches]
