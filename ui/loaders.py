"""The session's dataset and the cached loaders that fill it (every source's data is cached by what it came from)."""

from __future__ import annotations

import streamlit as st

from lstm_core import data
from lstm_core.data.dataset import title_of
from lstm_core.errors import LabError
from lstm_core.store.disk import DiskBudget
from ui.session import session
from ui.text import lang
from ui.workspace import keep_dataset, workspace_dataset

DEFAULT_SAMPLE = "MSFT"


@st.cache_data(show_spinner=False, max_entries=8)
def cached_sample(ticker: str) -> data.Dataset:
    return data.load_sample(ticker)


@st.cache_data(show_spinner=False, max_entries=16, ttl=6 * 3600)
def cached_yahoo(ticker: str, start: str, end: str, interval: str, offline_fallback: bool) -> data.Dataset:
    loaded = data.load_yahoo(ticker, start, end, interval, offline_fallback=offline_fallback)
    if not loaded.from_cache:  # a new file in the download cache: the oldest go while the disk budget is exceeded
        try:
            DiskBudget.from_env().trim_cache()
        except LabError:  # LSTM_LAB_DATA_MB is wrong: the workspace says so
            pass
    return loaded


@st.cache_data(show_spinner=False, max_entries=8)
def cached_csv(content: bytes, filename: str) -> data.Dataset:
    return data.load_csv(content, filename)


@st.cache_data(show_spinner=False, max_entries=16)
def cached_synthetic(kind: str, n_days: int, seed: int, noise: float) -> data.Dataset:
    return data.load_synthetic(kind, n_days, seed, noise)


@st.cache_data(show_spinner=False, max_entries=8)
def cached_task(kind: str, length: int, sequences: int, seed: int) -> data.Dataset:
    return data.load_task(kind, length, sequences, seed)


def dataset() -> data.Dataset:
    """The dataset every page works on: the one kept with the workspace (or its newest run's), else the default sample."""
    if session.dataset is None:
        kept = workspace_dataset()
        if kept is not None and kept.source == data.Source.SAMPLE:
            kept = cached_sample(kept.subject)  # one copy of a sample for every session
        session.dataset = kept or cached_sample(DEFAULT_SAMPLE)
    return session.dataset


LOADED_KEPT = 12  # price series this session loaded that a basket may pick (a basket's largest size)


def set_dataset(ds: data.Dataset) -> None:
    """Make ``ds`` the session's dataset and keep it with the workspace; price data is also kept among the series a
    basket may pick (the latest ``LOADED_KEPT``)."""
    session.dataset = ds
    session.dataset_not_kept = keep_dataset(ds)
    if ds.task is None and ds.source != data.Source.SAMPLE:
        loaded = session.loaded_series
        loaded.pop(ds.name, None)
        loaded[ds.name] = ds
        while len(loaded) > LOADED_KEPT:
            loaded.pop(next(iter(loaded)))


def dataset_label(name: str) -> str:
    """A run's dataset name in the session's language, read from its stable English id (as the loaded dataset's own
    title says it, before and after a reload)."""
    ds = session.dataset
    return ds.title(lang()) if ds is not None and ds.name == name else title_of(name, lang())
