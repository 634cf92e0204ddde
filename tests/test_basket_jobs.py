"""A basket trained as a job: in a worker process on either backend, with the live progress, Stop, the time limit and
the salvaged checkpoint of a one-series job, and refused before it is queued when it cannot run."""

import os
import signal

import pytest
import torch

from lstm_core.basket.data import Basket
from lstm_core.basket.run import train_basket
from lstm_core.errors import LabError
from lstm_core.jobs.limits import JobLimits
from lstm_core.jobs.manager import BasketJob, JobManager
from lstm_core.jobs.workers import JobStatus
from tests.helpers import TINY_BASKET, dataset, wait_for, walk


def small_basket() -> Basket:
    return Basket((dataset("a", walk(900, 1)), dataset("b", walk(800, 2, start="2015-03-02"))))


def test_a_basket_job_trains_in_a_worker_with_its_live_chart_and_scores_as_it_would_here(backend):
    basket = small_basket()
    manager = JobManager(max_running=1, backend=backend)
    ticket = manager.request_basket(basket, TINY_BASKET.with_(epochs=3), workspace="w")
    job = ticket.job
    assert isinstance(job, BasketJob)
    wait_for(lambda: job.finished, timeout=120)
    p = ticket.progress()
    assert p.status == JobStatus.DONE and job.pid != os.getpid()
    assert [h.epoch for h in p.history] == [0, 1, 2, 3] and p.batch_steps[-1] == pytest.approx(3.0)
    saved = ticket.basket
    assert ticket.run is None and saved is not None and saved.names == ("a", "b")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the worker trains: one thread gives the same sums in the same order
    try:
        here = train_basket(basket, TINY_BASKET.with_(epochs=3)).saved()  # the same seed: the same weights
    finally:
        torch.set_num_threads(threads)
    assert saved.weights == here.weights
    got, want = saved.to_json(), here.to_json()
    assert got["series"] == want["series"] and got["panel"] == want["panel"]
    assert got["pooled_linear"] == want["pooled_linear"]


def test_a_killed_basket_worker_keeps_its_best_weights_scored_on_every_series():
    manager = JobManager(max_running=1)
    ticket = manager.request_basket(small_basket(), TINY_BASKET.with_(epochs=500, patience=500, batch=4))
    job = ticket.job
    wait_for(lambda: job._checkpoint is not None and job._checkpoint.best_epoch >= 1, timeout=120)
    os.kill(job.pid, signal.SIGKILL)
    wait_for(lambda: job.finished)
    saved, sent = ticket.basket, job._checkpoint
    assert job.status == "done" and job.salvaged and saved.stop_reason == "worker_lost"
    assert saved.best_epoch == sent.best_epoch >= 1 and saved.weights == sent.weights
    assert set(saved.to_json()["series"]) == {"a", "b"} and saved.panel["model"].rmse > 0


def test_a_basket_job_stops_at_its_time_limit_and_on_stop():
    manager = JobManager(max_running=2, limits=JobLimits(max_job_s=3.0))
    timed = manager.request_basket(small_basket(), TINY_BASKET.with_(epochs=1000, patience=1000, batch=4))
    stopped = manager.request_basket(small_basket(), TINY_BASKET.with_(epochs=1000, patience=1000, batch=4, seed=2))
    wait_for(lambda: len(stopped.progress().history) >= 2, timeout=60)  # one epoch trained
    stopped.stop()
    wait_for(lambda: timed.finished and stopped.finished, timeout=60)
    assert timed.basket.stop_reason == "time_limit" and timed.basket.seconds == pytest.approx(3.0, abs=1.0)
    assert stopped.basket.stop_reason == "stopped" and len(stopped.basket.history) >= 2


def test_a_basket_that_cannot_run_is_refused_before_it_is_queued():
    manager = JobManager(max_running=1, limits=JobLimits(max_job_mb=500))
    with pytest.raises(LabError) as err:  # too short at the calendar for its windows
        manager.request_basket(Basket((dataset("a", walk(900, 1)), dataset("b", walk(300, 2, start="2016-06-01")))),
                               TINY_BASKET.with_(window=200))
    assert err.value.key == "err_basket_series" and str(err.value).startswith("'b' does not fit")
    said = err.value.message("zh")  # the inner sentence in the reader's language too
    assert said.startswith("“b”在篮子的日历下不适合这些设置") and "Window" not in said and "窗口" in said
    with pytest.raises(LabError) as err:
        manager.request_basket(small_basket(), TINY_BASKET.with_(hidden=512, layers=4))
    assert err.value.key.startswith("err_job_memory")
    first = manager.request_basket(small_basket(), TINY_BASKET.with_(epochs=200, patience=200), workspace="w")
    with pytest.raises(LabError) as err:  # one job per workspace, whichever kind
        manager.request_basket(small_basket(), TINY_BASKET, workspace="w")
    assert err.value.key == "err_job_workspace_busy"
    first.stop()
    wait_for(lambda: first.finished)
    assert manager.running_count() == 0
