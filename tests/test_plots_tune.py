"""The Tune page's figures, built from in-memory studies: pruned trials drawn, a readable loss axis whose every line
shows on white, importances only from enough complete trials, and no title for the toolbar to cover."""

import random

import optuna
import plotly.colors
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState, create_trial

from lstm_core.plots.tune import (
    LINE_OPACITY,
    MIN_IMPORTANCE_TRIALS,
    distinct_labels,
    history_figure,
    importance_figure,
    intermediate_figure,
    parallel_figure,
)

LABELS = {"value": "Validation loss", "best": "Best so far", "pruned": "Pruned", "trial": "Trial", "epoch": "Epoch",
          "importance": "Importance", "setting": "Setting"}
PARAMS = {"hidden": "Hidden units", "lr": "Learning rate", "cell": "Cell", "lstm": "LSTM", "gru": "GRU"}
DISTRIBUTIONS = {"hidden": IntDistribution(8, 128, log=True), "lr": FloatDistribution(1e-4, 1e-2, log=True),
                 "cell": CategoricalDistribution(["lstm", "gru"])}


def study_of(complete_losses: list[float], pruned: dict[int, dict[int, float]] | None = None) -> optuna.Study:
    """An in-memory study: complete trials with these losses, then pruned ones with these per-epoch losses."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.create_study()
    rng = random.Random(0)
    for loss in complete_losses:
        params = {"hidden": rng.randint(8, 128), "lr": 10 ** rng.uniform(-4, -2), "cell": rng.choice(["lstm", "gru"])}
        study.add_trial(create_trial(params=params, distributions=DISTRIBUTIONS, value=loss,
                                     intermediate_values={1: loss * 1.2, 2: loss}))
    for epochs in (pruned or {}).values():
        study.add_trial(create_trial(params={"hidden": 16, "lr": 1e-3, "cell": "gru"}, distributions=DISTRIBUTIONS,
                                     state=TrialState.PRUNED, intermediate_values=epochs))
    return study


def luminance(color: str) -> float:
    """Relative luminance (0 black .. 1 white) of an ``rgb(...)`` colour."""
    r, g, b = plotly.colors.unlabel_rgb(color)

    def linear(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)


def test_pruned_trials_are_drawn_where_they_were_stopped():
    study = study_of([0.30, 0.25, 0.28], pruned={3: {1: 0.50, 2: 0.45}, 4: {1: 0.61}})
    fig = history_figure(study, LABELS, PARAMS)
    by_name = {t.name: t for t in fig.data}
    complete, pruned = by_name["Validation loss"], by_name["Pruned"]
    assert list(complete.x) == [0, 1, 2] and list(complete.y) == [0.30, 0.25, 0.28]
    assert list(pruned.x) == [3, 4] and list(pruned.y) == [0.45, 0.61] and list(pruned.customdata) == [2, 1]
    assert pruned.marker.symbol == "x" and pruned.marker.symbol != complete.marker.symbol
    assert list(by_name["Best so far"].y)[:3] == [0.30, 0.25, 0.25]
    assert "Pruned" not in {t.name for t in history_figure(study_of([0.3, 0.2]), LABELS, PARAMS).data}


def test_trials_and_epochs_are_ticked_on_whole_numbers():
    two_epochs = study_of([0.3, 0.2, 0.25])
    assert intermediate_figure(two_epochs, LABELS, PARAMS).layout.xaxis.dtick == 1  # never "epoch 1.5"
    assert history_figure(two_epochs, LABELS, PARAMS).layout.xaxis.dtick == 1
    many = study_of([0.3] * 40)
    assert history_figure(many, LABELS, PARAMS).layout.xaxis.dtick == 5  # 39 trials in at most 8 ticks


def test_no_figure_carries_a_title_for_the_toolbar_to_cover():
    study = study_of([0.3 - 0.01 * k for k in range(MIN_IMPORTANCE_TRIALS)], pruned={99: {1: 0.5}})
    figures = [history_figure(study, LABELS, PARAMS), intermediate_figure(study, LABELS, PARAMS),
               parallel_figure(study, LABELS, PARAMS), importance_figure(study, LABELS, PARAMS)]
    assert all(fig is not None for fig in figures)
    for fig in figures:
        assert not fig.layout.title.text
        assert "Objective Value" not in fig.to_json() and "Hyperparameter" not in fig.to_json()


def test_the_loss_axis_tells_close_losses_apart():
    losses = [0.17800, 0.17803, 0.17805, 0.17807, 0.17810]  # Optuna writes every tick of these as "0.178"
    fig = parallel_figure(study_of(losses), LABELS, PARAMS)
    ticks = [a for a in fig.layout.annotations if a.x == 0]
    texts = [a.text for a in ticks]
    assert len(ticks) == 5 and len(set(texts)) == 5, texts
    for tick in ticks:  # each says the loss at its height: lowest at the bottom, highest at the top
        assert float(tick.text) == pytest.approx(0.178 + tick.y * 0.0001, abs=5e-7)
    hovers = sorted(float(line.customdata[0][1]) for line in fig.data if line.mode == "lines")
    assert hovers == pytest.approx(losses, abs=5e-7)  # a hovered line says its own loss, not "0.178"


def test_every_parallel_line_shows_on_white():
    losses = [0.1 + 0.05 * k for k in range(8)]
    fig = parallel_figure(study_of(losses), LABELS, PARAMS)
    lines = [t for t in fig.data if t.mode == "lines"]
    assert len(lines) == len(losses)
    assert all(line.opacity >= LINE_OPACITY >= 0.7 for line in lines)
    brightest = max(luminance(line.line.color) for line in lines)
    assert brightest < 0.5, brightest  # Optuna's worst line was rgb(247,251,255): luminance 0.96
    by_loss = sorted(lines, key=lambda line: float(line.customdata[0][1]))
    assert by_loss[0].line.color != by_loss[-1].line.color  # the best and the worst are told apart
    scale = next(t for t in fig.data if t.mode == "markers")
    assert all(luminance(color) < 0.5 for _, color in scale.marker.colorscale)


def test_importances_wait_for_enough_complete_trials():
    losses = [0.3 - 0.01 * k for k in range(MIN_IMPORTANCE_TRIALS)]
    assert importance_figure(study_of(losses[:-1], pruned={k: {1: 0.9} for k in range(5)}), LABELS, PARAMS) is None
    fig = importance_figure(study_of(losses), LABELS, PARAMS)
    assert fig is not None and MIN_IMPORTANCE_TRIALS == 10
    assert set(fig.data[0].y) == {"Hidden units", "Learning rate", "Cell"}


def test_parallel_figure_waits_for_a_complete_trial():
    assert parallel_figure(study_of([], pruned={0: {1: 0.4}}), LABELS, PARAMS) is None
    one = parallel_figure(study_of([0.25]), LABELS, PARAMS)
    assert [a.text for a in one.layout.annotations if a.x == 0] == ["0.25"]


@pytest.mark.parametrize("values,expected", [
    ([0.178, 0.17801, 0.17802], ["0.178", "0.17801", "0.17802"]),
    ([1.0, 2.0, 3.0], ["1", "2", "3"]),
    ([0.5, 0.5], ["0.5", "0.5"]),
])
def test_distinct_labels_use_the_fewest_digits_that_tell_values_apart(values, expected):
    assert distinct_labels(values) == expected


def test_the_per_epoch_chart_names_each_trial_in_a_legend():
    fig = intermediate_figure(study_of([0.3, 0.2, 0.25]), {**LABELS, "trial": "试验"}, PARAMS)
    assert fig.layout.showlegend is True  # Optuna hides it
    assert [t.name for t in fig.data] == ["试验 0", "试验 1", "试验 2"]
