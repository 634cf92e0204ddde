"""The app's pages and the router every page goes through."""

from __future__ import annotations

import importlib
import threading
from pathlib import Path

import streamlit as st

from lstm_core.baselines import garch
from ui.text import tr

PAGE_ICONS = {"home": "home", "data": "candlestick_chart", "train": "model_training", "basket": "stacked_line_chart",
              "tune": "tune", "gates": "memory",
              "forecast": "query_stats", "learn": "school"}
_router_ran = False  # becomes True the first time app.py runs in this server process


@st.cache_resource(show_spinner=False)
def warm_imports() -> threading.Thread:
    """Import what a run's scores need but the first page does not (GARCH's arch: 2-3 s) on a thread of its own, once
    per server process: a later import waits for it instead of doing it again."""
    thread = threading.Thread(target=importlib.import_module, args=(garch.SLOW_IMPORT,), name="warm-imports", daemon=True)
    thread.start()
    return thread


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
    return [
        st.Page(root / f"{name}.py", title=tr(f"nav_{name}"), icon=f":material/{icon}:", help=tr(f"nav_{name}_help"),
                default=name == "home")
        for name, icon in PAGE_ICONS.items()
    ]
