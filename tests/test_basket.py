"""A basket: one calendar for every series, no leak across it, the pooled linear rival, and the panel's test."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from lstm_core.basket.data import Basket, load_basket
from lstm_core.basket.run import panel_p, prepare_basket, score_unseen, train_basket
from lstm_core.evaluate import MODEL, POOLED_LINEAR, equal_loss_p
from tests.helpers import TINY_BASKET, cli_refusals, dataset, walk


def test_one_calendar_cuts_every_series_and_no_training_day_reaches_it():
    basket = Basket((dataset("a", walk(900, 1)), dataset("b", walk(700, 2, start="2015-06-01"))))
    cutoffs, prepared = prepare_basket(basket, TINY_BASKET)
    overlap = basket.overlap()
    assert overlap[0] == pd.Timestamp("2015-06-01") and len(overlap) == 700  # b lies inside a
    assert cutoffs.val == overlap[int(700 * 0.7)] and cutoffs.test == overlap[int(700 * 0.85)]
    for p in prepared:  # the purge holds across series: every training target before validation starts
        assert p.target_dates("train").max() < cutoffs.val <= p.target_dates("val").min()
        assert p.target_dates("test").min() >= cutoffs.test
    a, b = prepared
    assert a.n_samples("train") > b.n_samples("train")  # a's earlier days are training days


def test_a_leak_planted_after_the_cutoff_changes_no_other_series_score():
    a, b = walk(800, 3), walk(800, 4)
    clean = train_basket(Basket((dataset("a", a), dataset("b", b))), TINY_BASKET)
    cutoffs = clean.cutoffs
    leaked = b.copy()
    after = leaked.index >= cutoffs.test  # b's test days made to carry a's future volatility
    leaked.loc[after, "Close"] = leaked.loc[after, "Close"] * np.exp(np.random.default_rng(9).normal(0, 0.05, after.sum()))
    dirty = train_basket(Basket((dataset("a", a), dataset("b", leaked))), TINY_BASKET)
    assert [h.val_loss for h in dirty.history] == [h.val_loss for h in clean.history]  # the same training
    assert dirty.series[0].scores == clean.series[0].scores  # a's scores, to the last bit
    assert dirty.series[1].scores[MODEL].rmse != clean.series[1].scores[MODEL].rmse  # the leak was where b is scored
    # the pooled linear model is a baseline of every series and of the panel, inside the Holm family
    for scores in (clean.series[0].scores, clean.series[1].scores, clean.panel):
        assert scores[POOLED_LINEAR].rmse > 0 and scores[POOLED_LINEAR].dm_p_holm is not None
    # a series scored as if unseen is scored as the run scored it (the network is the same; only the rival differs)
    alone = score_unseen(clean, a)
    assert alone[MODEL].rmse == clean.series[0].scores[MODEL].rmse and POOLED_LINEAR not in alone
    said = clean.to_json()
    assert set(said["series"]) == {"a", "b"} and set(said["panel"]["metrics"]) == set(clean.series[0].scores)
    assert said["pooled_linear"]["panel"] == clean.panel[POOLED_LINEAR].rmse
    # with the market factor, b's test days reach a's test inputs (that day's market, read the next day), but not
    # one training or validation step: the same history, the same weights
    market = TINY_BASKET.with_(features=("logret", "market"))
    clean = train_basket(Basket((dataset("a", a), dataset("b", b))), market)
    dirty = train_basket(Basket((dataset("a", a), dataset("b", leaked))), market)
    assert [h.val_loss for h in dirty.history] == [h.val_loss for h in clean.history]
    assert all(torch.equal(v, dirty.model.state_dict()[k]) for k, v in clean.model.state_dict().items())


def test_the_panel_test_counts_a_day_once_however_many_series_move_with_it():
    rng = np.random.default_rng(0)
    days = pd.bdate_range("2020-01-01", periods=400)
    base = rng.gamma(2.0, 1.0, 400)
    better = base * 0.9 + rng.normal(0, 0.05, 400) ** 2  # a smaller loss nearly every day
    one = equal_loss_p(better, base, 5)
    assert one is not None and one < 0.001
    # two copies of the same series are one series' evidence, not twice as much
    assert panel_p([better, better], [base, base], [days, days], 5) == pytest.approx(one, rel=1e-12)
    # better on one series and worse on the other, on the same days: nothing to tell (exactly so: untestable)
    other = rng.permutation(base)  # the same losses on other days: on average the two cancel exactly
    assert panel_p([0.9 * base, 1.1 * other], [base, other], [days, days], 5) > 0.99
    assert panel_p([better, base], [base, better], [days, days], 5) is None
    # series with different calendars: the mean over whichever series has a window that day
    half = days[:200]
    p = panel_p([better, better[:200]], [base, base[:200]], [days, half], 5)
    assert p is not None and p < 0.001


def test_a_basket_on_the_command_line_says_what_is_wrong_in_one_line():
    runs = cli_refusals([
        ["train", "--data", "sample:MSFT,sample:MSFT"],
        ["train", "--data", "sample:MSFT,task:remember"],
        ["train", "--data", "sample:SP500,sample:NASDAQ", "--target", "price", "--features", "close"],
        ["report", "--data", "sample:SP500,sample:NASDAQ", "--leave-one-out"],
    ])
    said = [r.stderr.strip() for r in runs]
    assert [r.returncode for r in runs] == [2, 2, 2, 2]
    assert "'MSFT (sample)' is in the list twice" in said[0]
    assert "is a memory task: a basket is price series" in said[1]
    assert "its target must be on one scale" in said[2]
    assert "it needs --pooled" in said[3]
    assert all(line.count("\n") == 0 and "Traceback" not in line for line in said)


def test_the_default_basket_is_two_stocks_and_two_indices_sharing_sixteen_years():
    basket = load_basket(["basket:default"])
    assert basket.names == ["MSFT (sample)", "NVDA (sample)", "SP500 (sample)", "NASDAQ (sample)"]
    overlap = basket.summary()["overlap"]
    assert overlap == {"days": 4012, "start": "1999-01-22", "end": "2014-12-31"}  # NVDA's span
    # ORCL and YHOO, bundled later, span those sixteen years too: joined, they keep the calendar (docs/basket.md)
    wider = load_basket(["basket:default", "sample:ORCL", "sample:YHOO"])
    assert (len(wider.names), wider.summary()["overlap"]) == (6, overlap)


def test_a_series_left_out_is_scored_at_the_whole_baskets_calendar():
    """Without the series that ends first, the others share more days and their own calendar would cut later: past
    the end of the series left out, which then had no test days at all."""
    short = dataset("short", walk(600, 5))
    rest = (dataset("a", walk(900, 6)), dataset("b", walk(900, 7)))
    whole = Basket((short, *rest)).cutoffs(TINY_BASKET)
    assert Basket(rest).cutoffs(TINY_BASKET).test > short.frame.index[-1]  # what went wrong
    run = train_basket(Basket(rest), TINY_BASKET.with_(epochs=1), cutoffs=whole)
    assert run.cutoffs == whole
    unseen = score_unseen(run, short.frame)
    assert unseen[MODEL].rmse > 0 and unseen[MODEL].dm_p is None and unseen["untrained"].dm_p is not None


def test_a_basket_bundle_scores_its_run_again_to_the_last_digit_and_refuses_a_changed_series(tmp_path):
    from lstm_core.basket.bundle import basket_zip, load_basket_bundle, save_basket_bundle
    from lstm_core.errors import LabError

    basket = Basket((dataset("a", walk(900, 1)), dataset("b", walk(800, 2, start="2015-03-02"))))
    run = train_basket(basket, TINY_BASKET)
    saved = run.saved()
    folder = save_basket_bundle(saved, basket, tmp_path / "bundle")
    back, back_basket = load_basket_bundle(folder)
    assert back.names == ("a", "b") and back.cutoffs == run.cutoffs and back.history == saved.history
    assert back.run_id == saved.run_id
    assert back.to_json() == saved.to_json()  # every series' scores and the panel's, from weights and CSVs alone
    assert [ds.fingerprint for ds in back_basket.datasets] == [ds.fingerprint for ds in basket.datasets]
    assert load_basket_bundle(basket_zip(saved, basket))[0].to_json() == saved.to_json()
    record = json.loads((folder / "basket.json").read_text())
    assert [s["name"] for s in record["series"]] == ["a", "b"] and len(record["series"][1]["sha256"]) == 64
    assert set(record["results"]) >= {"series", "panel", "pooled_linear"}

    csv = folder / "series-1.csv"
    lines = csv.read_text().splitlines(keepends=True)
    date, open_, rest = lines[5].split(",", 2)
    lines[5] = f"{date},{float(open_) * 1.01!r},{rest}"  # one changed price, on a data line
    csv.write_text("".join(lines))
    with pytest.raises(LabError) as err:
        load_basket_bundle(folder)
    assert err.value.key == "err_bundle_checksum" and "series-1.csv" in str(err.value)
    record["series"][0]["file"] = "../../etc/passwd"  # a path from the bundle is never read
    (folder / "basket.json").write_text(json.dumps(record))
    with pytest.raises(LabError) as err:
        load_basket_bundle(folder)
    assert err.value.key == "err_basket_json_field" and "basket.json" in str(err.value) and "series" in str(err.value)


def test_har_inputs_and_the_market_factor_read_only_what_is_known_by_each_day():
    from lstm_core.basket.run import basket_frames, market_series
    from lstm_core.features import Feature, feature_matrix

    a, b = walk(300, 1), walk(300, 2, start="2015-02-02")
    r = np.abs(np.log(a["Close"]).diff().to_numpy())
    x = feature_matrix(a, [Feature.LOGVOL5, Feature.LOGVOL22])  # rows 1.. (row 0 has no return)
    assert x[0, 0] == pytest.approx(np.log(r[1] + 1e-4))  # one day known: its own move
    assert x[9, 0] == pytest.approx(np.log(r[6:11].mean() + 1e-4)) and x[29, 1] == pytest.approx(np.log(r[9:31].mean() + 1e-4))

    basket = Basket((dataset("a", a), dataset("b", b)))
    before = b.index[150]  # the first validation day: the scales come from the days before it
    market = market_series(basket, before)
    moves = {name: np.log(f["Close"]).diff().abs() for name, f in (("a", a), ("b", b))}
    scales = {name: m[m.index < before].mean() for name, m in moves.items()}
    day, previous = b.index[10], b.index[9]  # both trade: the day before's mean of their scaled moves
    assert market[day] == pytest.approx(np.mean([moves[n][previous] / scales[n] for n in ("a", "b")]))
    assert market[a.index[6]] == pytest.approx(moves["a"][a.index[5]] / scales["a"])  # before b starts: a alone
    swapped = market_series(Basket((dataset("b", b), dataset("a", a))), before)  # the later series first: a union
    assert swapped.index.is_monotonic_increasing and swapped.equals(market)  # of dates is still read in date order
    changed = b.copy()
    changed.loc[changed.index[200]:, "Close"] *= 1.5  # a shock in b's test period, every later price moved with it
    later = market_series(Basket((dataset("a", a), dataset("b", changed))), before)
    shock = changed.index[200]
    assert (later[later.index <= shock] == market[market.index <= shock]).all()  # not even the shock's own day
    assert later[changed.index[201]] != market[changed.index[201]]  # the day after reads it
    config = TINY_BASKET.with_(features=("logret", "market"))
    cutoffs = basket.cutoffs(config)
    frames = basket_frames(basket, config, cutoffs)
    expected = market_series(basket, cutoffs.val).reindex(a.index).to_numpy()
    assert (frames[0]["Market"].to_numpy() == expected).all()
    assert "Market" not in basket_frames(basket, TINY_BASKET, cutoffs)[0]  # only when the inputs take it


def test_the_market_input_needs_a_basket_and_trains_on_one():
    runs = cli_refusals([["train", "--data", "sample:SP500", "--features", "logabsret,market"]])
    assert runs[0].returncode == 2 and runs[0].stderr.strip().startswith("error: The market input is the mean move across")
    basket = Basket((dataset("a", walk(900, 1)), dataset("b", walk(800, 2, start="2015-03-02"))))
    config = TINY_BASKET.with_(features=("logret", "market"))
    run = train_basket(basket, config)
    from lstm_core.basket.run import basket_frames

    frame = basket_frames(basket, config, run.cutoffs)[0]  # a's, with the factor as its Market column
    read = run.series[0].prepared._raw[:, 1].numpy()  # the channel the network is fed, before scaling
    assert np.allclose(read, np.log(frame["Market"].to_numpy()[1:] + 1e-4), atol=1e-6)
    plain = train_basket(basket, TINY_BASKET)  # the market channel changes what the network forecasts
    assert run.panel[MODEL].rmse != plain.panel[MODEL].rmse


def test_the_seeds_averaged_are_one_forecaster_scored_as_a_run_is():
    from lstm_core.basket.run import ensemble

    basket = Basket((dataset("a", walk(900, 1)), dataset("b", walk(800, 2, start="2015-03-02"))))
    runs = [train_basket(basket, TINY_BASKET.with_(seed=seed)) for seed in (0, 1)]
    alone, panel = ensemble(runs[:1])
    assert panel.to_json() == runs[0].panel.to_json()  # one seed: the run itself
    assert [s.scores.to_json() for s in alone] == [s.scores.to_json() for s in runs[0].series]
    both, panel = ensemble(runs)
    for k in range(2):
        mean = (runs[0].series[k].outputs.test[MODEL] + runs[1].series[k].outputs.test[MODEL]) / 2
        assert np.array_equal(both[k].outputs.test[MODEL], mean)
        assert both[k].scores["persistence"].rmse == runs[0].series[k].scores["persistence"].rmse  # same baselines
    assert panel[POOLED_LINEAR].rmse == runs[0].panel[POOLED_LINEAR].rmse and panel[MODEL].dm_p is None


def test_a_version_1_basket_bundle_reads_its_normalised_range_as_it_was_trained():
    """A basket bundle the version-1 code saved (abe98ce), the daily range among its inputs: read now, every series'
    scores and the panel's come back as that code printed them, the range read at its own level as it was trained."""
    from pathlib import Path

    from lstm_core.basket.bundle import load_basket_bundle

    folder = Path(__file__).parent / "fixtures" / "basket_v1_range"
    then = json.loads(Path(f"{folder}.results.json").read_text())
    assert json.loads((folder / "basket.json").read_text())["version"] == 1
    back, _ = load_basket_bundle(folder)
    assert back.config.features == ("logabsret", "logrange_level")
    now = back.to_json()
    assert now["config"]["features"] == ["logabsret", "logrange_level"] and then["config"]["features"] == [
        "logabsret", "logrange"]
    for key in ("series", "panel", "pooled_linear", "cutoffs", "history", "best_epoch"):
        assert now[key] == then[key], key


def test_a_basket_asks_for_every_input_that_carries_across_series_and_a_small_network():
    from lstm_core.basket.data import BASKET_HIDDEN
    from lstm_core.config import RunConfig

    basket = Basket((dataset("a", walk(900, 1)), dataset("b", walk(800, 2, start="2015-03-02"))))
    assert basket.settings() == {"target": "logvol", "hidden": BASKET_HIDDEN,
                                 "features": ("logabsret", "logrange", "logvol5", "logvol22", "market")}
    closes = dataset("c", walk(900, 3)[["Close"]])  # no High and Low: no daily range for any series of the basket
    assert "logrange" not in Basket((basket.datasets[0], closes)).settings()["features"]
    assert Basket((basket.datasets[0], closes)).settings("logret") == {}  # another target keeps its own defaults
    config = RunConfig.for_target(**basket.settings())
    assert config.window == 60 and config.horizon == 20 and config.hidden == 8
