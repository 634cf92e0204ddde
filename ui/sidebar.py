"""What every page shares: a new session's defaults, and the sidebar with the language and what the session holds."""

from __future__ import annotations

import streamlit as st

from lstm_core.i18n import LANGUAGES
from ui.loaders import dataset
from ui.runs import LIVE_REDRAW_S, collect_finished_job, current_job, model_status
from ui.session import relabel_kept, session
from ui.text import lang, tr
from ui.workspace import init_workspace

LANG_PARAM = "lang"  # the URL keeps the language, so a reload or a shared link opens in it


def init_session() -> None:
    """Defaults for a new browser session (the URL's language, else English; the bundled sample), and its workspace
    named in the URL."""
    if "lang" not in st.session_state:  # a new browser session, a reload among them
        wanted = st.query_params.get(LANG_PARAM)
        session.lang = wanted if wanted in LANGUAGES else "en"
    session.lang = session.lang  # the sidebar's language widget reads its value from this key
    if session.lang == "en":  # page navigation drops query parameters: written back on every run
        if LANG_PARAM in st.query_params:
            del st.query_params[LANG_PARAM]
    elif st.query_params.get(LANG_PARAM) != session.lang:
        st.query_params[LANG_PARAM] = session.lang
    init_workspace()
    dataset()  # the workspace's dataset, else the default sample


def sidebar() -> None:
    """Language switch and a summary of what this session holds."""
    with st.sidebar:
        st.segmented_control(
            tr("language"), options=list(LANGUAGES), format_func=LANGUAGES.get, key="lang", required=True,
            on_change=relabel_kept,
        )
        st.caption(tr("sidebar_session"))
        ds = session.dataset
        if ds is None:
            st.markdown(tr("sidebar_no_dataset"))
        else:
            st.markdown(tr("sidebar_dataset", name=ds.title(lang()), rows=len(ds.frame)))
        job = current_job()

        @st.fragment(run_every=LIVE_REDRAW_S if job is not None and not job.finished else None)
        def model_line() -> None:  # ticks only while this session's job is queued or training
            collect_finished_job()
            st.markdown(model_status())

        model_line()
