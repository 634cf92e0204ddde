"""A memory task's answer: what the last step of each sequence should read out (the marked value, a sum, a count).

The task's rows are its steps, one sequence after another; a sample is one whole sequence (the window is the
sequence's length) and ends on its last step, so no window ever crosses two sequences and the chronological split
keeps sequences whole. Nothing is known at a sample's end but the inputs: persistence and the price baselines do not
apply, and the model is judged against always predicting the training mean.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lstm_core.errors import LabError
from lstm_core.features import Feature
from lstm_core.targets.base import Series, Target, TargetKind


class Answer(TargetKind):
    id = Target.ANSWER
    # measured (bench/run.py, 6 seeds): a 4-unit LSTM at lr 1e-2 solves the default task (remember, length 100, 2,000
    # sequences) to under 0.1 % of the training mean's squared error in 10-15 s on one core, one unit latching the
    # marker and carrying the value; at lr 3e-3 one seed in six stayed on the first plateau for 50 epochs
    defaults = {"features": (Feature.VALUE, Feature.MARKER), "horizon": 1, "steps": 1, "hidden": 4, "layers": 1,
                "dropout": 0.0, "lr": 1e-2, "batch": 64, "epochs": 200, "patience": 50, "clip_grad": 1.0}
    reads_returns = False
    prediction_is_price = False
    shows_change_chart = False
    can_copy_last = False
    units_key = "units_answer"
    forecast_axis_key = "units_answer"
    digits = 3
    column = "Answer"
    lead_rows = 0  # a task's channels start at its first step
    reference = "train_mean"
    forecasts_ahead = False  # there is no day after the last sequence to forecast
    states_error_share = True  # a solved task's error is a tiny share of always answering the mean's
    window_note_key = "chart_window_note_task"

    def check(self, window: int, horizon: int, steps: int) -> None:
        if horizon != 1 or steps != 1:
            raise LabError("err_cfg_task_ahead", horizon=horizon, steps=steps)

    def sample_ends(self, series: Series, n_rows: int, window: int, horizon: int, steps: int) -> np.ndarray:
        """The last step of every sequence; LabError unless the window is the sequences' length."""
        position = series.position  # [N] each row's step inside its sequence, 0 first
        if position is None or not len(position):
            raise LabError("err_task_frame")
        length = int(position.max()) + 1
        if n_rows % max(length, 1) or not np.array_equal(position, np.arange(n_rows) % max(length, 1)):
            raise LabError("err_task_frame")
        if window != length:
            raise LabError("err_task_window", window=window, length=length)
        return np.arange(length - 1, n_rows, length)

    def split_block(self, series: Series, window: int) -> int:
        return window  # whole sequences: the scalers never see a step of a validation sequence

    def sample_count(self, n_rows: int, window: int, horizon: int) -> int:
        return max(n_rows // window, 1)

    def target_rows(self, ends: np.ndarray, horizon: int) -> np.ndarray:
        return ends  # read out at the sequence's own last step

    def sample_positions(self, dates: pd.Index, series: Series, ends: np.ndarray, horizon: int) -> pd.Index:
        """Each sample's sequence number, 1 first."""
        return pd.Index((ends + 1) // (series.position[ends].astype(int) + 1), name="sequence")

    def value_at(self, series: Series, rows: np.ndarray, ends: np.ndarray, horizon: int) -> np.ndarray:
        return series.answer[rows]

    def readable(self, raw: np.ndarray, series: Series, ends: np.ndarray) -> np.ndarray:
        return raw

    def from_readable(self, values: np.ndarray) -> np.ndarray:
        return np.asarray(values)

    def persistence(self, series: Series, ends: np.ndarray, horizon: int) -> np.ndarray:
        raise NotImplementedError("a task's answer is not known at the sequence's end: its reference is the training mean")

