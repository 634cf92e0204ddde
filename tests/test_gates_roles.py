"""The roles units play on a memory task and the search for units that fire alike, on hand-made traces whose answers
are known to the last digit."""

from __future__ import annotations

import time

import numpy as np
import pytest

from lstm_core.errors import LabError
from lstm_core.features import Feature
from lstm_core.gates import (
    ARRAYS,
    GateTrace,
    Role,
    UnitOrder,
    all_tied,
    correlation,
    order_units,
    read_task_units,
    search_units,
    unit_stats,
)
from lstm_core.i18n import TABLE, t


def hand_made(events: np.ndarray, answers: np.ndarray, hidden: int = 3) -> GateTrace:
    """A batch trace ``[B, T, H]``: unit 0 writes at the events and holds, unit 1's last cell is the answer,
    unit 2's input gate is always half open and its forget gate always 0.5."""
    b, steps = events.shape
    arrays = {name: np.full((b, steps, hidden), 0.5, dtype=np.float32) for name in ARRAYS}
    after = (np.cumsum(events, axis=1) >= 1) & ~events
    arrays["i"][..., 0] = np.where(events, 0.95, 0.05)
    arrays["f"][..., 0] = np.where(after, 0.98, 0.6)
    arrays["c"][:, -1, 1] = answers
    arrays["c"][:, -1, 0] = np.linspace(-1, 1, b)[::-1]  # uncorrelated with the answers below
    return GateTrace(({name: arrays[name] for name in ARRAYS},), batched=True)


EVENTS = np.zeros((6, 5), dtype=bool)
EVENTS[np.arange(6), [0, 1, 2, 3, 0, 1]] = True
ANSWERS = np.array([0.3, -0.2, 0.9, 0.1, -0.7, 0.5])


def test_unit_numbers_on_a_hand_made_trace():
    stats = unit_stats(hand_made(EVENTS, ANSWERS), EVENTS, ANSWERS)
    np.testing.assert_allclose(stats.input_at_event, [0.95, 0.5, 0.5], atol=1e-6)
    np.testing.assert_allclose(stats.input_elsewhere, [0.05, 0.5, 0.5], atol=1e-6)
    np.testing.assert_allclose(stats.input_contrast, [0.9, 0.0, 0.0], atol=1e-6)
    # held: the steps after each sequence's marker, (4 + 3 + 2 + 1 + 4 + 3) of them, all at 0.98 for unit 0
    np.testing.assert_allclose(stats.forget_held, [0.98, 0.5, 0.5], atol=1e-6)
    assert stats.answer_r[1] == pytest.approx(1.0) and stats.answer_r[2] == 0.0
    assert stats.answer_r[0] == pytest.approx(correlation(np.linspace(-1, 1, 6)[::-1, None], ANSWERS)[0])


def test_the_latch_and_the_carrier_are_found_and_said():
    reading = read_task_units(hand_made(EVENTS, ANSWERS), EVENTS, ANSWERS, Feature.MARKER)
    latch, carrier = reading.finding(Role.LATCH), reading.finding(Role.CARRIER)
    assert (latch.unit, latch.found, carrier.unit, carrier.found) == (0, True, 1, True)
    assert latch.numbers == pytest.approx({"at": 0.95, "elsewhere": 0.05, "held": 0.98}, abs=1e-6)
    assert reading.finding(Role.RESET) is None
    claims = dict(reading.claims())
    assert claims["gates_role_latch"] == {"unit": 0, "at": "0.95", "elsewhere": "0.05", "held": "0.98"}
    assert claims["gates_role_carrier"]["unit"] == 1 and claims["gates_role_carrier"]["r"] == "1.00"
    assert "gates_role_same_unit" not in claims
    text = t("gates_role_latch", "en", **claims["gates_role_latch"])
    assert "0.95" in text and "0.05" in text and "0.98" in text and "Unit 0" in text
    # the units found in a role lead the task order, the latch after the carrier
    trace = hand_made(EVENTS, ANSWERS)
    assert order_units(trace, UnitOrder.TASK, task_scores=reading.unit_scores()).tolist() == [1, 0, 2]


def test_a_gate_that_opens_but_does_not_hold_is_no_latch():
    trace = hand_made(EVENTS, ANSWERS)
    trace.layers[0]["f"][..., 0] = 0.7  # writes at the marker, then lets it leak away
    reading = read_task_units(trace, EVENTS, ANSWERS)
    latch = reading.finding(Role.LATCH)
    assert (latch.unit, latch.found) == (0, False) and latch.numbers["held"] == pytest.approx(0.7)
    assert dict(reading.claims())["gates_role_latch_none"]["held"] == "0.70"


def test_one_unit_in_both_roles_is_said_once_more():
    trace = hand_made(EVENTS, ANSWERS)
    trace.layers[0]["c"][:, -1, 0] = ANSWERS * 2  # the latch holds the value itself
    trace.layers[0]["c"][:, -1, 1] = 0.0
    claims = dict(read_task_units(trace, EVENTS, ANSWERS).claims())
    assert claims["gates_role_same_unit"] == {"unit": 0}


def test_a_reset_unit_drops_its_forget_gate_at_the_reset():
    trace = hand_made(EVENTS, ANSWERS)
    trace.layers[0]["f"][..., 2] = np.where(EVENTS, 0.1, 0.97)
    reading = read_task_units(trace, EVENTS, ANSWERS, Feature.RESET)
    reset = reading.finding(Role.RESET)
    assert (reset.unit, reset.found) == (2, True)
    assert reset.numbers == pytest.approx({"at": 0.1, "elsewhere": 0.97}, abs=1e-6)
    assert reading.finding(Role.LATCH) is None


def test_readings_need_a_batch_with_events_and_other_steps():
    trace = hand_made(EVENTS, ANSWERS)
    with pytest.raises(ValueError):
        unit_stats(trace.sample(0), EVENTS[:1], ANSWERS[:1])
    with pytest.raises(ValueError):
        unit_stats(trace, np.zeros_like(EVENTS), ANSWERS)
    with pytest.raises(ValueError):
        unit_stats(trace, EVENTS[:, :4], ANSWERS)


def test_every_role_has_its_sentences_in_both_languages():
    for role in Role:
        for key in (f"gates_role_{role}", f"gates_role_{role}_none"):
            assert key in TABLE["en"] and key in TABLE["zh"], key


# ---------------------------------------------------------------- the search


def on_off(pattern: str) -> np.ndarray:
    """``"..##."`` -> values 0 and 1 along one unit's steps."""
    return np.array([1.0 if c == "#" else 0.0 for c in pattern])


def test_search_finds_the_same_on_off_pattern_and_ranks_by_overlap():
    # 4 sequences of 10 steps, 2 units; the query: unit 0 off then on (steps 2..3 of sequence 0)
    values = np.zeros((4, 10, 2))
    values[0, :, 0] = on_off("...##.....")
    values[1, :, 0] = on_off("......##..")  # the same onset, later: a perfect match
    values[2, :, 0] = on_off("#########.")  # on, but already on before: half the pattern
    values[3, :, 0] = on_off(".#........")  # the same onset at the start
    values[3, :, 1] = on_off("#.........")  # unit 1 is not searched: it changes nothing
    matches = search_units(values, [0], window=0, start=2, stop=3, array="h", threshold=0.5)
    assert [(m.window, m.start, m.row, m.score) for m in matches[:2]] == [(1, 5, 15, 1.0), (3, 0, 30, 1.0)]
    # then stretches of sequence 2 with both steps on (1 on-cell shared of 2), each row once
    assert [(m.window, m.row, m.score) for m in matches[2:]] == [(2, 20, 0.5), (2, 22, 0.5), (2, 24, 0.5), (2, 26, 0.5)]
    # the query's own stretch is never returned, and no two matches share a row
    rows = [(m.row, m.row + 2) for m in matches]
    assert (2, 4) not in rows
    assert all(a_end <= b or b_end <= a for i, (a, a_end) in enumerate(rows) for b, b_end in rows[i + 1 :])
    assert [m.score for m in matches] == sorted((m.score for m in matches), reverse=True)


def test_search_with_two_units_counts_extra_units_against_a_match():
    values = np.zeros((3, 6, 2))
    values[0, 1, :] = 1.0  # the query: both units on at step 1
    values[1, 4, 0] = 1.0  # one of the two: 1 / 2
    values[2, 2, :] = 1.0  # both: 1
    matches = search_units(values, [0, 1], window=0, start=1, stop=1)
    assert [(m.window, m.start, m.score) for m in matches[:2]] == [(2, 2, 1.0), (1, 4, 0.5)]


def test_a_search_whose_places_all_tie_is_said_to_single_nothing_out():
    values = np.zeros((12, 5, 1))
    values[:, 2, 0] = 1.0  # one unit on at one step of every window: the pattern recurs everywhere
    matches = search_units(values, [0], window=0, start=2, stop=2)
    assert len(matches) == 10 and {m.score for m in matches} == {1.0} and all_tied(matches)
    values[5:, 1:4, 0] = 1.0  # most windows now on three steps in a row: below the exact ones, over three steps
    assert not all_tied(search_units(values, [0], window=0, start=1, stop=3))
    assert not all_tied(matches[:4])  # a few that tie are an answer, not a crowd


def test_gates_count_as_on_above_the_threshold_and_states_either_way():
    values = np.zeros((2, 4, 1))
    values[0, 1, 0] = -0.8
    values[1, 2, 0] = 0.8
    assert search_units(values, [0], 0, 1, 1, array="c")[0].window == 1  # c: -0.8 and 0.8 both on
    with pytest.raises(LabError) as err:
        search_units(values, [0], 0, 1, 1, array="i")  # a gate at -0.8 is shut
    assert err.value.key == "err_search_nothing_on" and err.value.message("zh")


def test_overlapping_price_windows_return_each_day_once():
    # 3 windows of 5 steps sliding by one row over a 7-row series: rows 0-4, 1-5, 2-6
    series = on_off("#..#..#")[:, None]
    values = np.stack([series[k : k + 5] for k in range(3)])  # [3, 5, 1]
    matches = search_units(values, [0], window=0, start=0, stop=0, first_rows=np.arange(3))
    assert sorted(m.row for m in matches) == [3, 6]  # rows 3 and 6, each once though several windows hold it


def test_bad_units_and_stretches_are_refused():
    values = np.ones((2, 5, 3))
    with pytest.raises(LabError) as err:
        search_units(values, [3], 0, 0, 1)
    assert err.value.key == "err_gates_bad_unit"
    with pytest.raises(ValueError):
        search_units(values, [0], 0, 3, 5)


def test_searching_1000_windows_takes_well_under_a_second():
    rng = np.random.default_rng(0)
    values = rng.standard_normal((1000, 100, 16)).astype(np.float32)
    search_units(values, [0, 3], 0, 10, 14)  # warm-up
    started = time.perf_counter()
    matches = search_units(values, [0, 3], 0, 10, 14)
    assert time.perf_counter() - started < 1.0
    assert len(matches) == 10
