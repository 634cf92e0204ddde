"""What the Gates page inspects: a trained run, or a freshly initialised model on the loaded data."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st
import torch

from lstm_core.config import RunConfig
from lstm_core.data import Dataset
from lstm_core.model import Forecaster, build_model
from lstm_core.pipeline import Prepared
from lstm_core.runs import Run
from lstm_core.trainer import predict

SATURATION_WINDOWS = 128  # test windows whose steps the saturation scatter counts


@dataclass
class GateSource:
    """A model, its prepared data, and (for a trained run) the weights it started from."""

    label: str
    dataset_name: str
    config: RunConfig
    model: Forecaster
    prepared: Prepared
    initial_model: Forecaster | None
    test_prices: np.ndarray | None = None  # predicted prices of every test window, when already known

    def predicted_price(self, k: int) -> float:
        if self.test_prices is not None:
            return float(self.test_prices[k])
        x, _ = self.prepared.tensors("test")
        return float(self.prepared.to_readable("test", predict(self.model, x[k : k + 1]).numpy(), index=[k])[0])

    def last_test_windows(self, n: int) -> torch.Tensor:
        x, _ = self.prepared.tensors("test")  # [S, T, F]
        return x[-n:]


def run_source(run: Run) -> GateSource:
    return GateSource(run.run_id, run.dataset_name, run.config, run.model, run.prepared, run.initial_model(),
                      run.test_predictions)


@st.cache_resource(max_entries=4, show_spinner=False)
def _fresh(name: str, rows: int, last: pd.Timestamp, config: RunConfig, _frame: pd.DataFrame) -> tuple[Prepared, Forecaster]:
    # read-only and identical for everyone who loads the same data: shared across sessions
    return Prepared(_frame, config), build_model(config).eval()


def fresh_source(ds: Dataset, config: RunConfig) -> GateSource:
    config = config.with_(cell="lstm")
    prepared, model = _fresh(ds.name, len(ds.frame), ds.frame.index[-1], config, ds.frame)
    return GateSource("—", ds.name, config, model, prepared, None)
