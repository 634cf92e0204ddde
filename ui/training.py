"""Widget groups of the Train page and the per-session job/run state they share with the sidebar and Gates page."""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import pandas as pd
import streamlit as st
from streamlit import runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

from lstm_core.config import CELLS, FEATURES, OPTIMIZERS, TARGETS, RunConfig
from lstm_core.errors import LabError
from lstm_core.evaluate import BASELINES, baseline_predictions
from lstm_core.jobs import JobStatus, TrainingJob, default_manager, format_seconds
from lstm_core.plots.train import compare_loss_figure, loss_figure, prediction_figure, residual_figure
from lstm_core.runs import Run, bundle_zip, load_bundle
from ui.state import dataset, show_error, tr

MAX_RUNS = 10  # per session; the oldest are dropped beyond this (memory on a shared host)
# Streamlit keeps a closed tab's session 2 minutes for a reconnect; a job waits a little longer before it gives up
OWNER_GRACE_S = float(os.environ.get("LSTM_LAB_OWNER_GRACE_S", "180"))


# ---------------------------------------------------------------- session state


def current_job() -> TrainingJob | None:
    return st.session_state.get("job")


def runs() -> list[Run]:
    return st.session_state.setdefault("runs", [])


def add_run(run: Run) -> None:
    kept = [r for r in runs() if r.run_id != run.run_id][-(MAX_RUNS - 1):]
    st.session_state["runs"] = [*kept, run]
    st.session_state["selected_run"] = run.run_id


def selected_run() -> Run | None:
    """The run the Train results and the Gates page show: the chosen one, else the newest."""
    wanted = st.session_state.get("selected_run")
    return next((r for r in runs() if r.run_id == wanted), runs()[-1] if runs() else None)


def collect_finished_job() -> None:
    """Move a finished job's run into the session's runs, once."""
    job = current_job()
    if job is not None and job.status == JobStatus.DONE and job.run is not None and not st.session_state.get("job_collected"):
        add_run(job.run)
        st.session_state["job_collected"] = True


def model_status() -> str:
    """One line for the sidebar: what the session's model is doing."""
    job = current_job()
    if job is not None and not job.finished:
        p = job.progress()
        if p.status == JobStatus.QUEUED:
            return tr("sidebar_model_queued", place=p.queue_place)
        return tr("sidebar_model_training", epoch=p.epoch, epochs=p.epochs)
    return tr("sidebar_model_ready", runs=len(runs())) if runs() else tr("sidebar_model_none")


# ---------------------------------------------------------------- configuration


def config_form_ui(defaults: RunConfig, disabled: bool, expanded: bool) -> RunConfig | None:
    """The hyperparameter form; returns the submitted config (not yet validated against the data), else None."""
    with st.expander(tr("cfg_title"), expanded=expanded, icon=":material/tune:"), st.form("train_form", border=False):
        data_col, model_col, train_col = st.columns(3)
        with data_col:
            st.markdown(f"**{tr('cfg_data')}**")
            target = st.segmented_control(tr("cfg_target"), TARGETS, default=defaults.target, required=True,
                                          format_func=lambda v: tr(f"target_{v}"), help=tr("cfg_target_help"))
            features = st.multiselect(tr("cfg_features"), FEATURES, default=list(defaults.features),
                                      format_func=lambda v: tr(f"feat_{v}"), help=tr("cfg_features_help"))
            window = st.number_input(tr("cfg_window"), 2, 500, defaults.window, help=tr("cfg_window_help"))
            horizon = st.number_input(tr("cfg_horizon"), 1, 60, defaults.horizon)
            train_frac = st.slider(tr("cfg_train_frac"), 0.1, 0.95, defaults.train_frac, 0.05)
            val_frac = st.slider(tr("cfg_val_frac"), 0.02, 0.5, defaults.val_frac, 0.01)
        with model_col:
            st.markdown(f"**{tr('cfg_model')}**")
            cell = st.segmented_control(tr("cfg_cell"), CELLS, default=defaults.cell, required=True,
                                        format_func=str.upper, help=tr("cfg_cell_help"))
            hidden = st.number_input(tr("cfg_hidden"), 1, 512, defaults.hidden)
            layers = st.number_input(tr("cfg_layers"), 1, 4, defaults.layers)
            dropout = st.slider(tr("cfg_dropout"), 0.0, 0.9, defaults.dropout, 0.05, help=tr("cfg_dropout_help"))
        with train_col:
            st.markdown(f"**{tr('cfg_training')}**")
            optimizer = st.selectbox(tr("cfg_optimizer"), OPTIMIZERS, index=OPTIMIZERS.index(defaults.optimizer))
            lr = st.number_input(tr("cfg_lr"), 1e-6, 1.0, defaults.lr, format="%.5f", step=1e-4)
            batch = st.number_input(tr("cfg_batch"), 1, 4096, defaults.batch)
            epochs = st.number_input(tr("cfg_epochs"), 1, 1000, defaults.epochs)
            patience = st.number_input(tr("cfg_patience"), 1, 1000, defaults.patience, help=tr("cfg_patience_help"))
            clip_grad = st.number_input(tr("cfg_clip"), 0.0, 1000.0, defaults.clip_grad, help=tr("cfg_clip_help"))
            seed = st.number_input(tr("cfg_seed"), 0, 2**31 - 1, defaults.seed)
        submitted = st.form_submit_button(tr("train_start"), type="primary", icon=":material/play_arrow:",
                                          disabled=disabled, key="train_start")
    if not submitted:
        return None
    return RunConfig(
        target=target, features=tuple(features or ()), window=int(window), horizon=int(horizon),
        train_frac=float(train_frac), val_frac=float(val_frac), cell=cell, hidden=int(hidden), layers=int(layers),
        dropout=float(dropout), optimizer=optimizer, lr=float(lr), batch=int(batch), epochs=int(epochs),
        patience=int(patience), clip_grad=float(clip_grad), seed=int(seed),
    )


def session_probe(grace_s: float = OWNER_GRACE_S) -> Callable[[], bool] | None:
    """A check, safe from any thread, that this browser session is connected or was within ``grace_s``.

    None where there is no Streamlit server (AppTest, bare mode): such jobs never give up.
    """
    ctx = get_script_run_ctx()
    if ctx is None or not runtime.exists():
        return None
    server, session_id = runtime.get_instance(), ctx.session_id
    last_seen = time.monotonic()

    def alive() -> bool:
        nonlocal last_seen
        if server.is_active_session(session_id):  # documented safe on any thread
            last_seen = time.monotonic()
        return time.monotonic() - last_seen < grace_s

    return alive


def start_job(config: RunConfig) -> bool:
    """Validate against the loaded data and the server's limits, then queue a job; a refusal becomes one sentence."""
    running = current_job()
    if running is not None and not running.finished:  # one job per session
        st.info(tr("train_one_job"), icon=":material/info:")
        return False
    ds = dataset()
    try:
        job = default_manager().submit(ds.frame, ds.name, config.validated(), owner_alive=session_probe())
    except LabError as err:
        show_error(err)
        return False
    st.session_state.update(job=job, job_collected=False, train_config=config)
    return True


# ---------------------------------------------------------------- live progress


def _loss_labels() -> dict[str, str]:
    return {k: tr(f"loss_{k}") for k in ("train", "val", "batch", "epoch", "loss")}


def live_panel(job: TrainingJob) -> None:
    """Progress, the Stop button and the growing loss chart, redrawn every second while the job lives.

    Every run of the panel writes the same three slots (status, button, chart), empty or not: when the job ends,
    the chart is replaced in place and the button's slot empties, so no stale second chart or Stop button lingers
    while the page reruns around it.
    """

    drawn_busy = not job.finished  # the page around this fragment was drawn while the job lived

    @st.fragment(run_every=1.0 if drawn_busy else None)
    def panel() -> None:
        p = job.progress()  # one snapshot: every slot below agrees with it
        finished = p.status in (JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED)
        if finished and drawn_busy:
            # The page around us is stale (results are missing, the form is disabled): redraw it whole at once,
            # before this fragment writes a finished panel beside the stale running one. The sidebar's fragment
            # may have collected the run already; collecting is idempotent.
            collect_finished_job()
            st.rerun()
        status_slot, button_slot, chart_slot = st.empty(), st.empty(), st.empty()
        if p.status == JobStatus.QUEUED:
            status_slot.info(tr("train_queued", place=p.queue_place, running=default_manager().running_count()),
                             icon=":material/hourglass_top:")
        elif p.status == JobStatus.RUNNING:
            done = (max(p.epoch, 1) - 1 + p.batch / max(p.n_batches, 1)) / p.epochs
            sps = "–" if p.samples_per_s is None else f"{p.samples_per_s:,.0f}"  # no guess before batches are timed
            status_slot.progress(min(done, 1.0), text=tr("train_progress", epoch=max(p.epoch, 1), epochs=p.epochs,
                                                          sps=sps, left=format_seconds(p.seconds_left)))
        elif p.status == JobStatus.FAILED and p.error is not None:
            with status_slot:
                show_error(p.error)
        elif p.status == JobStatus.CANCELLED:
            status_slot.info(tr("train_cancelled"), icon=":material/cancel:")
        if not finished:
            button_slot.button(tr("train_stop"), icon=":material/stop:", key="train_stop", on_click=job.stop,
                               disabled=p.stop_requested)
        if p.history or p.batch_losses:
            chart_slot.plotly_chart(loss_figure(p.history, p.batch_steps, p.batch_losses, _loss_labels()),
                                    key="loss_chart")

    panel()


# ---------------------------------------------------------------- results


def _fmt(value: float | None, digits: int = 4) -> str:
    return "–" if value is None else f"{value:.{digits}g}"


def metrics_table(run: Run) -> pd.DataFrame:
    names = ["model", *BASELINES]
    rows = {tr(f"m_{n}"): run.metrics[n] for n in names if n in run.metrics}
    table = pd.DataFrame(rows).T[["rmse", "mae", "mape", "direction_acc"]]
    table.columns = [tr("m_rmse"), tr("m_mae"), tr("m_mape"), tr("m_direction")]
    return table.map(lambda v: "–" if v is None or pd.isna(v) else f"{v:.4f}")  # undefined stays visibly undefined


def results_ui(run: Run) -> None:
    """Stop reason, the honest verdict, metrics beside baselines, and the test-period charts."""
    st.subheader(tr("results_title", run_id=run.run_id))
    p, cfg = run.prepared, run.config
    test_dates = p.target_dates("test")
    st.caption(tr("results_model", dataset=run.dataset_name, cell=cfg.cell.upper(), hidden=cfg.hidden,
                  layers=cfg.layers, params=sum(w.numel() for w in run.model.parameters()),
                  train=p.n_samples("train"), val=p.n_samples("val"), test=p.n_samples("test"),
                  start=test_dates[0].strftime("%Y-%m-%d"), end=test_dates[-1].strftime("%Y-%m-%d")))
    reason_key = f"reason_{run.stop_reason}"
    (st.warning if run.stop_reason == "diverged" else st.caption)(
        tr(reason_key, best=run.best_epoch, epochs=run.epochs_run, seconds=f"{run.seconds:.1f}"))
    model, persistence = run.metrics["model"], run.metrics["persistence"]
    skill, p_value = model.get("skill"), model.get("p_vs_persistence")
    numbers = dict(skill=_fmt(None if skill is None else 100 * skill, 3), rmse=_fmt(model["rmse"]),
                   base=_fmt(persistence["rmse"]), p=_fmt(p_value, 2))
    if skill is not None and skill > 0 and p_value is not None and p_value < 0.05:
        st.success(tr("verdict_beats", **numbers), icon=":material/trending_up:")
    elif skill is not None and skill > 0:
        st.info(tr("verdict_chance", **numbers), icon=":material/balance:")
    else:
        st.warning(tr("verdict_loses", **numbers), icon=":material/trending_down:")
    st.dataframe(metrics_table(run), alt=tr("metrics_alt"))
    prepared = run.prepared
    dates, actual = prepared.target_dates("test"), prepared.actual_prices("test")
    persistence_forecast = baseline_predictions(prepared)["persistence"]
    labels = {"actual": tr("chart_actual"), "model": tr("m_model"), "persistence": tr("m_persistence"),
              "price": tr("chart_price"), "residual": tr("chart_residual")}
    st.plotly_chart(prediction_figure(dates, actual, run.test_predictions, persistence_forecast, labels),
                    key="prediction_chart")
    st.plotly_chart(residual_figure(dates, run.test_predictions - actual, persistence_forecast - actual, labels),
                    key="residual_chart")
    st.download_button(tr("run_download"), data=lambda: bundle_zip(run), file_name=f"lstm-lab-run-{run.run_id}.zip",
                       mime="application/zip", icon=":material/download:", on_click="ignore", key="run_download")


def _run_label(run: Run) -> str:
    return f"{run.run_id} · {run.dataset_name} · {run.config.cell.upper()} {run.config.hidden}×{run.config.layers}"


def runs_ui() -> None:
    """Every run of the session, a side-by-side comparison of two, and bundle upload."""
    st.subheader(tr("runs_title"))
    all_runs = runs()
    if all_runs:
        rows = [{
            tr("col_run"): r.run_id, tr("col_dataset"): r.dataset_name, tr("col_target"): r.config.target,
            tr("col_model"): f"{r.config.cell.upper()} {r.config.hidden}×{r.config.layers}",
            tr("col_window"): r.config.window, tr("col_lr"): r.config.lr, tr("col_epochs"): r.epochs_run,
            tr("m_rmse"): round(r.metrics["model"]["rmse"], 4),
            tr("col_skill"): _fmt(None if r.metrics["model"].get("skill") is None else 100 * r.metrics["model"]["skill"], 3),
            tr("col_seconds"): round(r.seconds, 1), tr("col_created"): r.created,
        } for r in all_runs]
        st.dataframe(pd.DataFrame(rows), alt=tr("runs_title"), hide_index=True)
        ids = [r.run_id for r in all_runs]
        by_id = {r.run_id: r for r in all_runs}
        # no widget key: "selected_run" is also set when a run arrives, which a keyed widget would forbid
        st.session_state["selected_run"] = st.selectbox(
            tr("run_show"), ids, index=ids.index(selected_run().run_id), format_func=lambda i: _run_label(by_id[i]))
    if len(all_runs) >= 2:
        with st.expander(tr("compare_title"), icon=":material/compare_arrows:"):
            left, right = st.columns(2)
            a = by_id[left.selectbox(tr("compare_a"), ids, index=len(ids) - 2, format_func=lambda i: _run_label(by_id[i]))]
            b = by_id[right.selectbox(tr("compare_b"), ids, index=len(ids) - 1, format_func=lambda i: _run_label(by_id[i]))]
            configs = pd.DataFrame({a.run_id: a.config.to_dict(), b.run_id: b.config.to_dict()}).astype(str)
            differs = configs.iloc[:, 0] != configs.iloc[:, 1]
            left.dataframe(metrics_table(a), alt=a.run_id)
            right.dataframe(metrics_table(b), alt=b.run_id)
            st.dataframe(configs[differs] if differs.any() else configs, alt=tr("compare_config"))
            st.plotly_chart(compare_loss_figure({a.run_id: a.history, b.run_id: b.history},
                                                {"epoch": tr("loss_epoch"), "val": tr("loss_val")}), key="compare_chart")
    upload = st.file_uploader(tr("run_upload"), type=["zip"], key="run_upload", help=tr("run_upload_help"))
    if upload is not None and st.session_state.get("run_upload_id") != upload.file_id:
        st.session_state["run_upload_id"] = upload.file_id
        try:
            add_run(load_bundle(upload.getvalue()))
            st.rerun()
        except LabError as err:
            show_error(err)
