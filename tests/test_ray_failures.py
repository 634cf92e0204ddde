"""When a part of a Ray cluster fails: the server lives on, each job ends with a sentence (keeping its best weights where
the server holds them), new jobs train on the server until the cluster is back, and then on the cluster again.

The tests kill parts of a cluster of this module's own (tests/ray_cluster.py), each putting back what it killed; the
shared one .ci/run starts stays whole.
"""

from __future__ import annotations

import re
import time
import urllib.request

import pytest

from lstm_core.jobs.backends import LocalBackend
from lstm_core.jobs.backends.ray import RayBackend
from lstm_core.jobs.manager import JobManager
from tests.agent import AGENT_ARGS, AgentSession
from tests.browser import streamlit_server
from tests.helpers import TINY, need_ray, tiny_frame, wait_for
from tests.ray_cluster import PrivateCluster, descendants

RESULTS = "Held-out test period"  # the Train page's results heading
GCS_TIMEOUT_S = 2  # how long Ray lets a driver go without its head before it ends the driver's process (default 60)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    need_ray()  # the token and the Ray install .ci/run provides
    started = PrivateCluster(tmp_path_factory.mktemp("ray-private")).start()
    yield started
    started.stop()


def long_job():
    return TINY.with_(epochs=1000, patience=1000, batch=4)


def two_jobs_one_per_node(cluster: PrivateCluster) -> tuple[RayBackend, JobManager, list]:
    backend = RayBackend(cluster.address)
    backend.connect()
    wait_for(lambda: backend.slots() == 2, timeout=30)
    manager = JobManager(max_running=2, backend=backend)
    jobs = [manager.submit(tiny_frame(), "a", long_job()) for _ in range(2)]  # one on each node's CPU
    wait_for(lambda: all(j._checkpoint is not None and j._checkpoint.best_epoch >= 1 for j in jobs), timeout=120)
    return backend, manager, jobs


def test_a_job_on_a_lost_node_stops_ends_with_a_sentence_keeps_its_weights_and_the_cluster_serves_the_next(cluster):
    """A node's manager dies (the machine is going): its worker exits within seconds instead of training on unseen, the
    job ends with a sentence and the best weights it reported, and the next job trains on the node that is left."""
    backend, manager, jobs = two_jobs_one_per_node(cluster)
    try:
        victim = next(j for j in jobs if j.pid in cluster.processes("worker"))
        other = next(j for j in jobs if j is not victim)
        cluster.kill_raylet("worker")  # killing a raylet alone leaves its workers behind: they must end themselves
        wait_for(lambda: victim.pid not in descendants(1) and victim.finished, timeout=30)
        assert victim.status == "done" and victim.salvaged and victim.run.stop_reason == "worker_lost"
        assert victim.notice.key == "kept_worker_lost" and victim.notice.params == {"host": victim.host}
        other.stop()
        wait_for(lambda: other.finished, timeout=30)
        began = time.monotonic()
        after = manager.submit(tiny_frame(seed=1), "b", TINY)  # the head's CPU: Ray must not hold it for the dead node
        assert time.monotonic() - began < 1.0  # a request never waits on the cluster
        wait_for(lambda: after.finished, timeout=60)
        assert after.status == "done" and after.notice is None
    finally:
        backend.close()
        cluster.restart("worker")


def test_a_server_outlives_its_ray_head_trains_here_and_on_the_cluster_once_it_is_back(cluster, tmp_path):
    """Ray ends a driver's process once its head has been gone GCS_TIMEOUT_S; the app's server is not that process.

    Before the driver moved out of the server, this server exited GCS_TIMEOUT_S after the head did, with every session.
    """
    env = {"LSTM_LAB_RAY_ADDRESS": cluster.address, "LSTM_LAB_DATA": str(tmp_path / "data"),
           "RAY_gcs_rpc_server_reconnect_timeout_s": str(GCS_TIMEOUT_S)}
    with streamlit_server(cache_dir=tmp_path / "cache", extra_env=env, extra_args=AGENT_ARGS) as url:
        visitor = AgentSession(url)

        def until(done, what: str, timeout_s: float = 120) -> None:
            deadline = time.monotonic() + timeout_s
            while not done():
                assert time.monotonic() < deadline and not visitor.exceptions(), (what, visitor.texts("error"))
                time.sleep(0.5)
                visitor.send()

        def page() -> str:  # as read: a name's Markdown escapes dropped
            return " ".join(visitor.texts("info") + visitor.texts("markdown") + visitor.texts("caption")).replace("\\", "")

        visitor.send({"page": "train"})
        until(lambda: f"on the Ray cluster at {cluster.address}" in page(), "connected")
        visitor.send({"widget_state": {"setting_epochs": 300, "setting_patience": 300}, "trigger": {"key": "train_start"}})
        until(lambda: any(int(m[1]) >= 3 for t in visitor.texts("progress") if (m := re.match(r"Epoch (\d+)/", t))),
              "training")  # three epochs or more: a poll may miss any one of them
        cluster.stop()  # the head, and the worker node with it
        lost_at = time.monotonic()
        until(lambda: any(t.startswith(RESULTS) for t in visitor.texts("subheader")), "the run kept", 30)
        # why it ended early (the head took its node's worker with it, or the job ran on the other node) and its run
        assert "stopped answering while this job trained" in page() or "The cluster lost the worker" in page()
        assert "process was lost" in page()  # the best weights it had reported, scored on the server
        time.sleep(max(0.0, GCS_TIMEOUT_S + 3 - (time.monotonic() - lost_at)))  # past Ray's end of a headless driver
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=5) as health:
            assert health.read() == b"ok"
        visitor.send({"widget_state": {"setting_epochs": 2}, "trigger": {"key": "train_start"}})
        until(lambda: not visitor.texts("progress") and any(t.startswith(RESULTS) for t in visitor.texts("subheader"))
              and "trains on the app's own server" in page(), "trained here")
        assert "cannot be reached now" in page() and visitor.texts("error") == []
        cluster.start()  # a new cluster on the same address
        until(lambda: f"on the Ray cluster at {cluster.address}" in page(), "reconnected", 60)
        visitor.send({"widget_state": {"setting_epochs": 3}, "trigger": {"key": "train_start"}})
        until(lambda: not visitor.texts("progress") and any(t.startswith(RESULTS) for t in visitor.texts("subheader"))
              and "trains on the app's own server" not in page(), "trained on the cluster")
        assert visitor.exceptions() == [] and visitor.texts("error") == []


def test_a_server_without_the_clusters_token_answers_at_once_and_trains_here(monkeypatch):
    """A refused token once held the first Start for 42 s before its sentence; now the driver process meets the refusal
    and the job trains on the server, saying why."""
    address = need_ray()
    monkeypatch.delenv("RAY_AUTH_TOKEN", raising=False)  # the driver process is started with this environment
    backend = RayBackend(address, fallback=LocalBackend())
    try:
        manager = JobManager(max_running=1, backend=backend)
        began = time.monotonic()
        job = manager.submit(tiny_frame(), "a", TINY)
        assert time.monotonic() - began < 1.0
        wait_for(lambda: job.finished, timeout=120)
        assert job.status == "done" and job.notice.key == "job_on_fallback" and "token" in str(job.notice)
        assert backend.down_error().key == "err_ray_unreachable" and not backend.up
    finally:
        backend.close()
