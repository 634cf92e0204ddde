"""Session state in one place: the language, the loaded dataset, and the sidebar that shows them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from lstm_core import data
from lstm_core.errors import LabError
from lstm_core.i18n import LANGUAGES, t

DEFAULT_SAMPLE = "MSFT"


def lang() -> str:
    """The language chosen in the sidebar ('en' or 'zh')."""
    return st.session_state.get("lang", "en")


def tr(key: str, **params: object) -> str:
    """``key`` translated into the session's language."""
    return t(key, lang(), **params)


def show_error(err: LabError) -> None:
    """A user's mistake as one translated sentence, never a traceback."""
    st.error(err.message(lang()), icon=":material/error:")


def attempt(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any | None:
    """Call ``fn``; on LabError show its sentence and return None, so the caller keeps what it had."""
    try:
        return fn(*args, **kwargs)
    except LabError as err:
        show_error(err)
        return None


@st.cache_data(show_spinner=False, max_entries=8)
def cached_sample(ticker: str) -> data.Dataset:
    return data.load_sample(ticker)


@st.cache_data(show_spinner=False, max_entries=16, ttl=6 * 3600)
def cached_yahoo(ticker: str, start: str, end: str, interval: str, offline_fallback: bool) -> data.Dataset:
    return data.load_yahoo(ticker, start, end, interval, offline_fallback=offline_fallback)


@st.cache_data(show_spinner=False, max_entries=8)
def cached_csv(content: bytes, filename: str) -> data.Dataset:
    return data.load_csv(content, filename)


@st.cache_data(show_spinner=False, max_entries=16)
def cached_synthetic(kind: str, n_days: int, seed: int, noise: float) -> data.Dataset:
    return data.load_synthetic(kind, n_days, seed, noise)


def init_session() -> None:
    """Defaults for a new browser session: English, and the bundled sample loaded."""
    st.session_state.setdefault("lang", "en")
    if "dataset" not in st.session_state:
        st.session_state["dataset"] = cached_sample(DEFAULT_SAMPLE)


def dataset() -> data.Dataset:
    """The dataset every page works on."""
    return st.session_state["dataset"]


def set_dataset(ds: data.Dataset) -> None:
    st.session_state["dataset"] = ds


def sidebar() -> None:
    """Language switch and a summary of what this session holds."""
    with st.sidebar:
        st.segmented_control(
            tr("language"), options=list(LANGUAGES), format_func=LANGUAGES.get, key="lang", required=True
        )
        st.caption(tr("sidebar_session"))
        ds = st.session_state.get("dataset")
        if ds is None:
            st.markdown(tr("sidebar_no_dataset"))
        else:
            st.markdown(tr("sidebar_dataset", name=ds.name, rows=len(ds.frame)))
        from ui.training import collect_finished_job, current_job, model_status  # ui.training imports this module

        job = current_job()

        @st.fragment(run_every=2.0 if job is not None and not job.finished else None)
        def model_line() -> None:  # ticks only while this session's job is queued or training
            collect_finished_job()
            st.markdown(model_status())

        model_line()
