"""The session's workspace: its id kept in the page URL (``?ws=``), its runs opened once per session, saves and notices."""

from __future__ import annotations

import streamlit as st

from lstm_core.errors import LabError
from lstm_core.runs import Run
from lstm_core.workspace import Workspace, is_workspace_id, new_workspace_id
from ui.state import plain_params, show_error, tr

WS_PARAM = "ws"
MAX_RUNS = 10  # per session and per workspace; the oldest are dropped beyond this (memory on a shared host)


def init_workspace() -> None:
    """On every run: adopt the workspace the URL names, else start one; keep the URL naming it.

    Page navigation drops query parameters, so the id lives in session state and is written back.
    """
    wanted = st.query_params.get(WS_PARAM)
    current = st.session_state.get("workspace_id")
    if wanted is not None and wanted != current:
        if is_workspace_id(wanted):
            st.session_state.pop("runs", None)  # another workspace's runs: open them afresh
            current = wanted
        elif current is None:  # a mangled or forged link: say so on whichever page it opened
            show_error(LabError("err_ws_bad_id"))
    if current is None:
        current = new_workspace_id()
    st.session_state["workspace_id"] = current
    if wanted != current:
        st.query_params[WS_PARAM] = current


def workspace() -> Workspace | None:
    """The session's workspace, or None (with a sentence, once) when the server's settings are wrong."""
    workspace_id = st.session_state.get("workspace_id")
    if workspace_id is None:
        return None
    cached = st.session_state.get("workspace")
    if isinstance(cached, Workspace) and cached.id == workspace_id:
        return cached
    try:
        opened = Workspace.open(workspace_id, MAX_RUNS)
    except LabError as err:
        if st.session_state.get("workspace_error") != workspace_id:
            st.session_state["workspace_error"] = workspace_id
            notify("error", err.key, **err.params)
        return None
    st.session_state["workspace"] = opened
    return opened


def load_runs() -> list[Run]:
    """The workspace's saved runs, read from disk with the scores this server stored (called once per session)."""
    ws = workspace()
    if ws is None:
        return []
    runs, problems = ws.load_all()
    for err in problems:
        notify("error", err.key, **err.params)
    return runs


def save_run(run: Run) -> tuple[str, ...]:
    """Save ``run`` in the workspace; the ids of the runs that were deleted to make room."""
    ws = workspace()
    if ws is None:
        return ()
    try:
        saved = ws.save(run)
    except LabError as err:
        notify("warning", err.key, **err.params)
        return ()
    except OSError:
        notify("warning", "ws_save_failed", run_id=run.run_id)
        return ()
    if saved.pruned:
        notify("warning", "ws_pruned", limit_mb=ws.cap_bytes >> 20, limit_runs=ws.max_runs, runs=", ".join(saved.pruned))
    return saved.pruned


def notify(kind: str, key: str, **params: object) -> None:
    """Keep a sentence for the next time the runs are drawn (saves often happen in the sidebar's fragment)."""
    st.session_state.setdefault("workspace_notices", []).append((kind, key, params))


def show_notices() -> None:
    """Show, once, what happened to the workspace since the runs were last drawn."""
    for kind, key, params in st.session_state.pop("workspace_notices", []):
        if kind == "error":
            show_error(LabError(key, **params))
        else:
            st.warning(tr(key, **plain_params(params)), icon=":material/delete_sweep:")
