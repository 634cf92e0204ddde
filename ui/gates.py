"""What the Gates page inspects (a trained run, or a freshly initialised model on the loaded data) and the choices it remembers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st
import torch

from lstm_core.config import Cell, RunConfig, Target
from lstm_core.data import Dataset
from lstm_core.model import Forecaster, build_model
from lstm_core.pipeline import Prepared
from lstm_core.runs import Run
from lstm_core.trainer import predict

# with nothing trained yet, the page shows an untrained model of the article's kind (1 x 50): tomorrow's price from returns
UNTRAINED_PREVIEW = RunConfig.for_target(target=Target.LOGRET, hidden=50)
SATURATION_WINDOWS = 128  # test windows whose steps the saturation scatter counts
_REMEMBERED = "gates_remembered"  # not a widget key, so Streamlit keeps it while other pages show


@dataclass(eq=False)
class GateSource:
    """A model, its prepared data, the predicted price of every test window and (for a run) its initial weights."""

    label: str
    dataset_title: str
    config: RunConfig
    model: Forecaster
    prepared: Prepared
    initial_model: Forecaster | None
    test_prices: np.ndarray  # [S] predicted price of each test window, in the order of prepared.split_ends["test"]

    def predicted_price(self, k: int) -> float:
        """The model's predicted price for test window ``k``."""
        return float(self.test_prices[k])

    def last_test_windows(self, n: int) -> torch.Tensor:
        x, _ = self.prepared.tensors("test")  # [S, T, F]
        return x[-n:]


def run_source(run: Run) -> GateSource:
    return GateSource(run.run_id, run.dataset_name, run.config, run.model, run.prepared, run.initial_model(),
                      run.test_predictions)


def predicted_test_prices(model: Forecaster, prepared: Prepared) -> np.ndarray:
    """Predicted prices of all test windows at once: ``[S]``.

    ``Prepared.to_readable`` turns a return into a price from each sample's own last price, so it must
    get one output per test window; one output alone came back priced off the first window.
    """
    return prepared.to_readable("test", predict(model, prepared.tensors("test")[0]).numpy())


@st.cache_resource(max_entries=4, show_spinner=False)
def _fresh(fingerprint: str, config: RunConfig, _frame: pd.DataFrame) -> tuple[Prepared, Forecaster, np.ndarray]:
    # keyed by a hash of the prices themselves: two visitors' files that share a name, a length and a last
    # date must not share an entry; read-only afterwards, so sharing one entry per content is safe
    prepared = Prepared(_frame, config)
    model = build_model(config).eval()
    return prepared, model, predicted_test_prices(model, prepared)


def fresh_source(ds: Dataset, config: RunConfig, dataset_title: str) -> GateSource:
    config = config.with_(cell=Cell.LSTM)
    prepared, model, prices = _fresh(ds.fingerprint, config, ds.frame)
    return GateSource("—", dataset_title, config, model, prepared, None, prices)


def restore_choice(key: str, default: Any, valid: Callable[[Any], bool]) -> None:
    """Before widget ``key`` is drawn: give it the value it last had (if still ``valid``), else ``default``.

    Streamlit forgets a widget's value when a run does not draw it (another page showed) and when its
    label changes (the language switched); the value is kept under a key no widget owns.
    """
    remembered = st.session_state.get(_REMEMBERED, {})
    candidates = [st.session_state[key]] if key in st.session_state else []
    candidates += [remembered[key]] if key in remembered else []
    # assigned even when unchanged: a widget whose label changed is a new widget, and takes the
    # value given through session state rather than its default
    st.session_state[key] = next((value for value in candidates if valid(value)), default)


def remember_choice(key: str) -> Any:
    """After widget ``key`` is drawn: keep its value for ``restore_choice``, and return it."""
    value = st.session_state[key]
    st.session_state.setdefault(_REMEMBERED, {})[key] = value
    return value
