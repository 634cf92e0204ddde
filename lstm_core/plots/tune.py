"""Figures of the Tune page: Optuna's own study plots, with every English word of theirs replaced by ours, pruned
trials drawn, and the parallel coordinates made readable.

Optuna draws the history, the per-epoch values, the parallel coordinates and the importances well; it labels them
in English and with raw parameter names. ``relabel`` walks a figure and swaps each such string for the page's
translated one, so a Chinese page shows no English and no field names. The figures carry no title: the page writes
it above each chart, where Plotly's toolbar cannot cover it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence

import optuna
import plotly.colors
import plotly.graph_objects as go
from optuna.trial import FrozenTrial, TrialState

MIN_IMPORTANCE_TRIALS = 10  # fewer complete trials than this, and "which settings mattered" is mostly noise
# the parallel coordinates' lines by loss: the best dark blue, the worst orange; no colour near the page's white
LOSS_COLORS = [[0.0, "rgb(8,48,107)"], [0.5, "rgb(66,146,198)"], [1.0, "rgb(230,85,13)"]]
LINE_OPACITY = 0.8
PRUNED_COLOR = "rgb(150,150,150)"

# Optuna's words -> keys of ``labels`` (the page passes them translated)
_OPTUNA_WORDS = {
    "Objective Value": "value", "Intermediate Value": "value", "Best Value": "best", "Trial": "trial",
    "Step": "epoch", "Hyperparameter Importance": "importance", "Hyperparameter": "setting",
}
_TRIAL_NAME = re.compile(r"^Trial(\d+)$")
_IMPORTANCE_HOVER = re.compile(r"^(\w+) \(\w+Distribution\): ([-\d.e]+)(<extra></extra>)?$")


def relabel(node: object, words: Mapping[str, str]) -> object:
    """A copy of a figure's JSON with each whole string in ``words`` replaced (and "Trial12" -> "<trial> 12")."""
    if isinstance(node, dict):
        return {k: relabel(v, words) for k, v in node.items()}
    if isinstance(node, (list, tuple)):
        return [relabel(v, words) for v in node]
    if isinstance(node, str):
        if node in words:
            return words[node]
        trial = _TRIAL_NAME.match(node)
        if trial and "Trial" in words:
            return f"{words['Trial']} {trial.group(1)}"
        hover = _IMPORTANCE_HOVER.match(node)
        if hover:
            return f"{words.get(hover.group(1), hover.group(1))}: {float(hover.group(2)):.3f}<extra></extra>"
    return node


def _themed(fig: go.Figure, words: Mapping[str, str], height: int = 340) -> go.Figure:
    spec = relabel(fig.to_plotly_json(), words)
    # the "Infeasible Trial" trace belongs to constrained studies; ours have none, and its name is English
    spec["data"] = [t for t in spec["data"] if t.get("name") != "Infeasible Trial"]
    out = go.Figure(spec)
    out.update_layout(title=None, height=height, margin=dict(t=40, b=40, l=60, r=20), template="plotly_white",
                      uirevision="tune")
    return out


def _words(labels: Mapping[str, str], param_labels: Mapping[str, str]) -> dict[str, str]:
    return {**{en: labels[key] for en, key in _OPTUNA_WORDS.items()}, **param_labels}


def _whole_ticks(fig: go.Figure, highest: int, most_ticks: int = 8) -> None:
    """Ticks on whole numbers only along x (trials, epochs): no "epoch 1.5" when a study has run two."""
    fig.update_xaxes(tick0=0, dtick=max(1, math.ceil(highest / most_ticks)))


def complete_trials(study: optuna.Study) -> int:
    """How many of the study's trials completed (and so have a loss that importances and the best can use)."""
    return sum(t.state == TrialState.COMPLETE for t in study.get_trials(deepcopy=False))


def _stopped_at(trial: FrozenTrial) -> tuple[int, float] | None:
    """A pruned trial's last epoch and its validation loss there; None when it reported none."""
    if trial.last_step is None:
        return None
    return trial.last_step, trial.intermediate_values[trial.last_step]


def history_figure(study: optuna.Study, labels: Mapping[str, str], param_labels: Mapping[str, str]) -> go.Figure:
    """Each complete trial's validation loss, the best so far, and each pruned trial's loss where it was stopped
    (grey crosses: stopped early, they are not candidates for the best).

    ``labels``: ``value``, ``best``, ``pruned``, ``trial``, ``epoch``, ``importance``, ``setting``;
    ``param_labels``: what to show for each setting's name and each of its choices' raw values.
    """
    fig = _themed(optuna.visualization.plot_optimization_history(study), _words(labels, param_labels))
    pruned = [(t.number, *stop) for t in study.get_trials(deepcopy=False, states=(TrialState.PRUNED,))
              if (stop := _stopped_at(t)) is not None]
    if pruned:
        numbers, epochs, losses = zip(*pruned, strict=True)
        fig.add_trace(go.Scatter(
            x=list(numbers), y=list(losses), customdata=list(epochs), mode="markers", name=labels["pruned"],
            marker=dict(symbol="x", size=8, color=PRUNED_COLOR),
            hovertemplate=f"{labels['trial']} %{{x}}: %{{y:.5g}} ({labels['epoch']} %{{customdata}})<extra></extra>",
        ))
    _whole_ticks(fig, max((t.number for t in study.get_trials(deepcopy=False)), default=0))
    # the legend below the axis: inside, it would cover the worst (highest) trials, often the pruned ones
    fig.update_layout(legend=dict(orientation="h", x=0, xanchor="left", y=-0.22, yanchor="top"),
                      margin=dict(b=80), height=380)
    return fig


def intermediate_figure(study: optuna.Study, labels: Mapping[str, str],
                        param_labels: Mapping[str, str]) -> go.Figure:
    """Validation loss by epoch of every trial, pruned ones ending where they were stopped."""
    fig = _themed(optuna.visualization.plot_intermediate_values(study), _words(labels, param_labels))
    _whole_ticks(fig, max((t.last_step or 0 for t in study.get_trials(deepcopy=False)), default=0))
    for trace in fig.data:  # Optuna names its lines "Trial3" and hides the legend: name each trial as the page does
        number = (trace.name or "").removeprefix("Trial")
        if number.isdigit():
            trace.name = f"{labels['trial']} {number}"
    fig.update_layout(showlegend=True, legend=dict(orientation="h", y=-0.25))
    return fig


def distinct_labels(values: Sequence[float], least_digits: int = 3, most_digits: int = 10) -> list[str]:
    """``values`` written with the fewest significant digits (at least ``least_digits``) that tell them apart."""
    for digits in range(least_digits, most_digits + 1):
        texts = [f"{v:.{digits}g}" for v in values]
        if len(set(texts)) == len(set(values)):
            return texts
    return [f"{v:.{most_digits}g}" for v in values]


def _loss_color(position: float) -> str:
    return plotly.colors.sample_colorscale(LOSS_COLORS, [min(1.0, max(0.0, position))])[0]


def parallel_figure(study: optuna.Study, labels: Mapping[str, str],
                    param_labels: Mapping[str, str]) -> go.Figure | None:
    """The searched settings of each complete trial, coloured by its loss; None before a trial completed.

    Optuna's loss axis writes its five ticks with three significant digits (five times "0.178" when the losses are
    close) and colours the worst trial white on white; here every tick and hover says as many digits as tell the
    losses apart, and every line has a colour that shows.
    """
    values = [t.value for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)) if t.value is not None]
    if not values:
        return None
    fig = _themed(optuna.visualization.plot_parallel_coordinate(study), _words(labels, param_labels), height=380)
    low, high = min(values), max(values)

    def loss_at(position: float) -> float:  # Optuna puts the lowest loss at 0 and the highest at 1 on its first axis
        return low + position * (high - low) if high > low else low

    ticks = [a for a in fig.layout.annotations if a.x == 0]
    lines = [t for t in fig.data if t.mode == "lines"]
    # one precision for the axis and the hovers, so a hovered loss reads against the ticks
    texts = distinct_labels([loss_at(a.y) for a in ticks] + [loss_at(line.y[0]) for line in lines])
    for annotation, text in zip(ticks, texts[:len(ticks)], strict=True):
        annotation.text = text
    for line, text in zip(lines, texts[len(ticks):], strict=True):
        line.line.color = _loss_color(line.y[0] if high > low else 0.0)
        line.opacity = LINE_OPACITY
        line.customdata = [[line.customdata[0][0], text], *line.customdata[1:]]
    for scale in (t for t in fig.data if t.mode == "markers" and t.marker.showscale):
        scale.marker.update(colorscale=LOSS_COLORS, reversescale=False)
    return fig


def importance_figure(study: optuna.Study, labels: Mapping[str, str],
                      param_labels: Mapping[str, str]) -> go.Figure | None:
    """How much of the loss's variation each searched setting explains; None with fewer than
    ``MIN_IMPORTANCE_TRIALS`` complete trials (or when it cannot be told: one searched value, equal losses)."""
    if complete_trials(study) < MIN_IMPORTANCE_TRIALS:
        return None
    try:
        fig = optuna.visualization.plot_param_importances(study)
    except (ValueError, RuntimeError):  # a single searched value, or every trial scored the same
        return None
    return _themed(fig, _words(labels, param_labels), height=300)
