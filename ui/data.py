"""Widget groups of the Data page: each source's form, what was loaded, the prices and their quality report, or a
memory task's first sequences."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from lstm_core import data
from lstm_core.data import Dataset, Source
from lstm_core.errors import LabError
from lstm_core.plots.data import price_figure, task_figure
from lstm_core.plots.locale import localize_dates
from ui.loaders import cached_csv, cached_sample, cached_synthetic, cached_task, cached_yahoo, dataset, set_dataset
from ui.session import kept, session
from ui.text import Markdown, attempt, file_uploader, lang, say, show_error, tr


def source_ui() -> None:
    """The source picker and its form; a dataset that loads becomes the session's (the page reruns to say so), one
    that does not leaves the previous dataset in place, with a sentence."""
    source = Source(st.segmented_control(tr("data_source"), list(Source), format_func=lambda s: tr(f"src_{s}"),
                                         required=True, **kept("data_source", Source.SAMPLE)))
    previous = dataset()
    just_loaded = session.data_just_loaded  # set by the run that loaded it, before its rerun
    del session.data_just_loaded
    loaded, tried = FORMS[source]()  # tried: a load was asked for in this run (so None means it failed)
    if loaded is not None:
        set_dataset(loaded)
        session.data_just_loaded = loaded.name
        st.rerun()  # the sidebar was drawn before this page ran: run again so it names the new dataset too
    if tried:
        st.caption(tr("kept_previous", name=previous.title(lang())))
    elif just_loaded == previous.name:
        st.success(tr("loaded", name=previous.title(lang())), icon=":material/check_circle:")
        if session.dataset_not_kept is not None:
            if session.dataset_not_kept.key == "ws_dataset_with_run":  # kept later, with a run: said, not an error
                st.info(say(session.dataset_not_kept), icon=":material/save:")
            else:
                show_error(session.dataset_not_kept)
            del session.dataset_not_kept
        if previous.from_cache:
            st.info(tr("yahoo_saved_note"), icon=":material/history:")


def _sample_form() -> tuple[Dataset | None, bool]:
    loaded, tried = None, False
    with st.form("sample_form", border=False):
        cols = st.columns([4, 1], vertical_alignment="bottom")
        ticker = cols[0].selectbox(tr("sample_pick"), data.list_samples(), key="sample_ticker")
        if tried := cols[1].form_submit_button(tr("load"), icon=":material/download:", key="sample_load"):
            loaded = attempt(cached_sample, ticker)
    origin = Markdown(data.SAMPLE_ORIGINS[ticker])  # the app's own link
    st.caption(f"{tr('sample_provenance', ticker=ticker, url=origin)} {tr(f'sample_origin_{ticker}')}")
    return loaded, tried


def _yahoo_form() -> tuple[Dataset | None, bool]:
    loaded = None
    today = dt.date.today()
    with st.form("yahoo_form", border=False):
        cols = st.columns([2, 2, 2, 2], vertical_alignment="bottom")
        ticker = cols[0].text_input(tr("yahoo_ticker"), value="MSFT", key="yahoo_ticker", max_chars=15)
        start = cols[1].date_input(tr("yahoo_start"), value=today - dt.timedelta(days=365 * 10), key="yahoo_start")
        end = cols[2].date_input(tr("yahoo_end"), value=today, key="yahoo_end")
        interval = cols[3].segmented_control(
            tr("yahoo_interval"), ["1d", "1wk"], format_func=lambda i: tr(f"interval_{i}"), default="1d",
            key="yahoo_interval", required=True,
        )
        tried = st.form_submit_button(tr("yahoo_load"), icon=":material/cloud_download:", key="yahoo_load")
    request = (ticker, start.isoformat(), end.isoformat(), interval)
    if tried:
        try:
            with st.spinner():
                loaded = cached_yahoo(*request, offline_fallback=False)
        except LabError as err:
            show_error(err)
            session.yahoo_failed = request if err.params.get("saved") else None
    offer_saved = session.yahoo_failed == request
    if offer_saved and st.button(tr("yahoo_use_saved"), icon=":material/history:", key="yahoo_use_saved"):
        tried = True
        loaded = attempt(cached_yahoo, *request, offline_fallback=True)
    if loaded is not None:
        session.yahoo_failed = None
    if st.button(tr("cache_clear"), icon=":material/delete:", type="tertiary", key="yahoo_clear_cache"):
        st.toast(tr("cache_cleared", n=data.clear_cache()))
        cached_yahoo.clear()
    return loaded, tried


def _csv_form() -> tuple[Dataset | None, bool]:
    loaded, tried = None, False
    upload = file_uploader("csv_upload", "csv_file", limit_mb=data.MAX_CSV_BYTES // 2**20, help=tr("csv_help"))
    if upload is not None and session.csv_loaded_id != upload.file_id:
        tried = True
        try:
            loaded = cached_csv(upload.getvalue(), upload.name)
            session.csv_loaded_id = upload.file_id
        except LabError as err:
            show_error(err)
    return loaded, tried


def _synthetic_form() -> tuple[Dataset | None, bool]:
    loaded = None
    with st.form("synthetic_form", border=False):
        cols = st.columns(4, vertical_alignment="bottom")
        kind = cols[0].selectbox(
            tr("synthetic_kind"), data.SYNTHETIC_KINDS, format_func=lambda k: tr(f"syn_{k}"), key="synthetic_kind"
        )
        n_days = cols[1].number_input(
            tr("synthetic_days"), min_value=data.MIN_ROWS, max_value=20_000, value=1500, step=100, key="synthetic_days"
        )
        seed = cols[2].number_input(tr("synthetic_seed"), min_value=0, max_value=2**31 - 1, value=0, key="synthetic_seed")
        noise = cols[3].number_input(
            tr("synthetic_noise"), min_value=0.0, max_value=10.0, value=0.5, step=0.1, key="synthetic_noise"
        )
        if tried := st.form_submit_button(tr("load"), icon=":material/auto_graph:", key="synthetic_load"):
            loaded = attempt(cached_synthetic, kind, int(n_days), int(seed), float(noise))
    return loaded, tried


def _task_form() -> tuple[Dataset | None, bool]:
    loaded = None
    bounds = data.TASK_BOUNDS
    with st.form("task_form", border=False):
        cols = st.columns([3, 2, 2, 2], vertical_alignment="bottom")
        kind = cols[0].selectbox(tr("task_kind"), list(data.TaskKind), format_func=lambda k: tr(f"task_{k}"), key="task_kind")
        numbers = {}
        for col, name in zip(cols[1:], ("length", "sequences", "seed"), strict=True):
            b = bounds[name]
            numbers[name] = col.number_input(tr(f"task_{name}"), min_value=b.low, max_value=b.high, value=b.default,
                                             step=1, key=f"task_{name}")
        if tried := st.form_submit_button(tr("task_generate"), icon=":material/psychology:", key="task_load"):
            loaded = attempt(cached_task, str(kind), *(int(numbers[n]) for n in ("length", "sequences", "seed")))
    st.caption(tr(f"task_{kind}_help"))
    return loaded, tried


FORMS = {Source.SAMPLE: _sample_form, Source.YAHOO: _yahoo_form, Source.CSV: _csv_form,
         Source.SYNTHETIC: _synthetic_form, Source.TASK: _task_form}
TASK_SEQUENCES_SHOWN = 3


def dataset_ui(ds: Dataset) -> None:
    """What the loaded data holds: a memory task's first sequences, or the prices and their quality report."""
    if ds.task is not None:
        task_ui(ds)
        return
    prices_ui(ds)
    quality_ui(ds)


def task_ui(ds: Dataset) -> None:
    """A memory task's first sequences, channel by channel, with the answer each step leaves, and what to do next."""
    spec = ds.task
    answers = ds.frame["Answer"].to_numpy()[spec.length - 1 :: spec.length]  # what each sequence asks for
    st.subheader(tr("task_title"))
    st.caption(tr("task_caption", sequences=spec.sequences, length=spec.length, rows=len(ds.frame),
                  mean=float(answers.mean()), std=float(answers.std())))
    labels = {"step": tr("task_step"), "answer": tr("task_answer"), "sequence": tr("task_sequence_n", n="{n}")}
    labels |= {channel.column: tr(f"features_{channel}") for channel in spec.kind.channels}
    st.plotly_chart(task_figure(ds.frame, spec.length, TASK_SEQUENCES_SHOWN, labels), key="task_chart")
    st.info(tr("task_next"), icon=":material/school:")


def prices_ui(ds: Dataset) -> None:
    """The candlestick (or line) with volume."""
    labels = {"price": tr("chart_price"), "volume": tr("chart_volume"), "value": tr("chart_value"),
              "weekly": tr("chart_weekly")}
    labels |= {column.lower(): tr(f"col_{column}") for column in data.PRICE_COLUMNS}  # the candles' hover box
    st.plotly_chart(localize_dates(price_figure(ds.frame, ds.title(lang()), labels), lang()), key="price_chart")


def quality_ui(ds: Dataset) -> None:
    """What the loader found and fixed, and the last rows."""
    q = ds.quality
    st.subheader(tr("quality_title"))
    cols = st.columns(4)
    cols[0].metric(tr("q_rows"), f"{q.rows:,}")
    cols[1].metric(tr("q_first"), q.start)
    cols[2].metric(tr("q_last"), q.end)
    cols[3].metric(tr("q_gaps", days=q.gap_threshold_days), q.gaps, help=tr("q_largest_gap", days=q.largest_gap_days))
    findings = data.quality_findings(q)
    for key, params in findings:
        st.markdown(f"- {tr(key, **params)}")
    if not findings:
        st.caption(tr("q_all_clean"))
    if q.nonpositive_prices:
        st.warning(tr("q_nonpositive", n=q.nonpositive_prices), icon=":material/warning:")
    preview = ds.frame.tail(10)
    preview = preview.set_axis(preview.index.strftime("%Y-%m-%d").rename(tr("col_Date")))
    st.dataframe(preview.rename(columns=lambda column: tr(f"col_{column}")), alt=tr("table_preview"))
