"""Tests of lstm_core.jobs.workers: the generic runner: a task in its own process, its events, its errors, its settings."""

import os
import pickle
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lstm_core.errors import LabError
from lstm_core.i18n import TABLE
from lstm_core.jobs.backends.local import LocalBackend
from lstm_core.jobs.workers import (
    BackendKind,
    Event,
    Failure,
    JobStatus,
    KillReason,
    Result,
    WorkerJob,
    WorkerPool,
    WorkerSettings,
    describe_exit,
)
from tests.helpers import wait_for

ROOT = Path(__file__).resolve().parent.parent
RAY_WORKER_NICE = 15  # Ray's default worker_niceness


# ---- tasks: module-level, so that a worker can unpickle them


def count_task(n: int, *, channel, stop) -> dict:
    """Reports 1..n, then what the process looks like from inside."""
    import torch

    for k in range(1, n + 1):
        channel.send(k)
    return {"pid": os.getpid(), "nice": os.nice(0), "threads": torch.get_num_threads(),
            "streamlit": "streamlit" in sys.modules}


def wait_for_stop_task(*, channel, stop) -> str:
    channel.send("waiting")
    while not stop.is_set():
        time.sleep(0.01)
    return "stopped"


def refuse_task(*, channel, stop) -> None:
    raise LabError("err_cfg_no_features")


def buggy_task(*, channel, stop) -> None:
    return {}["missing"]


def greedy_task(mb: int, *, channel, stop) -> int:
    import torch

    return int(torch.ones(mb * 2**20 // 4).sum().item())


@pytest.fixture(autouse=True)
def tasks_travel_by_value(request):
    """pytest imports this file as a top-level module that a cluster's workers cannot import: on Ray its tasks are
    pickled by value instead (lstm_core's own tasks travel by reference, with lstm_core)."""
    callspec = getattr(request.node, "callspec", None)
    if callspec is not None and callspec.params.get("backend") == "ray":
        import cloudpickle

        cloudpickle.register_pickle_by_value(sys.modules[__name__])


class Recorder(WorkerJob):
    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.events: list[object] = []

    def on_event(self, event: object) -> None:
        self.events.append(event)


def test_a_task_runs_in_its_own_settled_process_and_streams_its_events(backend):
    pool = WorkerPool(backend, max_running=2)
    job = pool.start(Recorder(task=count_task, args=(5,), settings=WorkerSettings(nice=5, torch_threads=1)))
    wait_for(lambda: job.finished)
    assert job.status == JobStatus.DONE and job.events == [1, 2, 3, 4, 5]
    inside = job.result
    assert inside["pid"] == job.pid != os.getpid()
    # a fresh process steps down from the server's priority; a Ray worker trains in a thread it keeps, which starts at
    # its node's worker niceness (Ray's default 15; .ci/run's nodes: 0) and is made at least as nice as each job asks
    if backend.kind == BackendKind.LOCAL:
        assert inside["nice"] == min(os.nice(0) + 5, 19)
    else:
        assert 5 <= inside["nice"] <= RAY_WORKER_NICE
    assert inside["threads"] == 1
    assert inside["streamlit"] is False


def test_a_worker_does_not_rerun_the_servers_main_script(tmp_path):
    """Under the ``streamlit`` console script, re-running the main script would import Streamlit into every worker."""
    marker = tmp_path / "imports.log"
    script = tmp_path / "server_main.py"
    script.write_text(
        "import sys, time\n"
        f"open({str(marker)!r}, 'a').write('imported\\n')\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "from lstm_core.jobs.backends.local import LocalBackend\n"
        "from lstm_core.jobs.workers import WorkerJob, WorkerPool\n"
        "from lstm_core.jobs.limits import n_parameters as task\n"  # any importable function: the job fails, that is fine
        "if __name__ == '__main__':\n"
        "    job = WorkerPool(LocalBackend(), 1).start(WorkerJob(task=task))\n"
        "    while not job.finished:\n"
        "        time.sleep(0.02)\n"
        "    print(job.status)\n"
    )
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "failed"  # n_parameters() lacks its argument: the worker ran it
    assert marker.read_text() == "imported\n"  # once, by the server; never by the worker


def test_stop_reaches_the_worker_and_its_answer_comes_back(backend):
    pool = WorkerPool(backend, max_running=1)
    job = pool.start(Recorder(task=wait_for_stop_task))
    wait_for(lambda: job.events == ["waiting"])
    job.stop()
    wait_for(lambda: job.finished, timeout=10)
    assert job.status == JobStatus.DONE and job.result == "stopped"


@pytest.mark.parametrize(("task", "key"), [(refuse_task, "err_cfg_no_features"), (buggy_task, "err_internal")])
def test_errors_in_a_task_come_back_as_sentences(task, key, backend):
    pool = WorkerPool(backend, max_running=1)
    job = pool.start(WorkerJob(task=task))
    wait_for(lambda: job.finished)
    assert job.status == JobStatus.FAILED and job.error.key == key
    if key == "err_internal":
        assert "KeyError" in str(job.error)


def test_an_allocation_beyond_the_memory_cap_fails_the_job_not_the_host(backend):
    """Also where one worker process runs job after job (Ray): the cap is the job's, lifted when it ends."""
    pool = WorkerPool(backend, max_running=1)
    capped = pool.start(WorkerJob(task=greedy_task, args=(400,), settings=WorkerSettings(memory_cap_mb=200)))
    roomy = pool.start(WorkerJob(task=greedy_task, args=(100,), settings=WorkerSettings(memory_cap_mb=200)))
    wait_for(lambda: capped.finished and roomy.finished)
    assert capped.status == JobStatus.FAILED and capped.error.key == "err_job_out_of_memory"
    assert roomy.status == JobStatus.DONE and roomy.result == 100 * 2**20 // 4


def test_queue_membership_is_by_identity():
    pool = WorkerPool(LocalBackend(), max_running=1)
    first = pool.start(Recorder(task=wait_for_stop_task))
    twins = [pool.start(WorkerJob(task=count_task, args=(1,))) for _ in range(2)]
    wait_for(lambda: first.status == JobStatus.RUNNING)
    assert [pool.queue_place(j) for j in twins] == [1, 2]
    twins[1].stop()
    wait_for(lambda: twins[1].finished)
    assert twins[1].status == JobStatus.CANCELLED and pool.queue_place(twins[0]) == 1
    first.stop()
    wait_for(lambda: twins[0].finished)
    assert twins[0].status == JobStatus.DONE


class SlotWitness(WorkerJob):
    """Records, when its result arrives, whether it still holds a slot or a place in the queue."""

    def on_result(self, result: object) -> None:
        self.result = (self.pool.running_count(), self.pool.queue_place(self))


def test_a_finished_job_has_already_freed_its_slot_and_left_the_queue():
    """Seen finished means gone from the pool: a caller that waited for ``finished`` may count on the slot."""
    pool = WorkerPool(LocalBackend(), max_running=1)
    done = pool.start(SlotWitness(task=count_task, args=(1,)))
    wait_for(lambda: done.finished)
    assert done.status == JobStatus.DONE and done.result == (0, 0) and pool.running_count() == 0
    blocker = pool.start(Recorder(task=wait_for_stop_task))
    waiting = pool.start(WorkerJob(task=count_task, args=(1,)))
    wait_for(lambda: blocker.events == ["waiting"])
    waiting.stop()
    wait_for(lambda: waiting.finished)
    assert waiting.status == JobStatus.CANCELLED and pool.queue_place(waiting) == 0  # no wait: already gone
    blocker.stop()
    wait_for(lambda: blocker.finished)
    assert pool.running_count() == 0


def test_messages_cross_the_pipe_as_typed_records():
    for message in (Event({"epoch": 3}), Result([1.5, 2.5], 321.0), Failure("err_cfg_no_features", {"x": 1}, 12.5)):
        back = pickle.loads(pickle.dumps(message))
        assert type(back) is type(message) and vars(back) == vars(message)
    with pytest.raises(AttributeError):
        Result(1, 2.0).value = 3  # frozen: a message is what the worker sent


@pytest.mark.parametrize(("final", "killed", "status", "key", "peak"), [
    (Result("weights", 340.5), None, JobStatus.DONE, None, 340.5),
    (Failure("err_cfg_no_features", {}, 120.0), None, JobStatus.FAILED, "err_cfg_no_features", 120.0),
    (None, KillReason.TIME_LIMIT, JobStatus.FAILED, "err_job_time_killed", None),
    (None, KillReason.ABANDONED, JobStatus.CANCELLED, None, None),
    (None, None, JobStatus.FAILED, "err_worker_killed", None),
])
def test_how_a_job_ends_is_read_from_its_last_message_or_kill_reason(final, killed, status, key, peak):
    job = WorkerJob(task=count_task, time_limit_s=30.0)
    WorkerPool._settle(job, final, describe_exit(-9), killed)
    assert job.status == status and job.peak_rss_mb == peak
    assert (job.error.key if job.error else None) == key
    if isinstance(final, Result):
        assert job.result == "weights"
    if killed is KillReason.TIME_LIMIT:
        assert job.error.params == {"seconds": "30"}


def test_every_sentence_the_runner_can_end_with_is_translated():
    for key in ("err_worker_killed", "err_worker_exited", "err_job_time_killed", "err_job_out_of_memory", "err_internal"):
        assert key in TABLE["en"] and key in TABLE["zh"]
