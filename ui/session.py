"""The browser session's state in one typed place, and the one way a widget keeps its value across pages and languages.

Every value a session holds has a slot here (``session.job``, ``session.runs``, ...), read and written through
``st.session_state`` under a fixed key; nothing else in the app names those keys. A widget keeps its value with
``kept(...)``, which pairs its key with Streamlit's ``persist_state`` and drops a remembered value that no longer
fits the widget's options; tabs, which have no ``persist_state``, use ``kept_tabs``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import streamlit as st

if TYPE_CHECKING:
    from lstm_core.basket.data import Basket
    from lstm_core.basket.run import SavedBasket
    from lstm_core.config import RunConfig
    from lstm_core.data import Dataset
    from lstm_core.errors import LabError
    from lstm_core.jobs.manager import JobTicket
    from lstm_core.runs.run import Run
    from lstm_core.store.workspace import Workspace
    from lstm_core.tune import TuneSpec, TuneWorkerJob

T = TypeVar("T")


class Slot(Generic[T]):
    """One value of the session under a fixed key; reading an unset slot gives its default (a fresh one when
    ``factory`` is given, stored so that it can be filled in place)."""

    def __init__(self, key: str, default: T | None = None, factory: Callable[[], T] | None = None) -> None:
        self.key, self.default, self.factory = key, default, factory

    def __get__(self, owner: object, kind: type | None = None) -> T:
        if self.factory is not None:
            return st.session_state.setdefault(self.key, self.factory())
        return st.session_state.get(self.key, self.default)

    def __set__(self, owner: object, value: T) -> None:
        st.session_state[self.key] = value

    def __delete__(self, owner: object) -> None:
        st.session_state.pop(self.key, None)

    def is_set(self) -> bool:
        return self.key in st.session_state


class Session:
    """Typed access to what one browser session holds."""

    lang: Slot[str] = Slot("lang", "en")
    dataset: Slot[Dataset | None] = Slot("dataset")
    data_just_loaded: Slot[str | None] = Slot("data_just_loaded")  # set by the run that loaded it, before its rerun
    yahoo_failed: Slot[tuple | None] = Slot("yahoo_failed")  # the request whose download failed with a saved copy
    csv_loaded_id: Slot[str | None] = Slot("csv_loaded_id")  # the upload already read
    dataset_not_kept: Slot[LabError | None] = Slot("dataset_not_kept")  # why the workspace could not keep it
    loaded_series: Slot[dict[str, Dataset]] = Slot("loaded_series", factory=dict)  # price data loaded, for a basket
    # training
    job: Slot[JobTicket | None] = Slot("job")
    lost_training_said: Slot[bool] = Slot("lost_training_said", False)  # the workspace's unfinished run, said once
    job_collected: Slot[bool] = Slot("job_collected", False)
    train_config: Slot[RunConfig | None] = Slot("train_config")  # the last config a job started with
    form_data: Slot[str | None] = Slot("form_data")  # the fingerprint of the data the Train form last followed
    runs: Slot[list[Run] | None] = Slot("runs")  # None until the workspace is read (once per session)
    selected_run: Slot[str | None] = Slot("selected_run")
    run_upload_id: Slot[str | None] = Slot("run_upload_id")
    # workspace
    workspace_id: Slot[str | None] = Slot("workspace_id")
    workspace: Slot[Workspace | None] = Slot("workspace")
    workspace_error: Slot[str | None] = Slot("workspace_error")  # the id whose opening failed (said once)
    workspace_key_error: Slot[bool] = Slot("workspace_key_error", False)
    workspace_touched_at: Slot[float | None] = Slot("workspace_touched_at")
    workspace_notices: Slot[list[tuple[bool, str, dict]]] = Slot("workspace_notices", factory=list)
    # pages' own
    tune_spec: Slot[TuneSpec | None] = Slot("tune_spec")
    tune_basket: Slot[Basket | None] = Slot("tune_basket")  # the basket the session's study searches on; None: a series
    basket_result: Slot[tuple[SavedBasket, Basket] | None] = Slot("basket_result")  # the session's latest basket run
    basket_read: Slot[bool] = Slot("basket_read", False)  # the workspace's kept basket run was looked for
    basket_upload_id: Slot[str | None] = Slot("basket_upload_id")  # the basket bundle last opened from an upload
    basket_series: Slot[tuple[str, list[Run]] | None] = Slot("basket_series")  # its series as runs, by its id
    tune_jobs: Slot[Sequence[TuneWorkerJob]] = Slot("tune_jobs", ())
    learn_generation: Slot[int] = Slot("learn_generation", 0)  # new editor keys drop the browser's copy of edits
    tab_index: Slot[dict[str, int]] = Slot("tab_index", factory=dict)
    kept_keys: Slot[set[str]] = Slot("kept_keys", factory=set)  # the widgets ``kept`` holds, relabelled on a switch  # remembered tab of each kept_tabs group


session = Session()


def kept(key: str, default: Any, valid: Callable[[Any], bool] | None = None) -> dict[str, Any]:
    """Keyword arguments for a widget that keeps its value for the whole session, across pages and languages.

    The value lives under ``key`` (Streamlit's ``persist_state`` keeps it while other pages show); one that is
    unset, or no longer ``valid`` for the widget's options (another run, another dataset), becomes ``default``.
    Pass no ``value``/``index``/``default`` of the widget's own beside these.
    """
    if key not in st.session_state or (valid is not None and not valid(st.session_state[key])):
        st.session_state[key] = default
    session.kept_keys.add(key)
    return {"key": key, "persist_state": "session"}


def relabel_kept() -> None:
    """After a language switch: every kept widget's value set again, so that the browser draws it with its label in
    the new language (a selectbox otherwise keeps showing the label it was chosen under)."""
    for key in session.kept_keys:
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]


def kept_tabs(name: str, labels: list[str]) -> list:
    """``st.tabs`` that reopen on the tab last chosen, after a page switch and in either language.

    Tabs have no ``persist_state`` and their value is a label, which a language switch changes: the choice is kept
    as an index in ``session.tab_index``.
    """
    remembered = session.tab_index
    index = min(remembered.get(name, 0), len(labels) - 1)
    widget = f"{name}_tabs_{session.lang}"

    def remember() -> None:
        chosen = st.session_state.get(widget)
        if chosen in labels:
            remembered[name] = labels.index(chosen)

    return st.tabs(labels, default=labels[index], key=widget, on_change=remember)
