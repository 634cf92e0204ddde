"""The session's runs and its training job: read from the workspace once, saved there when a job finishes."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

import streamlit as st
from streamlit import runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

from lstm_core.basket.data import Basket
from lstm_core.basket.run import SavedBasket, SeriesRun, series_runs
from lstm_core.config import RunConfig
from lstm_core.errors import LabError
from lstm_core.jobs.manager import BasketJob, JobStatus, JobTicket, default_manager
from lstm_core.runs.run import Run
from lstm_core.server_settings import setting
from ui.loaders import dataset, dataset_label
from ui.session import kept, session
from ui.text import show_error, tr, tr_text
from ui.workspace import MAX_RUNS, load_basket, load_runs, save_basket, save_run, workspace

# Streamlit keeps a closed tab's session 2 minutes for a reconnect; a job waits a little longer before it gives up
OWNER_GRACE_S = setting("owner_grace_s")
# how often a training job's live views redraw: the Train page's panel and the sidebar's line, at one pace (the line
# once redrew every 2 s and said "epoch 4/60" beside the panel's "Epoch 6/60")
LIVE_REDRAW_S = 1.0


def current_job() -> JobTicket | None:
    """The session's ticket to its training job: the one it started, or the one its workspace has running (started in
    another tab, or before a refresh)."""
    if session.job is None and session.workspace_id is not None:
        ticket = default_manager().ticket_for(session.workspace_id, session_probe())
        if ticket is not None:
            session.job, session.job_collected = ticket, False
            if not isinstance(ticket.job, BasketJob):  # a basket's settings are not the Train form's
                session.train_config = ticket.config
    return session.job


def runs() -> list[Run]:
    """The session's runs, oldest first: the workspace's, read from disk once per session, then kept here."""
    if session.runs is None:
        session.runs = load_runs()
    return session.runs


def add_run(run: Run) -> None:
    """Keep ``run`` in the session and save it in the workspace (whose oldest runs may be deleted for room)."""
    current = runs()  # read the workspace before saving into it
    pruned = set(save_run(run))
    kept = [r for r in current if r.run_id != run.run_id and r.run_id not in pruned][-(MAX_RUNS - 1):]
    session.runs = [*kept, run]
    session.selected_run = run.run_id


def basket_result() -> tuple[SavedBasket, Basket] | None:
    """The session's latest basket run and its series: the workspace's, read from disk once per session, then the
    one this session trained."""
    if session.basket_result is None and not session.basket_read:
        session.basket_read = True
        session.basket_result = load_basket()
    return session.basket_result


def keep_basket(saved: SavedBasket, basket: Basket) -> None:
    """Make a basket run the session's and keep it in the workspace (replacing the one before); runs deleted there to
    make room leave this session too."""
    session.basket_result, session.basket_read = (saved, basket), True
    pruned = set(save_basket(saved, basket))
    if pruned:
        session.runs = [r for r in runs() if r.run_id not in pruned]


def basket_series_runs() -> list[Run]:
    """Each series of the session's latest basket run, as a run Gates and Forecast read (made once per basket run)."""
    if basket_result() is None:
        return []
    saved, basket = basket_result()
    made = session.basket_series
    if made is None or made[0] != saved.run_id:
        made = (saved.run_id, series_runs(saved, basket))
        session.basket_series = made
    return made[1]


def pickable_runs() -> list[Run]:
    """What Gates and Forecast offer: the session's runs, then each series of its latest basket run."""
    return [*runs(), *basket_series_runs()]


def selected_run() -> Run | None:
    """The run the Train results and the Gates page show: the chosen one, else the newest."""
    wanted = session.selected_run
    return next((r for r in runs() if r.run_id == wanted), runs()[-1] if runs() else None)


def collect_finished_job() -> None:
    """Move a finished job's run into the session's runs, once."""
    job = current_job()
    if job is None or not job.finished or session.job_collected:
        return
    if job.status == JobStatus.DONE and job.run is not None:
        add_run(job.run)
    elif job.status == JobStatus.DONE and job.basket is not None:  # a basket's run: the session's, and the workspace's
        keep_basket(job.basket, job.job.basket)
    session.job_collected = True
    if (ws := workspace()) is not None:
        ws.training_over()


def model_status() -> str:
    """One line for the sidebar: what the session's model is doing."""
    job = current_job()
    if job is not None and not job.finished:
        p = job.progress()
        if p.status == JobStatus.QUEUED:
            return tr("sidebar_model_queued", place=p.queue_place)
        return tr("sidebar_model_training", epoch=p.epoch, epochs=p.epochs)
    if not runs():
        if basket_result() is not None:  # a basket's run, read on the Many series page
            return tr("sidebar_model_basket", n=len(basket_result()[0].names))
        return tr("sidebar_model_none")
    return tr("sidebar_model_ready_one") if len(runs()) == 1 else tr("sidebar_model_ready", runs=len(runs()))


def session_probe(grace_s: float = OWNER_GRACE_S,
                  clock: Callable[[], float] = time.monotonic) -> Callable[[], bool] | None:
    """A check, safe from any thread, that this browser session is connected or was within ``grace_s``.

    None where there is no Streamlit server (AppTest, bare mode): such jobs never give up.
    """
    ctx = get_script_run_ctx()
    if ctx is None or not runtime.exists():
        return None
    server, session_id = runtime.get_instance(), ctx.session_id
    last_seen = clock()

    def alive() -> bool:
        nonlocal last_seen
        if server.is_active_session(session_id):  # documented safe on any thread
            last_seen = clock()
        return clock() - last_seen < grace_s

    return alive


def queue_job(request: Callable[[str | None], JobTicket]) -> JobTicket | None:
    """The one way a page starts the session's job (a run's or a basket's): one job per session; ``request(visitor)``
    asks the manager (a refusal becomes one sentence, and None); a queued job is noted in the workspace, so that a
    restart can say it never finished."""
    running = current_job()
    if running is not None and not running.finished:  # one job per session
        st.info(tr("train_one_job"), icon=":material/info:")
        return None
    ws = workspace()
    try:
        job = request(ws.visitor if ws else None)
    except LabError as err:
        show_error(err)
        return None
    session.job, session.job_collected = job, False
    if ws is not None and not job.finished:
        try:
            ws.note_training(dt.datetime.now(dt.UTC).isoformat(timespec="minutes"))
        except OSError:
            pass  # only the sentence after a restart is lost
    return job


def start_job(config: RunConfig) -> bool:
    """Validate against the loaded data and the server's limits, then queue a job; a refusal becomes one sentence."""
    ds = dataset()
    job = queue_job(lambda visitor: default_manager().request(ds.frame, ds.name, config, owner_alive=session_probe(),
                                                              workspace=session.workspace_id, visitor=visitor))
    if job is not None:
        session.train_config = config
    return job is not None


def unfinished_training_ui() -> None:
    """Say once, in a session with no job, that a run its workspace was training never finished (the server restarted,
    or every tab closed while it trained)."""
    ws = workspace()
    if ws is None or current_job() is not None or session.lost_training_said:
        return
    session.lost_training_said = True
    started = ws.unfinished_training()
    if started is not None:
        st.warning(tr("train_lost", started=started.replace("T", " ")[:16]), icon=":material/running_with_errors:")
        ws.training_over()


def run_label(run: Run) -> str:
    """A run as pickers show it, plain text: what tells two runs apart (data, target, model, when it finished, id)."""
    cfg = run.config
    finished = run.record.created.replace("T", " ")[5:16]  # MM-DD HH:MM
    where = f" · {tr_text('basket_run_label', n=len(run.basket_names))}" if isinstance(run, SeriesRun) else ""
    return (f"{dataset_label(run.dataset_name)}{where} · {tr(f'target_{cfg.target}')} · {tr(f'cell_{cfg.cell}')} "
            f"{cfg.hidden}×{cfg.layers} · {finished} · {run.run_id}")


def run_picker_ui(key: str, label: str, box=st) -> Run:
    """A page's run picker: it shows the run the Train page shows (the newest, unless another was chosen there) and
    follows it when a new run arrives; a run picked here stays until then. A caption under it says which it is."""
    offered = pickable_runs()
    all_runs = {r.run_id: r for r in offered}
    shown_on_train = selected_run().run_id if runs() else offered[-1].run_id  # no one-series run: a basket's series
    follows = f"{key}_follows"
    if st.session_state.get(follows) != shown_on_train:  # a new run, or another chosen on Train: show that one
        st.session_state.pop(key, None)
        st.session_state[follows] = shown_on_train
    run_id = box.selectbox(label, list(all_runs), format_func=lambda i: run_label(all_runs[i]),
                           **kept(key, shown_on_train, lambda v: v in all_runs))
    newest = runs()[-1] if runs() else offered[-1]
    if run_id == newest.run_id or (isinstance(all_runs[run_id], SeriesRun) and isinstance(newest, SeriesRun)
                                   and run_id.rsplit("-", 1)[0] == newest.run_id.rsplit("-", 1)[0]):
        box.caption(tr("run_picker_newest"))
    else:
        box.caption(tr("run_picker_other", newest=run_label(newest)))
    return all_runs[run_id]
