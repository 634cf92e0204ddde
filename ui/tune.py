"""Widget groups of the Tune page: what to search, the study's workers, and its live charts read from storage."""

from __future__ import annotations

import re
import uuid

import pandas as pd
import streamlit as st
from optuna.trial import TrialState

from lstm_core import tune
from lstm_core.basket.data import Basket
from lstm_core.config import SETTINGS, RunConfig
from lstm_core.errors import LabError
from lstm_core.jobs.limits import check_job_fits
from lstm_core.jobs.manager import JobStatus, default_manager
from lstm_core.plots.tune import (
    MIN_IMPORTANCE_TRIALS,
    history_figure,
    importance_figure,
    intermediate_figure,
    parallel_figure,
)
from lstm_core.server_settings import setting, spec
from ui.basket import basket_ui, inputs_ui, start_basket
from ui.loaders import dataset
from ui.runs import session_probe, start_job
from ui.session import kept, session
from ui.settings import CHOICE_PREFIX, choice_label, config_for_data, label_key, value_label
from ui.text import lang, show_error, tr

STORAGE_ENV = spec("tune_storage").env  # a server whose studies live in PostgreSQL sets this; else the journal file
REDRAW_S = 2.0


def storage_url() -> str | None:
    return setting("tune_storage")


# sentences that name a file on this server, and the page's own: a visitor never sees the server's paths
_PAGE_SENTENCES = {"err_tune_journal_damaged": "err_tune_journal_damaged_page",
                   "err_tune_journal_unwritable": "err_tune_journal_unwritable_page"}


def show_tune_error(err: LabError) -> None:
    """A study's error as one sentence; one that names a journal file is said without its path."""
    if err.key in _PAGE_SENTENCES:
        err = LabError(_PAGE_SENTENCES[err.key], **{k: v for k, v in err.params.items() if k != "file"})
    show_error(err)


def storage_line() -> str:
    """Where this server keeps its studies, in words: a database's URL with its secrets masked, never a path."""
    url = storage_url()
    return tr("tune_storage_journal") if tune.is_journal(url) else tr("tune_storage", url=tune.mask_url(url))


def current_study() -> tuple[tune.TuneSpec | None, list[tune.TuneWorkerJob]]:
    """The session's study and its worker jobs (none before a study was started)."""
    return session.tune_spec, session.tune_jobs


def is_busy(jobs: list[tune.TuneWorkerJob]) -> bool:
    return any(not job.finished for job in jobs)


def state_key(state: TrialState) -> str:
    """The translation key of a trial state: ``tune_state_complete``, ..."""
    return f"tune_state_{state.name.lower()}"


def pruner_key(kind: tune.PrunerKind) -> str:
    return f"tune_pruner_{kind.value}"


def _setting_label(name: str) -> str:
    """A setting's label as the Train form shows it for the loaded data (a memory task counts steps, not days)."""
    return tr(label_key(f"cfg_{name}", dataset().is_task))


def _param_labels() -> dict[str, str]:
    return {name: _setting_label(name) for name in tune.searchable_names()}


def _chart_words() -> dict[str, str]:
    """Searched settings' names and their choices' raw values, as the charts should show them."""
    choices = {value: choice_label(name, value) for name in tune.searchable_names() if name in CHOICE_PREFIX
               for value in tune.table_dim(name).choices}
    return {**_param_labels(), **choices}


def _chart_labels() -> dict[str, str]:
    return {"value": tr("tune_axis_value"), "best": tr("tune_legend_best"), "pruned": tr("tune_legend_pruned"),
            "trial": tr("tune_axis_trial"), "epoch": tr("tune_axis_epoch"), "importance": tr("tune_axis_importance"),
            "setting": tr("tune_axis_setting")}


def _settings_text(values: dict[str, object]) -> str:
    """Settings as the page says them: ``window 60 · horizon 20 · features log |return|``, in the table's order."""
    return " · ".join(f"{_setting_label(name)} {value_label(name, values[name])}" for name in SETTINGS
                      if name in values)


def _search_text(dims: list[tune.Dim]) -> str:
    """A search as the page says it: ``hidden units 8–128 · cell LSTM, GRU``."""
    return " · ".join(f"{_setting_label(d.name)} {value_label(d.name, list(d.choices))}" if d.choices else
                      f"{_setting_label(d.name)} {value_label(d.name, d.low)}–{value_label(d.name, d.high)}"
                      for d in dims)


def facts_ui(fixed: dict[str, object], dims: list[tune.Dim], fixed_key: str = "tune_fixed_study") -> None:
    """What a study is: its target, the settings every trial shares (said by ``fixed_key``), what it searches."""
    st.markdown(tr("tune_target_line", target=choice_label("target", str(fixed["target"]))))
    rest = {k: v for k, v in fixed.items() if k != "target"}
    st.caption(tr(fixed_key, settings=_settings_text(rest)))
    if dims:
        st.caption(tr("tune_search_line", search=_search_text(dims)))


def _dim_ui(name: str, disabled: bool) -> tune.Dim:
    """Widgets that narrow one searched setting inside its table range; LabError if the range is turned around."""
    dim = tune.table_dim(name)
    label = _setting_label(name)
    if dim.choices:
        if name in CHOICE_PREFIX:
            picked = st.multiselect(tr("tune_choices", name=label), dim.choices, default=list(dim.choices),
                                    format_func=lambda v: choice_label(name, v), key=f"tune_choices_{name}",
                                    disabled=disabled)
        else:
            picked = list(dim.choices)
        return tune.narrowed(name, choices=picked)  # none picked: a sentence, and Start stays off
    first = tune.first_dim(name)
    low, high = first.low, first.high
    kind = int if dim.is_int else float
    fmt = "%d" if dim.is_int else ("%.1e" if dim.log else "%g")
    left, right = st.columns(2)
    low = left.number_input(tr("tune_from", name=label), value=kind(low), format=fmt, key=f"tune_low_{name}",
                            disabled=disabled)
    high = right.number_input(tr("tune_to", name=label), value=kind(high), format=fmt, key=f"tune_high_{name}",
                              disabled=disabled)
    return tune.narrowed(name, low, high)


TUNE_ON = ("series", "basket")


def data_choice_ui(disabled: bool) -> tuple[Basket | None, RunConfig | None]:
    """What a study searches on: the loaded series, or a basket of series (the Many series page's choice of series,
    target and inputs, the same widgets). (None, None) for a series; (basket, its base settings) for a basket;
    (None, None) with the sentence that says why when the series cannot be a basket."""
    ds = dataset()
    if ds.is_task:  # a memory task is one dataset of its own; a basket is of price series
        return None, None
    on = st.radio(tr("tune_on"), TUNE_ON, horizontal=True, disabled=disabled,
                  format_func=lambda v: tr("tune_on_series", name=ds.title(lang())) if v == "series"
                  else tr("tune_on_basket"), **kept("tune_on", "series", lambda v: v in TUNE_ON))
    if on == "series":
        return None, None
    basket = basket_ui(disabled)
    if basket is None:
        return None, None
    try:
        return basket, inputs_ui(basket, disabled)
    except LabError as err:
        show_tune_error(err)
        return None, None


def study_form_ui(disabled: bool) -> None:
    """What to search and how; Start queues the study's workers on the server's job pool."""
    basket, basket_base = data_choice_ui(disabled)
    on_basket = st.session_state.get("tune_on") == "basket" and not dataset().is_task
    facts = st.container()  # said above the form, once the form has said what is searched
    names = st.multiselect(tr("tune_search"), tune.searchable_names(), default=tune.default_search_names(),
                           format_func=_setting_label, key="tune_search", disabled=disabled)
    dims: list[tune.Dim] = []
    try:
        dims = [_dim_ui(name, disabled) for name in names]
    except LabError as err:
        show_tune_error(err)
    # a task's own target and window on a task; a basket's target and inputs from the Many series page
    base = basket_base if on_basket else config_for_data(dataset(), RunConfig())
    cols = st.columns(4)
    trials, workers_bound = tune.STUDY_BOUNDS["trials"], tune.STUDY_BOUNDS["workers"]
    budget = cols[0].number_input(tr("tune_trials"), int(trials.low), int(trials.high), tune.TuneSpec.budget,
                                  key="tune_budget", disabled=disabled)
    # no more workers than the server runs jobs at once: the rest would only wait in its queue
    most_workers = max(int(workers_bound.low), min(int(workers_bound.high), default_manager().max_running))
    workers = cols[1].number_input(tr("tune_workers"), int(workers_bound.low), most_workers, tune.TuneSpec.workers,
                                   key="tune_n_workers", disabled=disabled)
    epochs_setting = SETTINGS["epochs"]
    epochs = cols[2].number_input(tr("tune_epochs"), int(epochs_setting.low), int(epochs_setting.high),
                                  min(RunConfig().epochs if base is None else base.epochs, 20), key="tune_epochs",
                                  disabled=disabled)
    pruner = cols[3].selectbox(tr("tune_pruner"), list(tune.PrunerKind), key="tune_pruner", disabled=disabled,
                               format_func=lambda kind: tr(pruner_key(kind)), help=tr("tune_pruner_help"))
    if base is None:  # a basket that cannot be one: its sentence is said, and nothing starts
        st.button(tr("tune_start"), icon=":material/play_arrow:", type="primary", key="tune_start", disabled=True)
        return
    with facts:
        study_base = base.with_(epochs=int(epochs))
        facts_ui({k: v for k, v in study_base.to_dict().items() if k not in names}, [],
                 "tune_fixed_basket" if on_basket else "tune_fixed_line")
    if st.button(tr("tune_start"), icon=":material/play_arrow:", type="primary", key="tune_start",
                 disabled=disabled or not dims or len(dims) != len(names)):
        try:
            start_study(dims, study_base, int(budget), int(workers), pruner, basket if on_basket else None)
        except LabError as err:
            show_tune_error(err)
            return
        st.rerun()


def start_study(dims: list[tune.Dim], base: RunConfig, budget: int, workers: int, pruner: tune.PrunerKind,
                basket: Basket | None = None) -> None:
    """A new study on the session's data, or on ``basket`` (every trial one network on its series pooled, scored on
    their validation windows together); its workers wait in the same queue as training jobs."""
    ds = dataset()
    data = basket if basket is not None else ds.frame
    tune.training_data(data, base)  # the fixed settings must fit the data (every series) before any worker starts
    manager = default_manager()
    # every trial must fit one job's memory: the search's largest corner is checked before anything starts
    check_job_fits(tune.largest_config(base, dims), tune.data_rows(data), manager.limits)
    name = "basket" if basket is not None else ds.name
    slug = re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-")[:40] or "data"
    spec = tune.TuneSpec(study=f"{slug}-{uuid.uuid4().hex[:8]}", data=",".join(basket.names) if basket else ds.name,
                         base=base, dims=tuple(dims), budget=budget, storage=storage_url(), pruner=pruner,
                         workers=workers, timeout_s=min(manager.limits.max_job_s, tune.STUDY_BOUNDS["timeout"].high))
    # created now, so the charts can read it before the first trial ends
    tune.open_study(spec, tune.data_fingerprint(data))
    jobs = tune.submit_workers(manager, spec, settings=manager.settings, owner_alive=session_probe(), frame=data)
    session.tune_spec, session.tune_jobs, session.tune_basket = spec, jobs, basket


def _trials_table(study) -> pd.DataFrame:
    rows = tune.trial_rows(study)
    labels = _param_labels()
    return pd.DataFrame([{
        tr("tune_col_number"): r.number, tr("tune_col_state"): tr(state_key(r.state)),
        tr("tune_col_value"): r.value, tr("tune_col_seconds"): None if r.seconds is None else round(r.seconds, 1),
        **{labels.get(k, k): choice_label(k, v) if k in CHOICE_PREFIX else v for k, v in r.params.items()},
    } for r in rows])


def _charts_ui(study, complete: int) -> None:
    """The four charts in two columns, each titled above it (where Plotly's toolbar cannot cover the title)."""
    labels, params = _chart_labels(), _chart_words()
    left, right = st.columns(2)
    importance = importance_figure(study, labels, params)
    for column, title, figure, key in (
        (left, tr("tune_chart_history"), history_figure(study, labels, params), "tune_history"),
        (right, tr("tune_chart_intermediate"), intermediate_figure(study, labels, params), "tune_intermediate"),
        (left, tr("tune_chart_parallel"), parallel_figure(study, labels, params), "tune_parallel"),
        (right, tr("tune_chart_importance", complete=complete), importance, "tune_importance"),
    ):
        if figure is not None:
            column.markdown(f"**{title}**")
            column.plotly_chart(figure, key=key)
    if importance is None:
        right.caption(tr("tune_importance_wait", needed=MIN_IMPORTANCE_TRIALS, complete=complete))


def live_ui(spec: tune.TuneSpec, jobs: list[tune.TuneWorkerJob]) -> None:
    """Progress, Stop, the four charts and the trials table, redrawn from the storage every few seconds."""
    drawn_busy = is_busy(jobs)

    @st.fragment(run_every=REDRAW_S if drawn_busy else None)
    def panel() -> None:
        busy = is_busy(jobs)
        if drawn_busy and not busy:
            st.rerun()  # the whole page: the form comes back, the Stop button goes
        try:
            study = tune.load_study(spec.storage, spec.study)
        except LabError as err:
            show_tune_error(err)
            return
        summary = tune.summary(study)
        finished = summary["n_complete"] + summary["n_pruned"]
        if busy:
            running = sum(1 for job in jobs if job.status == JobStatus.RUNNING)
            st.info(tr("tune_running", running=running, workers=len(jobs), finished=finished, budget=spec.budget),
                    icon=":material/hourglass_top:")
            st.button(tr("tune_stop"), icon=":material/stop:", key="tune_stop",
                      on_click=lambda: [job.stop() for job in jobs])
        else:
            st.caption(tr("tune_idle", finished=finished))
        for err in {job.error.key: job.error for job in jobs if job.error is not None}.values():
            show_tune_error(err)
        if summary["best_value"] is None:
            st.caption(tr("tune_no_trials"))
        else:
            st.success(tr("tune_best", number=summary["best_trial"], value=summary["best_value"]),
                       icon=":material/trophy:")
        searched = {d.name for d in spec.dims}
        facts_ui(summary["fixed"] or {k: v for k, v in spec.base.to_dict().items() if k not in searched},
                 list(spec.dims))
        _charts_ui(study, summary["n_complete"])
        st.subheader(tr("tune_table"))
        st.dataframe(_trials_table(study), hide_index=True)

    panel()


def train_best_ui(spec: tune.TuneSpec) -> None:
    """Train the study's best config as a normal run, on the Train page."""
    if st.button(tr("tune_train_best"), icon=":material/model_training:", key="tune_train_best"):
        try:
            config = tune.best_config(tune.load_study(spec.storage, spec.study))
        except LabError as err:
            show_tune_error(err)
            return
        basket = session.tune_basket
        if basket is not None and start_basket(basket, config):  # a basket's best trains as a basket run
            st.switch_page("pages/basket.py")
        elif basket is None and start_job(config):
            st.switch_page("pages/train.py")
