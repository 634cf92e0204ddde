"""The verdict says only what the numbers support: constructed cases where the answer is known."""

from __future__ import annotations

import numpy as np

from lstm_core.evaluate import diebold_mariano_p, equal_loss_p, metrics, qlike, qlike_losses
from lstm_core.targets import Target
from lstm_core.verdict import Outcome, claims, judge


def table(actual: np.ndarray, forecasts: dict[str, np.ndarray]) -> dict[str, dict[str, float | None]]:
    """Metrics as lstm_core.evaluate writes them: every row scored, each baseline's DM p against the model."""
    last = np.zeros_like(actual)
    rows = {name: metrics(actual, forecast, last) for name, forecast in forecasts.items()}
    for name, forecast in forecasts.items():
        if name != "model":
            rows[name]["dm_p"] = diebold_mariano_p(forecasts["model"] - actual, forecast - actual)
    rows["model"]["skill"] = 1 - rows["model"]["rmse"] / rows["persistence"]["rmse"]
    return rows


def said_names(said, key: str) -> list[str]:
    return next((params["names"] for k, params in said if k == key), [])


rng = np.random.default_rng(0)
ACTUAL = rng.standard_normal(1500)


def test_a_model_that_is_a_baseline_plus_noise_gets_no_beats():
    strong = ACTUAL + 0.5 * rng.standard_normal(1500)
    model = strong + 0.02 * rng.standard_normal(1500)  # the baseline with a whisper of noise
    m = table(ACTUAL, {"model": model, "persistence": ACTUAL + rng.standard_normal(1500), "ewma": strong})
    v = judge(m, Target.LOGVOL, learned=True)
    assert v.strongest.baseline == "ewma" and v.outcome == Outcome.TIES
    said = claims(v)
    assert said[0] == ("verdict_ties", {"name": "ewma", "rmse": v.model_rmse, "base": m["ewma"]["rmse"],
                                        "p": said[0][1]["p"]})
    assert "ewma" not in said_names(said, "verdict_beats_others")
    assert said_names(said, "verdict_beats_others") == ["persistence"]  # a real, significant win is still named


def test_a_significant_win_is_named_as_one_and_leads():
    m = table(ACTUAL, {"model": ACTUAL + 0.3 * rng.standard_normal(1500),
                       "persistence": ACTUAL + rng.standard_normal(1500),
                       "ewma": ACTUAL + 0.8 * rng.standard_normal(1500)})
    v = judge(m, Target.LOGVOL, learned=True)
    assert v.outcome == Outcome.BEATS and v.strongest.baseline == "ewma" and v.strongest.p_value < 0.001
    said = claims(v)
    assert said[0][0] == "verdict_beats" and said[0][1]["name"] == "ewma"
    assert said_names(said, "verdict_also_beats") == ["persistence"]
    assert v.beaten() == ["ewma", "persistence"] and v.beating() == []


def test_a_significant_loss_to_the_strongest_is_said_plainly():
    m = table(ACTUAL, {"model": ACTUAL + 0.9 * rng.standard_normal(1500),
                       "persistence": ACTUAL + 1.5 * rng.standard_normal(1500),
                       "window_mean": ACTUAL + 0.5 * rng.standard_normal(1500)})
    v = judge(m, Target.LOGVOL, learned=True)
    assert v.outcome == Outcome.LOSES and v.strongest.baseline == "window_mean"
    said = claims(v)
    assert said[0][0] == "verdict_loses" and said_names(said, "verdict_beats_others") == ["persistence"]


def test_a_run_that_kept_its_untrained_weights_says_it_learned_nothing_and_nothing_else():
    m = table(ACTUAL, {"model": ACTUAL + 0.3 * rng.standard_normal(1500),  # however good its numbers look
                       "persistence": ACTUAL + rng.standard_normal(1500)})
    v = judge(m, Target.LOGRET, learned=False)
    assert v.outcome == Outcome.LEARNED_NOTHING
    assert [key for key, _ in claims(v)] == ["verdict_learned_nothing"]  # no "beats", no "copies"


def test_a_price_model_that_copies_persistence_is_told_so():
    persistence = ACTUAL + rng.standard_normal(1500)
    m = table(ACTUAL, {"model": persistence + 0.001 * rng.standard_normal(1500), "persistence": persistence})
    v = judge(m, Target.PRICE, learned=True)
    assert v.outcome == Outcome.TIES and v.copies_last
    assert claims(v)[-1][0] == "verdict_copies"
    assert not judge(m, Target.LOGVOL, learned=True).copies_last  # a volatility target cannot copy a price


def qlike_table(actual: np.ndarray, forecasts: dict[str, np.ndarray]) -> dict[str, dict[str, float | None]]:
    """``table`` with a volatility target's QLIKE and its test, as lstm_core.evaluate writes them."""
    rows = table(actual, forecasts)
    model_losses = qlike_losses(actual, forecasts["model"])
    for name, forecast in forecasts.items():
        rows[name]["qlike"] = qlike(actual, forecast)
        if name != "model":
            rows[name]["qlike_p"] = equal_loss_p(model_losses, qlike_losses(actual, forecast))
    return rows


def test_a_model_that_wins_in_rmse_but_forecasts_too_low_is_told_it_loses_in_qlike():
    """QLIKE punishes a variance forecast that is too low: a model that halves its forecast one day in ten has the
    lower RMSE, and a baseline that is always 30 % too high the lower QLIKE; the verdict says both."""
    own = np.random.default_rng(1)
    vol = np.exp(0.3 * own.standard_normal(1500))
    halved = own.random(1500) < 0.1
    m = qlike_table(vol, {"model": np.where(halved, 0.5 * vol, vol), "persistence": 1.3 * vol,
                          "ewma": vol * np.exp(0.6 * own.standard_normal(1500))})
    assert m["model"]["rmse"] < m["persistence"]["rmse"] and m["persistence"]["qlike"] < m["model"]["qlike"]
    v = judge(m, Target.LOGVOL, learned=True)
    assert v.outcome == Outcome.BEATS and v.strongest.baseline == "persistence"
    said = claims(v)
    assert said[0][0] == "verdict_beats"
    assert said[-1] == ("verdict_qlike_loses", {"name": "persistence", "model": m["model"]["qlike"],
                                                "base": m["persistence"]["qlike"], "p": "p < 0.001"})


def test_in_qlike_the_model_is_compared_with_the_lowest_baseline_and_a_target_without_qlike_says_nothing_of_it():
    own = np.random.default_rng(2)
    vol = np.exp(0.3 * own.standard_normal(1500))
    m = qlike_table(vol, {"model": vol * np.exp(0.1 * own.standard_normal(1500)),
                          "persistence": vol * np.exp(0.5 * own.standard_normal(1500)),
                          "garch": vol * np.exp(0.3 * own.standard_normal(1500))})
    said = claims(judge(m, Target.LOGVOL, learned=True))
    assert said[-1][0] == "verdict_qlike_beats" and said[-1][1]["name"] == "garch"  # the closest, not the weakest
    # a baseline a whisper away: lower or not, the test cannot tell them apart, and the sentence says so
    m = qlike_table(vol, {"model": vol * np.exp(0.1 * own.standard_normal(1500)),
                          "persistence": vol * np.exp(0.5 * own.standard_normal(1500)),
                          "garch": vol * np.exp(0.1 * own.standard_normal(1500) + 0.001)})
    said = claims(judge(m, Target.LOGVOL, learned=True))
    assert said[-1][0] == "verdict_qlike_ties" and m["garch"]["qlike_p"] >= 0.05
    assert not any(key.startswith("verdict_qlike") for key, _ in claims(judge(m, Target.LOGVOL, learned=False)))
    for row in m.values():  # a log-return or price run has no QLIKE: no sentence about it
        row.pop("qlike", None), row.pop("qlike_p", None)
    said = claims(judge(m, Target.LOGRET, learned=True))
    assert not any(key.startswith("verdict_qlike") for key, _ in said)


def test_a_p_value_is_printed_on_its_side_of_the_line():
    from lstm_core.verdict import format_p

    assert [format_p(p) for p in (0.0004, 0.0123, 0.04996, 0.0502, 0.087, 0.13, None)] == [
        "p < 0.001", "p = 0.012", "p < 0.05", "p = 0.05", "p = 0.087", "p = 0.13", "p = –"]


def test_after_a_tie_the_wins_over_weaker_baselines_are_not_said_as_also():
    own = np.random.default_rng(3)
    strong = ACTUAL + 0.5 * own.standard_normal(1500)
    m = table(ACTUAL, {"model": strong + 0.02 * own.standard_normal(1500), "ewma": strong,
                       "persistence": ACTUAL + 1.5 * own.standard_normal(1500)})
    said = claims(judge(m, Target.LOGVOL, learned=True))
    assert said[0][0] == "verdict_ties" and said_names(said, "verdict_beats_others") == ["persistence"]
    assert not said_names(said, "verdict_also_beats")


def test_a_price_model_that_beats_persistence_with_a_test_is_not_said_to_copy_it():
    last = ACTUAL + rng.standard_normal(1500)
    close = last + 0.01 * (ACTUAL - last)  # 1 % of the way from the last price to the answer, every day
    m = table(ACTUAL, {"model": close, "persistence": last})
    v = judge(m, Target.PRICE, learned=True)
    assert abs(m["model"]["skill"]) < 0.02 and m["persistence"]["dm_p"] < 0.05 and not v.copies_last
    m = table(ACTUAL, {"model": last + 0.01 * rng.standard_normal(1500), "persistence": last})
    assert judge(m, Target.PRICE, learned=True).copies_last  # within 2 % and no tested difference: a copy
