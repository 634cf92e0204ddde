"""The judgement says only what the numbers support: constructed cases where the answer is known, one per outcome and
per rule (the untrained network's gate, Holm, the strongest named on validation, direction, an undefined test, QLIKE)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from lstm_core.evaluate import Score, Scores, diebold_mariano_p, equal_loss_p, holm, metrics, qlike, qlike_losses
from lstm_core.judgement import Outcome, format_p, format_percent, judge
from lstm_core.targets import Target

N = 1500
rng = np.random.default_rng(0)
ACTUAL = rng.standard_normal(N)
VAL = rng.standard_normal(N)


def noisy(truth: np.ndarray, scale: float, seed: int) -> np.ndarray:
    return truth + scale * np.random.default_rng(seed).standard_normal(len(truth))


def table(test: dict[str, np.ndarray], val: dict[str, np.ndarray] | None = None,
          untrained: np.ndarray | None = None) -> Scores:
    """Scores as lstm_core.evaluate makes them: every row's test metrics and validation RMSE, each baseline's DM p
    against the model and its Holm-adjusted p, the untrained network's row."""
    return Scores({name: Score.of(row) for name, row in _rows(test, val, untrained).items()})


def _rows(test: dict[str, np.ndarray], val: dict[str, np.ndarray] | None = None,
          untrained: np.ndarray | None = None) -> dict[str, dict[str, float | None]]:
    forecasts = dict(test)
    if untrained is not None:
        forecasts["untrained"] = untrained
    last = np.zeros_like(ACTUAL)
    rows = {name: metrics(ACTUAL, forecast, last) for name, forecast in forecasts.items()}
    for name, forecast in forecasts.items():
        if name != "model":
            rows[name]["dm_p"] = diebold_mariano_p(forecasts["model"] - ACTUAL, forecast - ACTUAL)
    baselines = [n for n in forecasts if n not in ("model", "untrained")]
    adjusted = holm({n: rows[n]["dm_p"] for n in baselines})
    for n in baselines:
        rows[n]["dm_p_holm"] = adjusted[n]
    for name in forecasts:
        shown = (val or {}).get(name)
        rows[name]["val_rmse"] = None if shown is None else float(np.sqrt(np.mean((shown - VAL) ** 2)))
    rows["model"]["skill"] = 1 - rows["model"]["rmse"] / rows["persistence"]["rmse"] if "persistence" in rows else None
    return rows


def keys(judgement) -> list[str]:
    return [key for key, _ in judgement.claims()]


def names(judgement, key: str) -> list[str]:
    return next((params["names"] for k, params in judgement.claims() if k == key), [])


BEFORE = noisy(ACTUAL, 3.0, 99)  # the network before training: far from the answer


# ---------------------------------------------------------------- one constructed case per outcome


def test_a_significant_win_over_the_strongest_is_beats_after_holm():
    j = judge(table({"model": noisy(ACTUAL, 0.3, 1), "persistence": noisy(ACTUAL, 1.0, 2),
                     "ewma": noisy(ACTUAL, 0.8, 3)}, untrained=BEFORE), Target.LOGVOL)
    assert j.outcome == Outcome.BEATS and j.strongest == "ewma" and j.holm_family == 2
    assert keys(j)[0] == "verdict_beats" and j.claims()[0][1]["m"] == 2
    assert names(j, "verdict_also_beats") == ["persistence"]


def test_ahead_but_not_significantly_is_ties_and_behind_is_never_called_a_tie():
    model, strong = noisy(ACTUAL, 0.5, 41), noisy(ACTUAL, 0.505, 141)  # two forecasts about as good
    ahead = judge(table({"model": model, "ewma": strong, "persistence": noisy(ACTUAL, 1.0, 5)}, untrained=BEFORE),
                  Target.LOGVOL)
    assert ahead.outcome == Outcome.TIES and ahead.model_rmse < ahead.against.rmse
    assert keys(ahead)[0] == "verdict_ties"
    behind = judge(table({"model": strong, "ewma": model, "persistence": noisy(ACTUAL, 1.0, 5)}, untrained=BEFORE),
                   Target.LOGVOL)
    assert behind.outcome == Outcome.BEHIND and behind.model_rmse > behind.against.rmse
    assert not behind.against.p_holm < 0.05 and keys(behind)[0] == "verdict_behind"


def test_a_significant_loss_to_the_strongest_is_loses():
    j = judge(table({"model": noisy(ACTUAL, 0.9, 7), "persistence": noisy(ACTUAL, 1.5, 8),
                     "window_mean": noisy(ACTUAL, 0.5, 9)}, untrained=BEFORE), Target.LOGVOL)
    assert j.outcome == Outcome.LOSES and j.strongest == "window_mean"
    assert keys(j)[0] == "verdict_loses" and names(j, "verdict_beats_others") == ["persistence"]


def test_a_model_no_better_than_the_network_before_training_learned_nothing_however_good_it_looks():
    """--epochs 1 and --hidden 1 runs once said "does beat HAR, EWMA, GARCH, persistence": the per-window
    normalisation makes the untrained network a strong forecaster, and beating it is what learning means."""
    model = noisy(ACTUAL, 0.3, 10)
    untrained = model + 0.002 * np.random.default_rng(11).standard_normal(N)  # training moved it a hair
    j = judge(table({"model": model, "persistence": noisy(ACTUAL, 1.0, 12)}, untrained=untrained), Target.LOGRET)
    assert j.outcome == Outcome.LEARNED_NOTHING and not j.learned
    assert keys(j) == ["verdict_learned_nothing"]  # no "beats", no "copies"
    # kept its initial weights: the same forecasts, an undefined test, and still nothing learned
    same = judge(table({"model": model, "persistence": noisy(ACTUAL, 1.0, 12)}, untrained=model.copy()), Target.LOGRET)
    assert same.outcome == Outcome.LEARNED_NOTHING and same.untrained.p is None
    assert keys(same) == ["verdict_kept_untrained"]  # said as what it is, not as an untestable p = –
    assert "p = –" not in " ".join(same.sentences("en", str)) and "best epoch 0" in same.sentences("en", str)[0]
    # worse than before training: said the way round it is
    worse = judge(table({"model": model, "persistence": noisy(ACTUAL, 1.0, 12)}, untrained=noisy(ACTUAL, 0.2, 18)),
                  Target.LOGRET)
    assert worse.outcome == Outcome.LEARNED_NOTHING and keys(worse) == ["verdict_learned_worse"]
    # the same numbers beside a network before training that was far off: now it did learn
    assert judge(table({"model": model, "persistence": noisy(ACTUAL, 1.0, 12)}, untrained=BEFORE),
                 Target.LOGRET).outcome == Outcome.BEATS


def test_an_undefined_test_is_untestable_not_a_tie():
    """An undefined Diebold-Mariano p once read as "ties"."""
    strong = noisy(ACTUAL, 0.5, 13)
    j = judge(table({"model": strong.copy(), "ewma": strong, "persistence": noisy(ACTUAL, 1.0, 14)}, untrained=BEFORE),
              Target.LOGVOL)
    assert j.against.p is None and j.outcome == Outcome.UNTESTABLE and keys(j) == ["verdict_untestable"]


# ---------------------------------------------------------------- the rules


def test_holm_adjusts_over_the_defined_p_values_and_keeps_their_order():
    adjusted = holm({"a": 0.01, "b": 0.04, "c": 0.03, "d": None})
    assert adjusted == {"a": pytest.approx(0.03), "b": pytest.approx(0.06), "c": pytest.approx(0.06), "d": None}
    assert holm({"a": 0.6, "b": 0.5}) == {"a": pytest.approx(1.0), "b": pytest.approx(1.0)}


def test_a_win_that_does_not_survive_holm_is_not_called_beats():
    """Of 43 "does beat" claims over 18 runs, 23 survived a Holm correction: the others were said anyway."""
    model, strong = noisy(ACTUAL, 0.5, 61), noisy(ACTUAL, 0.53, 161)  # ahead, p about 0.01 alone
    crowd = {f"b{k}": noisy(ACTUAL, 0.5, 20 + k) for k in range(7)}  # as good as the model: nothing to tell
    val = {"ewma": noisy(VAL, 0.3, 36), **{name: noisy(VAL, 0.6, 40 + k) for k, name in enumerate(crowd)}}
    rows = table({"model": model, "ewma": strong, **crowd}, val, untrained=BEFORE)  # ewma: the best on validation
    raw, adjusted = rows["ewma"].dm_p, rows["ewma"].dm_p_holm
    assert raw < 0.05 <= adjusted, (raw, adjusted)  # significant alone, not among eight comparisons
    j = judge(rows, Target.LOGVOL)
    assert j.strongest == "ewma" and j.outcome == Outcome.TIES and j.holm_family == 8


def test_the_strongest_is_named_on_validation_before_the_test_is_read():
    """Picked on the test set, "loses to the strongest" is anti-conservative: the best of many on the very data judged."""
    val = {"ewma": noisy(VAL, 0.5, 30), "persistence": noisy(VAL, 0.9, 31), "model": noisy(VAL, 0.6, 32)}
    test = {"ewma": noisy(ACTUAL, 0.7, 33), "persistence": noisy(ACTUAL, 0.5, 34), "model": noisy(ACTUAL, 0.6, 35)}
    rows = table(test, val, untrained=BEFORE)
    assert rows["persistence"].rmse < rows["ewma"].rmse and rows["ewma"].val_rmse < rows["persistence"].val_rmse
    j = judge(rows, Target.LOGVOL)
    assert j.strongest == "ewma" == j.against.name
    assert j.outcome in (Outcome.BEATS, Outcome.TIES) and names(j, "verdict_beaten_by") == ["persistence"]


def test_a_price_model_that_copies_persistence_is_told_so():
    persistence = noisy(ACTUAL, 1.0, 40)
    j = judge(table({"model": persistence + 0.001 * rng.standard_normal(N), "persistence": persistence},
                    untrained=BEFORE), Target.PRICE)
    assert j.copies_last and keys(j)[-1] == "verdict_copies"
    assert not judge(table({"model": persistence + 0.001 * rng.standard_normal(N), "persistence": persistence},
                           untrained=BEFORE), Target.LOGVOL).copies_last  # a volatility target cannot copy a price


def qlike_table(actual: np.ndarray, forecasts: dict[str, np.ndarray]) -> Scores:
    global ACTUAL
    keep, ACTUAL = ACTUAL, actual
    try:
        rows = _rows(forecasts, untrained=actual * 3)
    finally:
        ACTUAL = keep
    model_losses = qlike_losses(actual, forecasts["model"])
    for name, forecast in forecasts.items():
        rows[name]["qlike"] = qlike(actual, forecast)
        if name != "model":
            rows[name]["qlike_p"] = equal_loss_p(model_losses, qlike_losses(actual, forecast))
    return Scores({name: Score.of(row) for name, row in rows.items()})


def test_a_model_that_wins_in_rmse_but_forecasts_too_low_is_told_it_loses_in_qlike_and_why():
    """QLIKE punishes a variance forecast that is too low: a model that halves its forecast one day in ten has the
    lower RMSE, and a baseline that is always 30 % too high the lower QLIKE; the judgement says both, and that a
    network trained in logs tends to forecast low."""
    own = np.random.default_rng(1)
    vol = np.exp(0.3 * own.standard_normal(N))
    halved = own.random(N) < 0.1
    m = qlike_table(vol, {"model": np.where(halved, 0.5 * vol, vol), "persistence": 1.3 * vol,
                          "ewma": vol * np.exp(0.6 * own.standard_normal(N))})
    assert m["model"].rmse < m["persistence"].rmse and m["persistence"].qlike < m["model"].qlike
    j = judge(m, Target.LOGVOL)
    assert j.outcome == Outcome.BEATS and j.strongest == "persistence"
    said = j.claims()
    assert said[-2] == ("verdict_qlike_loses", {"name": "persistence", "model": m["model"].qlike,
                                                "base": m["persistence"].qlike, "p": "p < 0.001"})
    assert said[-1] == ("verdict_qlike_low", {})


def test_in_qlike_the_model_is_compared_with_the_lowest_baseline():
    own = np.random.default_rng(2)
    vol = np.exp(0.3 * own.standard_normal(N))
    m = qlike_table(vol, {"model": vol * np.exp(0.1 * own.standard_normal(N)),
                          "persistence": vol * np.exp(0.5 * own.standard_normal(N)),
                          "garch": vol * np.exp(0.3 * own.standard_normal(N))})
    said = judge(m, Target.LOGVOL).claims()
    assert said[-1][0] == "verdict_qlike_beats" and said[-1][1]["name"] == "garch"  # the closest, not the weakest
    m = Scores({name: replace(row, qlike=None, qlike_p=None) for name, row in m.items()})  # a log-return run has none
    assert not any(key.startswith("verdict_qlike") for key in keys(judge(m, Target.LOGRET)))


def test_the_sentences_are_the_claims_in_words_and_the_json_carries_them():
    j = judge(table({"model": noisy(ACTUAL, 0.3, 1), "persistence": noisy(ACTUAL, 1.0, 2),
                     "ewma": noisy(ACTUAL, 0.8, 3)}, untrained=BEFORE), Target.LOGVOL)
    said = j.to_json(str.upper)
    assert said["outcome"] == "beats" and said["strongest"] == "ewma" and said["holm_family"] == 2
    assert said["sentences"][0].startswith("The model beats the strongest simple method, EWMA")
    assert "Holm-adjusted over the 2 methods compared" in said["sentences"][0]
    assert said["untrained"]["rmse"] == pytest.approx(3.0, rel=0.1) and said["untrained"]["dm_p"] < 0.001
    assert j.sentences("zh", str.upper)[0].startswith("模型优于最强的简单方法EWMA")


def test_a_p_value_is_printed_on_its_side_of_the_line():
    assert [format_p(p) for p in (0.0004, 0.0123, 0.04996, 0.0502, 0.087, 0.13, None)] == [
        "p < 0.001", "p = 0.012", "p < 0.05", "p = 0.05", "p = 0.087", "p = 0.13", "p = –"]
    assert format_percent(-44.3) == "-4,430 %" and format_percent(0.2297) == "+23.0 %"
