"""Session state in one place: the language, the loaded dataset, and the sidebar that shows them."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import streamlit as st

from lstm_core import data
from lstm_core.disk import DiskBudget
from lstm_core.errors import LabError
from lstm_core.i18n import LANGUAGES, t

DEFAULT_SAMPLE = "MSFT"
_router_ran = False  # becomes True the first time app.py runs in this server process


def mark_router_ran() -> None:
    """Called by app.py on every run."""
    global _router_ran
    _router_ran = True


def require_router() -> None:
    """Send a page that runs without app.py back through it.

    Because the design keeps pages in a folder called ``pages/``, Streamlit starts in its legacy
    multipage mode and, until ``st.navigation`` is first called, runs a deep-linked page (``/train``)
    on its own. Calling ``st.navigation`` switches that mode off for the whole process; the rerun then
    goes through app.py and lands on the same page.
    """
    if not _router_ran:
        st.navigation(app_pages(), position="hidden")
        st.rerun()


def app_pages() -> list[st.Page]:
    """The app's pages, in navigation order, titled in the session's language."""
    root = Path(__file__).resolve().parent.parent / "pages"
    icons = {"home": "home", "data": "candlestick_chart", "train": "model_training", "tune": "tune", "gates": "memory",
             "forecast": "query_stats", "learn": "school"}
    return [
        st.Page(root / f"{name}.py", title=tr(f"nav_{name}"), icon=f":material/{icon}:", help=tr(f"nav_{name}_help"),
                default=name == "home")
        for name, icon in icons.items()
    ]


def lang() -> str:
    """The language chosen in the sidebar ('en' or 'zh')."""
    return st.session_state.get("lang", "en")


def tr(key: str, **params: object) -> str:
    """``key`` translated into the session's language."""
    return t(key, lang(), **params)


# What can start Markdown inside a line (emphasis, code, links and images, HTML, $LaTeX$, tables, headings,
# Streamlit's :colour[...] directives and :icons:, autolinks http://, www. and a@b, entities, "--"), each
# escaped with the backslash CommonMark allows before any punctuation; ordinary names pass unchanged
_MARKDOWN_INLINE = re.compile(r"[\\`*_~\[\]<>$|#:@]|&(?=#?\w+;)|-(?=-)|(?<![\w.])(?i:www)\.")
_MARKDOWN_LINE_START = re.compile(r"^(\d{0,9})([-+.)])(?= |$)")  # "- x", "+ x", "1. x", "1) x" start a list


def plain(text: object) -> str:
    """``text`` shown literally where Streamlit renders Markdown: names from files, bundles and URLs."""
    flat = " ".join(str(text).split())  # no line breaks: nothing can start a block on a later line
    escaped = _MARKDOWN_INLINE.sub(lambda m: m[0][:-1] + "\\." if m[0].endswith(".") else "\\" + m[0], flat)
    return _MARKDOWN_LINE_START.sub(lambda m: m[1] + "\\" + m[2] if m[1] or m[2] in "-+" else m[0], escaped)


def plain_params(params: dict[str, object]) -> dict[str, object]:
    """A sentence's parameters with every string escaped by ``plain`` (numbers keep their format specs)."""
    return {k: plain(v) if isinstance(v, str) else v for k, v in params.items()}


def remembered_tabs(labels: list[str], name: str = "learn") -> list:
    """``st.tabs`` that reopen on the tab the user last chose, after a page switch and in either language.

    The choice is kept as an index under a key no widget owns (a widget's own state is dropped when its page is
    left, and its value is a label, which a language switch changes).
    """
    index_key, widget = f"{name}_tab_index", f"{name}_tabs_{lang()}"
    index = min(st.session_state.get(index_key, 0), len(labels) - 1)

    def remember() -> None:
        chosen = st.session_state.get(widget)
        if chosen in labels:
            st.session_state[index_key] = labels.index(chosen)

    return st.tabs(labels, default=labels[index], key=widget, on_change=remember)


def show_error(err: LabError) -> None:
    """A user's mistake as one translated sentence, never a traceback; names in it are shown literally."""
    st.error(t(err.key, lang(), **plain_params(err.params)), icon=":material/error:")


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


def init_session() -> None:
    """Defaults for a new browser session (English, the bundled sample), and its workspace named in the URL."""
    from ui.workspace import init_workspace  # ui.workspace imports this module

    st.session_state.setdefault("lang", "en")
    if "dataset" not in st.session_state:
        st.session_state["dataset"] = cached_sample(DEFAULT_SAMPLE)
    init_workspace()


def dataset() -> data.Dataset:
    """The dataset every page works on."""
    return st.session_state["dataset"]


def dataset_label(name: str) -> str:
    """A run's dataset name in the session's language where it is the loaded dataset's (runs keep the English id)."""
    ds = st.session_state.get("dataset")
    return ds.title(lang()) if ds is not None and ds.name == name else name


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
            st.markdown(tr("sidebar_dataset", name=plain(ds.title(lang())), rows=len(ds.frame)))
        from ui.training import collect_finished_job, current_job, model_status  # ui.training imports this module

        job = current_job()

        @st.fragment(run_every=2.0 if job is not None and not job.finished else None)
        def model_line() -> None:  # ticks only while this session's job is queued or training
            collect_finished_job()
            st.markdown(model_status())

        model_line()
