"""The session's workspace: its id kept in the page URL (``?ws=``), its runs opened once per session, saves and
notices; and the server's share of the disk: crash leftovers swept once per process, open workspaces kept from expiry."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import streamlit as st
from streamlit import runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

from lstm_core.basket.data import Basket
from lstm_core.basket.run import SavedBasket
from lstm_core.data import Dataset
from lstm_core.data.sources import cache_dir
from lstm_core.errors import LabError
from lstm_core.i18n import Sentences
from lstm_core.runs.run import Run
from lstm_core.store.disk import MAINTAIN_EVERY_S, DiskBudget, Swept, sweep_leftovers
from lstm_core.store.workspace import (
    DATASET_ALLOWANCE_BYTES,
    DatasetKept,
    Workspace,
    check_workspace_id,
    data_dir,
    new_workspace_id,
)
from ui.session import session
from ui.text import show_error, tr

WS_PARAM = "ws"
MAX_RUNS = 10  # per session and per workspace; the oldest are dropped beyond this (memory on a shared host)
TOUCH_EVERY_S = 60.0  # how often an open session records that its workspace is in use (well inside IN_USE_GRACE_S)


def init_workspace() -> None:
    """On every run: adopt the workspace the URL names, else start one; keep the URL naming it.

    Page navigation drops query parameters, so the id lives in session state and is written back. An id this
    server did not issue is refused with a sentence, like a malformed one; a workspace whose runs expired says so.
    """
    wanted = st.query_params.get(WS_PARAM)
    current = session.workspace_id
    adopted, said = False, set()
    if wanted is not None and wanted != current:
        try:
            check_workspace_id(wanted)
            del session.runs  # another workspace's runs and dataset: open them afresh
            del session.dataset
            current, adopted = wanted, True
        except LabError as err:
            if current is None:  # a mangled or forged link: say so on whichever page it opened
                show_error(err)
                said.add(err.key)
    if current is None:
        try:
            current = new_workspace_id()
        except LabError as err:  # the server cannot keep its key: runs stay in the tab
            if not session.workspace_key_error and err.key not in said:
                show_error(err)
            session.workspace_key_error = True
            return
    session.workspace_id = current
    if wanted != current:
        st.query_params[WS_PARAM] = current
    if adopted and (ws := workspace()) is not None and (day := ws.expired_on()) is not None:
        st.warning(tr("ws_expired", date=day), icon=":material/auto_delete:")


def workspace() -> Workspace | None:
    """The session's workspace, or None (with a sentence, once) when the server's settings are wrong."""
    workspace_id = session.workspace_id
    if workspace_id is None:
        return None
    cached = session.workspace
    if isinstance(cached, Workspace) and cached.id == workspace_id:
        _record_use(cached)
        return cached
    try:
        opened = Workspace.open(workspace_id, MAX_RUNS, address=client_address())
    except LabError as err:
        if session.workspace_error != workspace_id:
            session.workspace_error = workspace_id
            notify(err.key, is_error=True, **err.params)
        return None
    session.workspace = opened
    del session.workspace_touched_at
    _record_use(opened)
    return opened


def client_address() -> str | None:
    """The visitor's network address as the server sees it (None on this machine): its workspaces share one part of
    the server's disk. Behind a proxy every visitor has the proxy's."""
    try:
        address = st.context.ip_address
    except (AttributeError, RuntimeError):  # no request behind this run
        return None
    return address if isinstance(address, str) else None  # AppTest answers with a stand-in


def _record_use(ws: Workspace) -> None:
    """Keep ``ws`` from expiring while this session is open: in the live registry, and (every minute) on disk."""
    ctx = get_script_run_ctx()
    if ctx is not None:
        live_workspaces().note(ctx.session_id, ws.id)
    now = time.monotonic()
    touched = session.workspace_touched_at
    if touched is None or now - touched >= TOUCH_EVERY_S:
        session.workspace_touched_at = now
        try:
            ws.touch()
        except OSError:  # a use not recorded only makes the workspace look older
            pass


class LiveWorkspaces:
    """Which workspace each browser session of this server process has open: those never expire."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_session: dict[str, str] = {}

    def note(self, session_id: str, workspace_id: str) -> None:
        with self._lock:
            self._by_session[session_id] = workspace_id

    def in_use(self) -> set[str]:
        """The workspaces of sessions still connected (all noted ones where there is no server to ask: AppTest)."""
        with self._lock:
            if runtime.exists():
                server = runtime.get_instance()
                self._by_session = {s: w for s, w in self._by_session.items() if server.is_active_session(s)}
            return set(self._by_session.values())


@st.cache_resource(show_spinner=False)
def live_workspaces() -> LiveWorkspaces:
    return LiveWorkspaces()


@st.cache_resource(show_spinner=False)
def _swept(data: str, cache: str) -> Swept:
    return sweep_leftovers(Path(data), Path(cache))


class _Upkeep:
    """When the disk was last tidied (tombstones, empty workspaces and journals past their time), once an hour."""

    def __init__(self) -> None:
        self.lock, self.done_at = threading.Lock(), -float("inf")


@st.cache_resource(show_spinner=False)
def _upkeep(data: str) -> _Upkeep:
    return _Upkeep()


def sweep_crash_leftovers() -> Swept:
    """Once per server process (and data dir): remove what a crash mid-save left; then, at most every hour, what has
    outlived its use (``DiskBudget.maintain``). app.py calls it on every run."""
    swept = _swept(str(data_dir()), str(cache_dir()))
    upkeep = _upkeep(str(data_dir()))
    if time.monotonic() - upkeep.done_at >= MAINTAIN_EVERY_S and upkeep.lock.acquire(blocking=False):
        try:
            upkeep.done_at = time.monotonic()
            DiskBudget.from_env().maintain(in_use=live_workspaces().in_use())
        except (LabError, OSError):
            pass  # a wrong setting is said where a save needs it; a file that went meanwhile is gone anyway
        finally:
            upkeep.lock.release()
    return swept


def load_runs() -> list[Run]:
    """The workspace's saved runs, read from disk with the scores this server stored (called once per session)."""
    ws = workspace()
    if ws is None:
        return []
    runs, problems = ws.load_all()
    for err in problems:
        notify(err.key, is_error=True, **err.params)
    return runs


def _saved_in_workspace(save: Callable[[Workspace], tuple[str, ...]], run_id: str) -> tuple[str, ...]:
    """``save(workspace)`` for the session's workspace: the ids of the runs deleted to make room, said; a refusal or a
    disk that refuses is said too, and the run stays in this tab."""
    ws = workspace()
    if ws is None:
        return ()
    try:
        pruned = save(ws)
    except LabError as err:
        notify(err.key, **err.params)
        return ()
    except OSError:
        notify("ws_save_failed", run_id=run_id)
        return ()
    if pruned:
        notify("ws_pruned", limit_mb=ws.cap_bytes >> 20, limit_runs=ws.max_runs, runs=", ".join(pruned))
    return pruned


def save_run(run: Run) -> tuple[str, ...]:
    """Save ``run`` in the workspace; the ids of the runs that were deleted to make room."""
    return _saved_in_workspace(lambda ws: ws.save(run, in_use=live_workspaces().in_use()).pruned, run.run_id)


def save_basket(saved: SavedBasket, basket: Basket) -> tuple[str, ...]:
    """Keep a finished basket run in the workspace (replacing the one before), so that a refresh or a restart brings
    it back; the ids of the runs deleted to make room."""
    return _saved_in_workspace(lambda ws: ws.save_basket(saved, basket, in_use=live_workspaces().in_use()),
                               saved.run_id)


def load_basket() -> tuple[SavedBasket, Basket] | None:
    """The basket run kept in the workspace, scored again from its bundle; None when it has none. A damaged one is
    said (what is wrong with it), and left out."""
    ws = workspace()
    if ws is None:
        return None
    try:
        return ws.load_basket()
    except LabError as err:
        notify("ws_basket_unreadable", is_error=True, error=Sentences(((err.key, err.params),)))
    except (OSError, ValueError):  # its folder being replaced by another tab just now: none, this time
        pass
    return None


def keep_dataset(ds: Dataset) -> LabError | None:
    """Keep ``ds`` with the workspace, so that a refresh or a restart brings it back; the sentence when it cannot, or
    when it will be kept only with the first run trained on it (``ws_dataset_with_run``)."""
    ws = workspace()
    if ws is None:
        return None
    try:
        saved = ws.save_dataset(ds, in_use=live_workspaces().in_use())
    except LabError as err:
        return err
    except OSError:
        return LabError("ws_dataset_save_failed")
    if saved.kept is DatasetKept.WITH_RUN:
        return LabError("ws_dataset_with_run", size_mb=round(saved.csv_bytes / 2**20, 1),
                        limit_mb=DATASET_ALLOWANCE_BYTES >> 20)
    return None


def workspace_dataset() -> Dataset | None:
    """The dataset kept with the workspace (or its newest run's), None when it has none; a damaged one is said."""
    ws = workspace()
    if ws is None:
        return None
    try:
        return ws.load_dataset()
    except LabError as err:
        notify(err.key, is_error=True, **err.params)
    except (OSError, ValueError):  # a run folder being replaced by another tab: the sample, this time
        pass
    return None


def notify(key: str, is_error: bool = False, **params: object) -> None:
    """Keep a sentence for the next time the runs are drawn (saves often happen in the sidebar's fragment)."""
    session.workspace_notices.append((is_error, key, params))


def show_notices() -> None:
    """Show, once, what happened to the workspace since the runs were last drawn."""
    notices = session.workspace_notices
    del session.workspace_notices
    for is_error, key, params in notices:
        if is_error:
            show_error(LabError(key, **params))
        else:
            st.warning(tr(key, **params), icon=":material/delete_sweep:")
