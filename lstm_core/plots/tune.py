"""Figures of the Tune page: Optuna's own study plots, with every English word of theirs replaced by ours.

Optuna draws the history, the per-epoch values, the parallel coordinates and the importances well; it labels them
in English and with raw parameter names. ``relabel`` walks a figure and swaps each such string for the page's
translated one, so a Chinese page shows no English and no field names.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import optuna
import plotly.graph_objects as go
from optuna.trial import TrialState

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


def _themed(fig: go.Figure, title: str, words: Mapping[str, str], height: int = 340) -> go.Figure:
    spec = relabel(fig.to_plotly_json(), words)
    # the "Infeasible Trial" trace belongs to constrained studies; ours have none, and its name is English
    spec["data"] = [t for t in spec["data"] if t.get("name") != "Infeasible Trial"]
    out = go.Figure(spec)
    out.update_layout(title=dict(text=title, font=dict(size=15)), height=height, margin=dict(t=50, b=40, l=60, r=20),
                      template="plotly_white", uirevision=title)
    return out


def _words(labels: Mapping[str, str], param_labels: Mapping[str, str]) -> dict[str, str]:
    return {**{en: labels[key] for en, key in _OPTUNA_WORDS.items()}, **param_labels}


def _finished(study: optuna.Study) -> int:
    return sum(t.state == TrialState.COMPLETE for t in study.get_trials(deepcopy=False))


def history_figure(study: optuna.Study, labels: Mapping[str, str], param_labels: Mapping[str, str]) -> go.Figure:
    """Each complete trial's validation loss and the best so far.

    ``labels``: ``value``, ``best``, ``trial``, ``epoch``, ``importance``, ``setting`` and the four ``title_*``;
    ``param_labels``: what to show for each setting's name and each of its choices' raw values.
    """
    fig = optuna.visualization.plot_optimization_history(study)
    return _themed(fig, labels["title_history"], _words(labels, param_labels))


def intermediate_figure(study: optuna.Study, labels: Mapping[str, str],
                        param_labels: Mapping[str, str]) -> go.Figure:
    """Validation loss by epoch of every trial, pruned ones ending where they were stopped."""
    fig = optuna.visualization.plot_intermediate_values(study)
    return _themed(fig, labels["title_intermediate"], _words(labels, param_labels))


def parallel_figure(study: optuna.Study, labels: Mapping[str, str],
                    param_labels: Mapping[str, str]) -> go.Figure | None:
    """The searched settings of each complete trial, coloured by its loss; None before a trial completed."""
    if _finished(study) < 1:
        return None
    fig = optuna.visualization.plot_parallel_coordinate(study)
    return _themed(fig, labels["title_parallel"], _words(labels, param_labels), height=380)


def importance_figure(study: optuna.Study, labels: Mapping[str, str],
                      param_labels: Mapping[str, str]) -> go.Figure | None:
    """How much of the loss's variation each searched setting explains; None with fewer than two complete trials."""
    if _finished(study) < 2:
        return None
    try:
        fig = optuna.visualization.plot_param_importances(study)
    except (ValueError, RuntimeError):  # a single searched value, or every trial scored the same
        return None
    return _themed(fig, labels["title_importance"], _words(labels, param_labels), height=300)
