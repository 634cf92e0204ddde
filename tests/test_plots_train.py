"""The Train page's figure builders: what a reader sees on the axes and in the hover boxes."""

import math

import numpy as np
import pytest

from lstm_core.plots.train import change_figure, loss_figure
from lstm_core.runs.record import EpochRecord

LOSS_LABELS = {"train": "Training loss", "val": "Validation loss", "batch": "Batch loss", "epoch": "epoch", "loss": "MSE"}
CHANGE_LABELS = {"model": "Model", "actual_change": "Actual change", "predicted_change": "Predicted change",
                 "diagonal": "Perfect"}


@pytest.mark.parametrize("actual_scale,predicted_scale", [(1.0, 1.0), (5.0, 0.1), (0.01, 0.02)])
def test_change_chart_axes_span_the_data_not_three_times_it(actual_scale, predicted_scale):
    rng = np.random.default_rng(0)
    actual = rng.normal(0.2, actual_scale, 500)
    predicted = rng.normal(0.0, predicted_scale, 500)
    fig = change_figure(actual, predicted, CHANGE_LABELS)
    both = np.concatenate([actual, predicted])
    data_span = both.max() - both.min()
    for axis in (fig.layout.xaxis, fig.layout.yaxis):
        low, high = axis.range
        assert low <= both.min() and high >= both.max()
        assert (high - low) == pytest.approx(1.1 * data_span)  # 5 % each side, never 3x
    assert fig.layout.yaxis.scaleanchor is None  # plotly would stretch the wide axis again
    assert list(fig.data[0].x) == list(fig.layout.xaxis.range)  # the diagonal runs corner to corner


def test_hovers_name_what_they_show():
    history = [EpochRecord(0, 1.0, 1.1, 0.1, math.nan), EpochRecord(1, 0.5, 0.6, 0.2, 900.0)]
    fig = loss_figure(history, [0.5, 1.0], [0.8, 0.55], LOSS_LABELS)
    templates = {trace.name: trace.hovertemplate for trace in fig.data}
    assert templates["Batch loss"] == "Batch loss %{y:.4g} · epoch %{x:.2f}<extra></extra>"
    assert templates["Validation loss"] == "Validation loss %{y:.4g} · epoch %{x:d}<extra></extra>"
    change = change_figure(np.array([1.0, -1.0]), np.array([0.5, 0.2]), CHANGE_LABELS)
    assert "Actual change %{x:.4g}" in change.data[1].hovertemplate


def test_a_loss_over_decades_has_few_labels_per_decade():
    """A memory task's loss falls from about 1 to 1e-4: the fine 1-2-3... steps printed dozens of labels on each other."""
    from lstm_core.plots.train import log_axis_ticks

    wide = log_axis_ticks([1.2, 0.3, 0.01, 0.00016])
    assert wide["ticktext"] == ["0.001", "0.01", "0.1", "1"]
    middle = log_axis_ticks([1.2, 0.004])  # two and a half decades: 1-2-5
    assert wide["tickvals"] != middle["tickvals"] and len(middle["tickvals"]) <= 9
    assert len(log_axis_ticks([1.3, 1.1])["tickvals"]) >= 3  # a narrow span keeps its own fine ticks
