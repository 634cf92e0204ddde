"""Which days drove a forecast: integrated gradients are complete, exact where the answer is known, and land on the
marked step of a memory task the network solved."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn

from lstm_core.config import RunConfig
from lstm_core.data import TaskKind, load_task
from lstm_core.gates.explain import explain_window, integrated_gradients, reference_window
from lstm_core.runs.bundle import save_bundle
from lstm_core.runs.run import train_run
from tests.helpers import TINY, cli_refusals, tiny_frame


class ReadsOneStep(nn.Module):
    """A model whose answer is known: ``w`` times the inputs at step ``k``, squashed (not linear, so the path matters)."""

    def __init__(self, k: int, w: torch.Tensor) -> None:
        super().__init__()
        self.k, self.w = k, w

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(x[:, self.k] @ self.w)


def test_the_attribution_lies_on_the_step_the_model_reads_and_adds_up():
    rng = np.random.default_rng(0)
    x, reference = rng.normal(size=(20, 3)), np.zeros((20, 3))
    model = ReadsOneStep(7, torch.tensor([0.5, -1.0, 0.25]))
    a = integrated_gradients(model, x, reference)
    assert a.gap <= 0.02 and a.share_on(np.arange(20) == 7) == pytest.approx(1.0)
    assert np.count_nonzero(a.by_step()) == 1 and a.attribution[7, 1] * x[7, 1] < 0  # the negative weight's sign
    assert a.prediction == pytest.approx(float(np.tanh(x[7] @ [0.5, -1.0, 0.25])), rel=1e-5)
    assert a.baseline_prediction == pytest.approx(0.0, abs=1e-7)


@pytest.fixture(scope="module")
def solved_task():
    torch.set_num_threads(1)
    ds = load_task(TaskKind.REMEMBER, length=30, sequences=1000, seed=0)
    config = RunConfig.for_target(**ds.settings()).with_(hidden=8, epochs=40, lr=0.01)
    return train_run(ds.frame, ds.name, config)


def test_on_a_solved_memory_task_the_attribution_of_a_right_answer_sits_on_the_marked_step(solved_task):
    run = solved_task
    p = run.prepared
    assert run.metrics["model"].rmse < 0.2 * run.metrics["train_mean"].rmse  # the network solved it
    marker = list(run.config.features).index("marker")
    right = np.abs(run.test_predictions - p.actual_values("test")) < 0.1
    shares, gaps = [], []
    for k in np.flatnonzero(right)[:60]:
        a = explain_window(run.model, p, "test", int(k))
        shares.append(a.share_on(p.window("test", int(k)).inputs[:, marker] > 0.5))
        gaps.append(a.gap)
    assert len(shares) >= 30 and np.mean(shares) > 0.8, np.mean(shares)  # measured 0.86
    assert max(gaps) <= 0.02


def test_a_price_window_is_explained_against_a_window_at_its_own_level_on_the_command_line(tmp_path):
    plain = train_run(tiny_frame(), "sine", TINY.with_(epochs=1))  # prices read as they are: the last day held flat
    x = plain.prepared.window("test", -1).x
    np.testing.assert_array_equal(reference_window(plain.prepared, x), np.repeat(x[-1:], len(x), axis=0))
    run = train_run(tiny_frame(), "sine", TINY.with_(normalize="window"))
    x = run.prepared.window("test", -1).x
    reference = reference_window(run.prepared, x)  # per-window normalisation: every channel at its own level, 0
    scaler = run.prepared.feature_scaler
    np.testing.assert_allclose(reference * scaler.std + scaler.mean, 0, atol=1e-5)
    save_bundle(run, tmp_path / "run")
    done = cli_refusals([["explain", "--bundle", str(tmp_path / "run"), "--index", "-1"],
                         ["explain", "--bundle", str(tmp_path / "run"), "--index", "100000"]])
    said = json.loads(done[0].stdout)
    assert done[0].returncode == 0 and np.array(said["attribution"]).shape == (TINY.window, TINY.n_features)
    assert abs(np.sum(said["attribution"]) - (said["prediction"] - said["baseline_prediction"])) <= 0.02 * abs(
        said["prediction"] - said["baseline_prediction"]) + 1e-9
    assert done[1].returncode == 2 and "There is no window 100000" in done[1].stderr
