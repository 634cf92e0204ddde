"""Tests of lstm_core.jobs.manager: training in worker processes, the cap and its queue, stop, cancel, crashes, reproducibility;
the tests that take a ``backend`` run on this machine's worker processes and on the Ray cluster .ci/run starts."""

import contextlib
import os
import signal
import threading
import time
from dataclasses import replace

import pytest
import torch

from lstm_core.errors import LabError
from lstm_core.jobs.limits import JobLimits, estimate_job_mb
from lstm_core.jobs.manager import (
    EVAL_GRACE_FACTOR,
    RATE_MIN_BATCHES,
    JobManager,
    TrainingJob,
    TrainTick,
    format_seconds,
    train_task,
)
from lstm_core.jobs.workers import BackendKind, JobStatus, KillReason, WorkerPool, describe_exit
from lstm_core.model import build_model
from lstm_core.pipeline import Prepared
from lstm_core.runs.run import train_run
from lstm_core.runs.weights import from_bytes
from lstm_core.trainer import Trainer
from tests.helpers import TINY, tiny_frame, wait_for


def test_job_trains_in_a_worker_process_and_reports_progress(backend):
    manager = JobManager(max_running=2, backend=backend)
    job = manager.submit(tiny_frame(), "sine", TINY.with_(epochs=4))
    wait_for(lambda: job.finished)
    p = job.progress()
    assert p.status == JobStatus.DONE and job.run is not None
    assert job.pid is not None and job.pid != os.getpid()  # trained elsewhere
    assert [h.epoch for h in p.history] == [0, 1, 2, 3, 4]  # epoch 0: the untrained model
    assert len(p.batch_losses) == 4 * p.tick.n_batches and p.batch_steps[-1] == pytest.approx(4.0)
    assert job.run.metrics["model"].rmse > 0 and job.run.stop_reason == "completed"
    x_test, _ = job.prepared.tensors("test")  # the weights that came back predict what the worker predicted
    again = job.prepared.to_readable("test", job.run.model(x_test).detach().numpy())
    assert again == pytest.approx(job.run.test_predictions, rel=1e-5)
    assert job.peak_rss_mb > 100 and job.first_batch_at > job.began_at > job.submitted_at and job.host


def test_cap_queues_extra_jobs_in_order(backend):
    manager = JobManager(max_running=1, backend=backend)
    slow = TINY.with_(epochs=200, patience=200, batch=4)
    first = manager.submit(tiny_frame(), "a", slow)
    wait_for(lambda: first.status == "running")
    second = manager.submit(tiny_frame(seed=1), "b", TINY)
    third = manager.submit(tiny_frame(seed=2), "c", TINY)
    epoch = first.progress().epoch  # the first job's next epochs pass while the others wait their turn
    wait_for(lambda: first.progress().epoch >= epoch + 2)
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


def test_stopping_one_of_two_identical_waiting_jobs_keeps_the_queue_moving():
    """The reported freeze: B and C, equal field by field (same frame object), wait behind A; C is stopped.

    Comparing jobs by value made ``deque.remove`` compare two DataFrames, which raised, killed C's thread and
    left C at the head of the queue for ever. Jobs compare by identity now.
    """
    manager = JobManager(max_running=1)
    frame = tiny_frame()
    a = manager.submit(frame, "MSFT", TINY.with_(epochs=300, patience=300, batch=4))
    wait_for(lambda: a.status == "running")
    b = manager.submit(frame, "MSFT", TINY)
    c = manager.submit(frame, "MSFT", TINY)
    assert b != c and b.frame is c.frame
    c.stop()
    wait_for(lambda: c.finished)
    assert c.status == "cancelled" and manager.queue_place(c) == 0 and manager.queue_place(b) == 1
    a.stop()
    wait_for(lambda: b.finished)
    d = manager.submit(frame, "MSFT", TINY)
    wait_for(lambda: d.finished, timeout=30)
    assert (a.status, b.status, d.status) == ("done", "done", "done")
    assert manager.running_count() == 0 and manager.queue_place(d) == 0


def test_a_progress_snapshot_never_holds_its_job_while_it_waits_for_the_pool():
    """The freeze: the page's progress() held the job's lock while it waited for the pool's, and a watcher starting a
    job held the pool's lock while it waited for the job's. Neither moved again, nor did any queue of the server."""
    manager = JobManager(max_running=1)
    frame = tiny_frame()
    job = TrainingJob(task=train_task, config=TINY, dataset_name="x", frame=frame, prepared=Prepared(frame, TINY))
    job.pool = manager
    reached = threading.Event()
    ask_pool = manager.queue_place

    def queue_place(asked):
        reached.set()  # the snapshot is at the pool's door
        return ask_pool(asked)

    manager.queue_place = queue_place
    with manager._cond:  # what a watcher holds while it starts a job
        reader = threading.Thread(target=job.progress, daemon=True)
        reader.start()
        assert reached.wait(timeout=10)
        got_job = job._lock.acquire(timeout=2.0)  # what the watcher takes next
        if got_job:
            job._lock.release()
    reader.join(timeout=10)
    assert got_job and not reader.is_alive()


def test_bad_config_is_refused_before_anything_starts():
    manager = JobManager(max_running=1)
    with pytest.raises(LabError) as err:
        manager.submit(tiny_frame(), "sine", TINY.with_(window=400))
    assert err.value.key == "err_split_too_small"
    assert manager.running_count() == 0 and manager._queue == type(manager._queue)()


def test_format_seconds():
    assert format_seconds(75.4) == "1:15" and format_seconds(None) == "–" and format_seconds(float("inf")) == "–"


def test_job_whose_owner_left_stops_and_frees_its_place(backend):
    owner_here = threading.Event()
    owner_here.set()
    manager = JobManager(max_running=1, backend=backend)
    long_run = TINY.with_(epochs=500, patience=500, batch=4)
    running = manager.submit(tiny_frame(), "a", long_run, owner_alive=owner_here.is_set)
    queued = manager.submit(tiny_frame(seed=1), "b", long_run, owner_alive=owner_here.is_set)
    wait_for(lambda: running.progress().tick.epoch >= 2)
    assert queued.progress().queue_place == 1 and not running.abandoned

    owner_here.clear()  # the browser session is gone for good
    wait_for(lambda: running.finished and queued.finished)
    assert running.abandoned and running.run.stop_reason == "stopped"
    assert running.run.record.epochs_run < 500
    # the queued job checks its owner before it takes the slot: it never starts
    assert queued.abandoned and queued.status == "cancelled" and queued.run is None and queued.started_at is None
    assert manager.running_count() == 0 and manager.queue_place(queued) == 0


def test_job_without_an_owner_check_runs_to_its_end():
    manager = JobManager(max_running=1)
    job = manager.submit(tiny_frame(), "a", TINY.with_(epochs=3, patience=3))
    wait_for(lambda: job.finished)
    assert job.status == "done" and not job.abandoned and job.run.record.epochs_run == 3


# how each backend says that a job's worker was killed: a local exit status names its signal; a cluster only knows
# that its worker (on that host) is gone
KILLED = {BackendKind.LOCAL: ("kept_worker_killed", "signal", "SIGKILL"), BackendKind.RAY: ("kept_worker_lost", "host", None)}


def test_a_worker_killed_from_outside_keeps_its_best_weights_and_the_next_job_runs(backend):
    """Whoever sends the kill (here SIGKILL, as the kernel's OOM killer does; the test cluster's nodes are this host),
    the run is scored from the last best weights the worker reported, and says why it ended early."""
    manager = JobManager(max_running=1, backend=backend)
    victim = manager.submit(tiny_frame(), "a", TINY.with_(epochs=500, patience=500, batch=4))
    waiting = manager.submit(tiny_frame(seed=1), "b", TINY)
    wait_for(lambda: victim._checkpoint is not None and victim._checkpoint.best_epoch >= 1)
    os.kill(victim.pid, signal.SIGKILL)
    wait_for(lambda: victim.finished)
    run, sent = victim.run, victim._checkpoint  # the last weights that arrived before the kill
    assert victim.status == "done" and victim.salvaged and victim.error is None
    assert run.stop_reason == "worker_lost" and run.record.best_epoch == sent.best_epoch >= 1
    assert run.history == sent.history and run.metrics["model"].rmse > 0
    key, param, value = KILLED[backend.kind]
    assert victim.notice.key == key and victim.notice.params == {param: value or victim.host}
    assert (value or victim.host) in victim.notice.message("zh") and "memory" in str(victim.notice)
    wait_for(lambda: waiting.finished)
    assert waiting.status == "done" and waiting.run.record.epochs_run == TINY.epochs


def test_two_dropout_jobs_side_by_side_reproduce_their_solo_weights_bit_for_bit(backend):
    frame = tiny_frame(n_days=400)
    configs = [TINY.with_(layers=2, dropout=0.3, epochs=4, patience=10, seed=s) for s in (3, 4)]
    manager = JobManager(max_running=2, backend=backend)
    solo = []
    for config in configs:
        job = manager.submit(frame, "sine", config)
        wait_for(lambda job=job: job.finished)
        solo.append(job.run.model.state_dict())
    together = [manager.submit(frame, "sine", config) for config in configs]
    wait_for(lambda: all(job.finished for job in together))
    assert all(job.status == "done" for job in together)
    for alone, beside in zip(solo, together, strict=True):
        weights = beside.run.model.state_dict()
        assert all(torch.equal(alone[name], weights[name]) for name in alone)
    # the two seeds do give different weights: the comparison above could fail
    assert not torch.equal(solo[0]["rnn.weight_hh_l1"], solo[1]["rnn.weight_hh_l1"])
    # and wherever they train, the same seed gives the same weights as training in this process on one thread, as
    # workers train
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        here = train_run(frame, "sine", configs[0]).model.state_dict()
    finally:
        torch.set_num_threads(threads)
    assert all(torch.equal(here[name], solo[0][name]) for name in here)


def test_a_job_past_its_time_limit_stops_and_keeps_its_best_weights(backend):
    # room for a whole epoch on a busy CPU
    manager = JobManager(max_running=1, limits=JobLimits(max_job_s=3.0), backend=backend)
    job = manager.submit(tiny_frame(), "a", TINY.with_(epochs=1000, patience=1000, batch=4))
    wait_for(lambda: job.finished, timeout=30)
    run = job.run
    assert job.status == "done" and run.stop_reason == "time_limit"
    assert 1 <= run.record.epochs_run < 1000 and run.record.seconds == pytest.approx(3.0, abs=1.0)
    best = min(h.val_loss for h in run.history)
    assert run.record.best_val_loss == best and run.history[run.record.best_epoch].val_loss == best


def test_a_job_too_big_for_the_memory_budget_is_refused_before_it_starts(backend):
    manager = JobManager(max_running=1, limits=JobLimits(max_job_mb=300), backend=backend)
    with pytest.raises(LabError) as err:
        manager.submit(tiny_frame(), "a", TINY.with_(batch=256, window=60, hidden=128))
    assert err.value.key == "err_job_memory" and "300 MB" in str(err.value) and "300 MB" in err.value.message("zh")
    assert manager.running_count() == 0 and not manager._queue


SIZES = [(250, 128, 1024), (250, 512, 1024), (500, 512, 4096)]  # (window, hidden, batch): 2.4, 8.4 and ~67 GB


def test_a_job_no_node_of_the_cluster_can_hold_is_refused_before_it_starts(ray_backend):
    """The server's own budget allows it; the cluster's largest node (1.5 GB in .ci/run's) does not."""
    from lstm_core.jobs.backends.ray import WORKER_EXTRA_MB

    largest_mb = max(node["memory"] for node in ray_backend.nodes() if node.get("CPU")) / 2**20
    manager = JobManager(max_running=1, limits=JobLimits(max_job_mb=100_000), backend=ray_backend)
    frame = tiny_frame(n_days=3000)
    fits = TINY.with_(window=60, hidden=32)
    too_big = next(config for config in (TINY.with_(window=w, hidden=h, batch=b) for w, h, b in SIZES)
                   if estimate_job_mb(config, len(frame)) > largest_mb)
    with pytest.raises(LabError) as err:
        manager.submit(frame, "a", too_big)
    need = estimate_job_mb(too_big, len(frame), manager.limits) + WORKER_EXTRA_MB  # a Ray worker's own on top
    assert err.value.key == "err_job_memory_cluster" and f"{need:,.0f} MB" in str(err.value)
    assert f"{largest_mb:,.0f} MB" in err.value.message("zh")
    assert manager.running_count() == 0 and not manager._queue
    job = manager.submit(frame, "a", fits.with_(epochs=1))  # a job that fits is placed, with its estimate declared
    wait_for(lambda: job.finished)
    assert job.status == "done" and job.memory_mb == pytest.approx(estimate_job_mb(fits, len(frame), manager.limits))


def _tick(samples: int, seconds: float, batch: int = 1) -> TrainTick:
    return TrainTick(epoch=1, batch=batch, n_batches=10, samples=samples, train_seconds=seconds, losses=(1.0,) * batch)


def test_rate_and_time_left_wait_for_measured_batches():
    config = TINY.with_(epochs=10, batch=32)
    frame = tiny_frame()
    job = TrainingJob(task=train_task, config=config, dataset_name="x", frame=frame, prepared=Prepared(frame, config),
                      time_limit_s=60.0, status=JobStatus.RUNNING, started_at=time.monotonic())
    assert job.progress().samples_per_s is None and job.progress().seconds_left is None
    job.on_event(_tick(samples=32 * (RATE_MIN_BATCHES - 1), seconds=0.5))
    assert job.progress().samples_per_s is None and job.progress().seconds_left is None  # too few batches timed
    job.on_event(_tick(samples=32 * RATE_MIN_BATCHES, seconds=0.5))
    p = job.progress()
    assert p.samples_per_s == pytest.approx(32 * RATE_MIN_BATCHES / 0.5)
    total = 10 * job.prepared.n_samples("train")
    assert p.seconds_left == pytest.approx((total - 32 * RATE_MIN_BATCHES) / p.samples_per_s, abs=0.1)
    job.on_event(_tick(samples=32 * 4, seconds=100.0))  # a slow rate: the time limit bounds what is shown
    assert job.progress().seconds_left <= 60.0


def test_a_time_limited_job_on_a_throttled_worker_keeps_its_best_weights(backend):
    """The reported loss: on a busy host a job past its limit was killed in its final evaluation with its result.

    Here the worker is frozen (SIGSTOP: a host so loaded it gets no CPU) once it has reported best weights, and then
    its limit runs out (the limit is shortened at that moment, so that no host is slow enough to reach it before the
    first checkpoint, nor quick enough to stop itself first); the watcher kills it past its limit and grace, and the
    server finishes the run from those weights.
    """
    manager = JobManager(max_running=1, limits=JobLimits(max_job_s=600.0), min_kill_grace_s=0.5, backend=backend)
    job = manager.submit(tiny_frame(), "a", TINY.with_(epochs=1000, patience=1000, batch=4))
    wait_for(lambda: job._checkpoint is not None and job._checkpoint.best_epoch >= 1, timeout=120)
    os.kill(job.pid, signal.SIGSTOP)
    sent = job._checkpoint
    try:
        job.time_limit_s = 1.0  # frozen, it is past its limit: the watcher must now kill it, not wait 600 s
        wait_for(lambda: job.finished)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(job.pid, signal.SIGCONT)  # a worker the kill did not reach must not stay frozen
    run = job.run
    assert job.status == "done" and job.salvaged and run.stop_reason == "time_limit"
    assert run.record.best_epoch == sent.best_epoch >= 1 and run.history == sent.history
    assert run.record.best_val_loss == min(h.val_loss for h in run.history)
    kept = from_bytes(sent.weights, "weights", build_model(TINY).state_dict())
    assert all(torch.equal(kept[name], run.model.state_dict()[name]) for name in kept)
    assert run.metrics["model"].rmse > 0 and run.test_predictions.shape == (job.prepared.n_samples("test"),)


@pytest.mark.parametrize(("reason", "key"), [(KillReason.TIME_LIMIT, "err_job_time_killed"),
                                             (None, "err_worker_killed")])
def test_without_reported_weights_a_killed_job_fails_with_a_sentence(reason, key):
    """Past its time limit, or killed from outside (no reason of the watcher's), before its first checkpoint."""
    job = TrainingJob(task=train_task, config=TINY, dataset_name="x", frame=tiny_frame(),
                      prepared=Prepared(tiny_frame(), TINY), time_limit_s=5.0)
    WorkerPool._settle(job, None, describe_exit(-9), reason)
    assert job.status == "failed" and job.error.key == key and job.run is None and not job.salvaged


def test_the_kill_waits_in_proportion_to_the_measured_evaluation():
    job = TrainingJob(task=train_task, config=TINY, dataset_name="x", frame=tiny_frame(),
                      prepared=Prepared(tiny_frame(), TINY), time_limit_s=60.0, min_kill_grace_s=60.0)
    assert job.kill_grace_s() == 60.0  # nothing measured yet
    job.on_event(replace(_tick(samples=32, seconds=1.0), eval_seconds=2.0))
    assert job.kill_grace_s() == 60.0  # a quick evaluation: the floor
    job.on_event(replace(_tick(samples=32, seconds=1.0), eval_seconds=30.0))  # a loaded host: 30 s measured
    assert job.kill_grace_s() == pytest.approx(EVAL_GRACE_FACTOR * 30.0)


def test_the_trainer_times_its_validation_to_estimate_the_final_evaluation():
    ticks = []
    prepared = Prepared(tiny_frame(), TINY)
    trainer = Trainer(TINY, prepared)
    trainer.add_callback("on_epoch_end", lambda tr: ticks.append(tr.tick()))
    trainer.fit()
    assert all(t.eval_seconds is not None and 0 < t.eval_seconds < 5 for t in ticks)


# ---------------------------------------------------------------- a class that does not wait


def test_owners_take_turns_in_the_queue():
    """12 jobs from one caller were all queued first come, first served, ahead of everyone after them."""
    manager = JobManager(max_running=1)
    long_run = TINY.with_(epochs=1000, patience=1000, batch=4)
    first = manager.submit(tiny_frame(), "x0", long_run, owner="x")
    wait_for(lambda: first.status == JobStatus.RUNNING)
    mine = [manager.submit(tiny_frame(seed=k), f"x{k}", TINY, owner="x") for k in (1, 2, 3)]
    theirs = [manager.submit(tiny_frame(seed=k), f"{o}", TINY, owner=o) for k, o in ((4, "y"), (5, "z"))]
    anonymous = manager.submit(tiny_frame(seed=6), "n", TINY)  # no owner: a turn of its own, in arrival order
    places = {job.name: manager.queue_place(job) for job in [*mine, *theirs, anonymous]}
    assert places == {"y": 1, "z": 2, "n": 3, "x1": 4, "x2": 5, "x3": 6}
    first.stop()
    wait_for(lambda: all(j.finished for j in [*mine, *theirs, anonymous]), timeout=120)
    started = sorted([*mine, *theirs, anonymous], key=lambda j: j.started_at)
    assert [j.name for j in started] == ["y", "z", "n", "x1", "x2", "x3"]


def test_identical_requests_share_one_job_and_its_finished_run():
    manager = JobManager(max_running=1)
    frame = tiny_frame()
    first = manager.request(frame, "sine", TINY, workspace="a", visitor="v1")
    same = manager.request(tiny_frame(), "sine", TINY, workspace="b", visitor="v2")  # equal content, another frame
    assert same.job is first.job and not first.shared and same.shared and first.sharing() == 2
    other = manager.request(frame, "sine", TINY.with_(seed=2), workspace="c", visitor="v3")
    assert other.job is not first.job
    wait_for(lambda: first.finished and other.finished, timeout=120)
    assert first.status == same.status == JobStatus.DONE and same.run is first.run
    later = manager.request(frame, "sine", TINY, workspace="d", visitor="v4")  # after it ended: its kept run
    assert later.job is first.job and later.shared and later.finished and later.run is first.run
    solo = JobManager(max_running=1).submit(frame, "sine", TINY)  # trained alone: the same weights
    wait_for(lambda: solo.finished, timeout=120)
    shared_state, solo_state = first.run.model.state_dict(), solo.run.model.state_dict()
    assert all(torch.equal(shared_state[name], solo_state[name]) for name in solo_state)


def test_a_workspace_trains_one_job_at_a_time_and_its_other_tabs_see_it():
    """Two tabs of one workspace trained at once; now the second tab is shown the first one's job."""
    manager = JobManager(max_running=1)
    long_run = TINY.with_(epochs=1000, patience=1000, batch=4)
    running = manager.request(tiny_frame(), "a", long_run, workspace="w", visitor="v")
    with pytest.raises(LabError) as err:
        manager.request(tiny_frame(seed=1), "b", TINY, workspace="w", visitor="v")
    assert err.value.key == "err_job_workspace_busy"
    other_tab = manager.ticket_for("w")
    assert other_tab.job is running.job and manager.ticket_for("elsewhere") is None
    assert manager.request(tiny_frame(), "a", long_run, workspace="w", visitor="v").job is running.job  # the same: shared
    running.job.stop()
    wait_for(lambda: running.finished, timeout=60)
    assert manager.ticket_for("w") is None
    assert manager.request(tiny_frame(seed=1), "b", TINY, workspace="w", visitor="v").job is not running.job


def test_stop_on_a_shared_job_leaves_it_to_the_others_and_the_last_stop_ends_it():
    manager = JobManager(max_running=1)
    long_run = TINY.with_(epochs=1000, patience=1000, batch=4)
    mine = manager.request(tiny_frame(), "a", long_run, workspace="a")
    theirs = manager.request(tiny_frame(), "a", long_run, workspace="b")
    wait_for(lambda: mine.job.progress().tick.epoch >= 1, timeout=60)
    mine.stop()
    assert mine.status == JobStatus.CANCELLED and mine.finished and mine.run is None
    assert not theirs.job.stop_requested and theirs.status == JobStatus.RUNNING
    theirs.stop()  # the last one watching: the job ends, keeping its best weights
    wait_for(lambda: theirs.finished, timeout=60)
    assert theirs.status == JobStatus.DONE and theirs.run.stop_reason == "stopped"
    assert manager.request(tiny_frame(), "a", long_run, workspace="c").job is not theirs.job  # a stopped run is not kept
