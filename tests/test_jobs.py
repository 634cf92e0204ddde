"""Tests of lstm_core.jobs: background training, the concurrency cap and its queue, stop and cancel."""

import os
import sys
import threading
import time

import pytest

from lstm_core.errors import LabError
from lstm_core.jobs import JobManager, format_seconds, lower_thread_priority
from tests.helpers import TINY, tiny_frame


def wait_for(predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.02)


def test_job_trains_in_background_and_reports_progress():
    manager = JobManager(max_running=2)
    job = manager.submit(tiny_frame(), "sine", TINY.with_(epochs=4))
    wait_for(lambda: job.finished)
    p = job.progress()
    assert p.status == "done" and job.run is not None
    assert [h.epoch for h in p.history] == [0, 1, 2, 3, 4]  # epoch 0: the untrained model
    assert len(p.batch_losses) == 4 * p.n_batches and p.batch_steps[-1] == pytest.approx(4.0)
    assert job.run.metrics["model"]["rmse"] > 0


def test_cap_queues_extra_jobs_in_order():
    manager = JobManager(max_running=1)
    slow = TINY.with_(epochs=200, patience=200, batch=4)
    first = manager.submit(tiny_frame(), "a", slow)
    wait_for(lambda: first.status == "running")
    second = manager.submit(tiny_frame(seed=1), "b", TINY)
    third = manager.submit(tiny_frame(seed=2), "c", TINY)
    time.sleep(0.3)
    assert (second.progress().status, second.progress().queue_place) == ("queued", 1)
    assert third.progress().queue_place == 2 and manager.running_count() == 1
    third.stop()  # leaving the queue cancels it
    wait_for(lambda: third.finished)
    assert third.status == "cancelled" and second.progress().queue_place == 1
    first.stop()
    wait_for(lambda: first.finished)
    assert first.run.stop_reason == "stopped"
    wait_for(lambda: second.finished)
    assert second.status == "done" and second.run.dataset_name == "b"


def test_bad_config_is_refused_before_any_thread_starts():
    manager = JobManager(max_running=1)
    with pytest.raises(LabError) as err:
        manager.submit(tiny_frame(), "sine", TINY.with_(window=400))
    assert err.value.key == "err_split_too_small"
    assert manager.queue_place is not None and manager.running_count() == 0


def test_format_seconds():
    assert format_seconds(75.4) == "1:15" and format_seconds(None) == "–" and format_seconds(float("inf")) == "–"


@pytest.mark.skipif(sys.platform != "linux", reason="per-thread nice values are a Linux feature")
def test_training_thread_steps_back_but_the_server_thread_does_not():
    before = os.getpriority(os.PRIO_PROCESS, 0)
    seen: dict[str, object] = {}

    def worker() -> None:
        seen["changed"] = lower_thread_priority(5)
        seen["nice"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert seen == {"changed": True, "nice": min(before + 5, 19)}
    assert os.getpriority(os.PRIO_PROCESS, 0) == before  # the calling (UI) thread keeps its priority
    assert lower_thread_priority(0) is False


def test_job_whose_owner_left_stops_and_frees_its_place(monkeypatch):
    monkeypatch.setattr("lstm_core.jobs.OWNER_CHECK_S", 0.0)
    owner_here = threading.Event()
    owner_here.set()
    manager = JobManager(max_running=1)
    long_run = TINY.with_(epochs=500, patience=500, batch=4)
    running = manager.submit(tiny_frame(), "a", long_run, owner_alive=owner_here.is_set)
    queued = manager.submit(tiny_frame(seed=1), "b", long_run, owner_alive=owner_here.is_set)
    wait_for(lambda: running.progress().epoch >= 2)
    assert queued.progress().queue_place == 1 and not running.abandoned

    owner_here.clear()  # the browser session is gone for good
    wait_for(lambda: running.finished and queued.finished)
    assert running.abandoned and running.run.stop_reason == "stopped"
    assert len(running.run.history) < 500
    assert queued.abandoned and queued.status == "cancelled" and queued.run is None
    assert manager.running_count() == 0 and manager.queue_place(queued) == 0


def test_job_without_an_owner_check_runs_to_its_end():
    manager = JobManager(max_running=1)
    job = manager.submit(tiny_frame(), "a", TINY.with_(epochs=3, patience=3))
    wait_for(lambda: job.finished)
    assert job.status == "done" and not job.abandoned and job.run.epochs_run == 3
