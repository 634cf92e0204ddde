"""Widget groups of the Train page: the live progress of the session's job, and the runs of its workspace."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from lstm_core.errors import LabError
from lstm_core.evaluate import MODEL
from lstm_core.jobs.manager import JobStatus, JobTicket, Progress, default_manager, format_seconds
from lstm_core.jobs.workers import BackendKind
from lstm_core.judgement import format_percent, judge
from lstm_core.plots.train import loss_figure
from lstm_core.runs.bundle import LOCAL_LIMITS, UPLOAD_LIMITS, load_bundle
from lstm_core.store.workspace import is_local, local_bundles
from ui.loaders import dataset_label
from ui.results import compare_ui, skill_column
from ui.runs import LIVE_REDRAW_S, add_run, collect_finished_job, run_label, runs, selected_run
from ui.session import session
from ui.settings import value_label
from ui.text import attempt, file_uploader, say, show_error, tr, tr_text
from ui.workspace import show_notices

# ---------------------------------------------------------------- live progress


def _loss_labels() -> dict[str, str]:
    return {k: tr(f"loss_{k}") for k in ("train", "val", "batch", "epoch", "loss")}


def live_panel(job: JobTicket) -> None:
    """Progress, the Stop button and the growing loss chart, redrawn every second while the job lives.

    Every run of the panel writes the same three slots (status, button, chart), empty or not: when the job ends,
    the chart is replaced in place and the button's slot empties, so no stale second chart or Stop button lingers
    while the page reruns around it.
    """

    drawn_busy = not job.finished  # the page around this fragment was drawn while the job lived

    def draw(p: Progress) -> None:
        finished = p.status in (JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED)
        status_slot, notice_slot, button_slot, chart_slot = st.empty(), st.empty(), st.empty(), st.empty()
        if p.status == JobStatus.QUEUED:
            status_slot.info(tr("train_queued", place=p.queue_place, running=default_manager().running_count()),
                             icon=":material/hourglass_top:")
        elif p.status == JobStatus.RUNNING:
            sps = "–" if p.samples_per_s is None else f"{p.samples_per_s:,.0f}"  # no guess before batches are timed
            status_slot.progress(p.done_fraction, text=tr("train_progress", epoch=p.epoch, epochs=p.epochs,
                                                          sps=sps, left=format_seconds(p.seconds_left)))
        elif p.status == JobStatus.FAILED and p.error is not None:
            with status_slot:
                show_error(p.error)
        elif p.status == JobStatus.CANCELLED:
            status_slot.info(tr("train_cancelled"), icon=":material/cancel:")
        notes = [say(p.notice)] if p.notice is not None else []
        if job.sharing() > 1:  # one job for everyone who pressed Start on this exact request
            notes.append(tr("train_shared_done" if finished else "train_shared", others=job.sharing() - 1))
        if notes:
            notice_slot.info("\n\n".join(notes), icon=":material/info:")
        if not finished:
            button_slot.button(tr("train_stop"), icon=":material/stop:", key="train_stop", on_click=job.stop,
                               disabled=p.stop_requested)
        if p.history or p.batch_losses:
            chart_slot.plotly_chart(loss_figure(p.history, p.batch_steps, p.batch_losses, _loss_labels()),
                                    key="loss_chart")

    if not drawn_busy:  # a finished job is drawn once, in the page's own container: no fragment left to tick
        with st.container(key="live_panel"):
            draw(job.progress())
        return

    @st.fragment(run_every=LIVE_REDRAW_S)
    def panel() -> None:
        p = job.progress()  # one snapshot: every slot below agrees with it
        if p.status in (JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED):
            # The page around us is stale (results are missing, the form is disabled): redraw it whole at once,
            # before this fragment writes a finished panel beside the stale running one. The sidebar's fragment
            # may have collected the run already; collecting is idempotent.
            collect_finished_job()
            st.rerun()
        with st.container(key="live_panel"):
            draw(p)

    panel()


def where_jobs_run_ui() -> None:
    """On a server whose jobs go to a Ray cluster: whether they can go there now (a caption, for the teacher too)."""
    backend = default_manager().backend
    if backend.kind != BackendKind.RAY:
        return
    key = "train_where_cluster" if backend.up or backend.connecting else "train_where_fallback"
    st.caption(tr(key, address=backend.address))


# ---------------------------------------------------------------- runs


def runs_ui() -> None:
    """Every run of the workspace, a side-by-side comparison of two, bundle upload (and local folders)."""
    st.subheader(tr("runs_title"))
    st.caption(tr("ws_caption"))
    all_runs = runs()
    show_notices()
    if all_runs:
        rows = [{
            tr("col_run"): r.run_id, tr("col_dataset"): dataset_label(r.dataset_name), tr("col_target"): value_label("target", r.config.target),
            tr("col_model"): f"{tr_text(f'cell_{r.config.cell}')} {r.config.hidden}×{r.config.layers}",
            tr("col_window"): r.config.window, tr("col_lr"): r.config.lr, tr("col_epochs"): r.record.epochs_run,
            tr("m_rmse"): round(r.metrics[MODEL].rmse, 4),
            # the verdict beside the skill, so a positive skill of a run that learned nothing does not read as one;
            # read from the scores the run was recorded with (Run.judgement would score every run again, seconds each)
            tr("col_verdict"): tr_text(f"outcome_{judge(r.metrics, r.config.target).outcome}"),
            tr("col_skill"): format_percent(r.metrics[MODEL].skill),
            tr("col_seconds"): round(r.record.seconds, 1), tr("col_created"): r.record.created[:16].replace("T", " "),  # to the minute
        } for r in all_runs]
        st.dataframe(pd.DataFrame(rows), alt=tr("runs_title"), hide_index=True, column_config=skill_column())
        ids = [r.run_id for r in all_runs]
        by_id = {r.run_id: r for r in all_runs}
        # the results above are drawn before this widget: a pick must be the session's before the page reruns (the
        # callback), and a run that arrives is shown here too (the widget's value set before the widget is made)
        if st.session_state.get("run_show") != selected_run().run_id:
            st.session_state["run_show"] = selected_run().run_id
        st.selectbox(tr("run_show"), ids, key="run_show", format_func=lambda i: run_label(by_id[i]),
                     on_change=lambda: setattr(session, "selected_run", st.session_state["run_show"]))
    if len(all_runs) >= 2:
        with st.expander(tr("compare_title"), icon=":material/compare_arrows:"):
            left, right = st.columns(2)
            a = by_id[left.selectbox(tr("compare_a"), ids, index=len(ids) - 2, format_func=lambda i: run_label(by_id[i]))]
            b = by_id[right.selectbox(tr("compare_b"), ids, index=len(ids) - 1, format_func=lambda i: run_label(by_id[i]))]
            compare_ui(a, b)
    # the drop zone's own words ("Upload", "50MB per file • ZIP") are Streamlit's, in English: not translatable
    upload = file_uploader("run_upload", "run_upload", limit_mb=UPLOAD_LIMITS.max_zip_bytes // 2**20, types=["zip"],
                           help=tr("run_upload_help"))
    if upload is not None and session.run_upload_id != upload.file_id:
        session.run_upload_id = upload.file_id
        try:
            uploaded = load_bundle(upload.getvalue())  # UPLOAD_LIMITS: bounded bytes, rows and scoring cost
        except LabError as err:
            show_error(err)
        else:
            if any(r.run_id == uploaded.run_id for r in all_runs):
                st.info(tr("run_upload_same", run_id=uploaded.run_id), icon=":material/info:")
            else:
                add_run(uploaded)
                st.rerun()
    if is_local():
        local_runs_ui()


def local_runs_ui() -> None:
    """Open a bundle folder the command line wrote (``LSTM_LAB_LOCAL=1`` only: it reads the server's disk)."""
    with st.expander(tr("local_title"), icon=":material/folder_open:"):
        folder = st.text_input(tr("local_folder"), value="runs", help=tr("local_folder_help"), key="local_folder")
        found = local_bundles(folder)
        if not found:
            st.caption(tr("local_none"))
            return
        picked = st.selectbox(tr("local_pick"), found, format_func=lambda p: p.name, key="local_pick")
        if st.button(tr("local_open"), icon=":material/folder_open:", key="local_open"):
            run = attempt(load_bundle, picked, limits=LOCAL_LIMITS)
            if run is not None:
                add_run(run)
                st.rerun()
