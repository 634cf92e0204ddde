"""When a part of a Ray cluster fails: the server lives on, each job ends with a sentence (keeping its best weights where
the server holds them), new jobs train on the server until the cluster is back, and then on the cluster again.

Each test kills parts of a cluster of its own (tests/ray_cluster.py); the shared one .ci/run starts stays whole.
"""

from __future__ import annotations

import time
import urllib.request

import pytest

from lstm_core.backends import LocalBackend
from lstm_core.backends.ray import RayBackend
from lstm_core.config import RunConfig
from lstm_core.data import load_sample
from lstm_core.jobs import JobManager
from tests.agent import AGENT_ARGS, AgentSession
from tests.browser import streamlit_server
from tests.helpers import TINY, need_ray, tiny_frame, wait_for
from tests.ray_cluster import PrivateCluster, descendants

RESULTS = "Held-out test period"  # the Train page's results heading
GCS_TIMEOUT_S = 3  # how long Ray lets a driver go without its head before it ends the driver's process (default 60)


@pytest.fixture
def cluster(tmp_path):
    need_ray()  # the token and the Ray install .ci/run provides
    started = PrivateCluster(tmp_path).start()
    yield started
    started.stop()


def long_job() -> RunConfig:
    return TINY.with_(epochs=1000, patience=1000, batch=4)


def test_a_server_outlives_its_ray_head_and_trains_on_without_it(cluster, tmp_path):
    """Ray ends a driver's process once its head has been gone GCS_TIMEOUT_S; the app's server is not that process.

    Before the driver moved out of the server, this server exited GCS_TIMEOUT_S after the head did, with every session.
    """
    env = {"LSTM_LAB_RAY_ADDRESS": cluster.address, "LSTM_LAB_DATA": str(tmp_path / "data"),
           "RAY_gcs_rpc_server_reconnect_timeout_s": str(GCS_TIMEOUT_S)}
    with streamlit_server(cache_dir=tmp_path / "cache", extra_env=env, extra_args=AGENT_ARGS) as url:
        visitor = AgentSession(url)
        visitor.send({"page": "train"})
        visitor.send({"widget_state": {"setting_epochs": 300, "setting_patience": 300}, "trigger": {"key": "train_start"}})
        deadline = time.monotonic() + 120
        while not any(text.startswith(("Epoch 3/", "Epoch 4/")) for text in visitor.texts("progress")):
            assert time.monotonic() < deadline and not visitor.texts("error"), visitor.texts("error")
            time.sleep(0.5)
            visitor.send()
        cluster.kill("head")
        lost_at = time.monotonic()
        while not any(text.startswith(RESULTS) for text in visitor.texts("subheader")):
            assert time.monotonic() - lost_at < 30, (visitor.texts("progress"), visitor.texts("error"))
            time.sleep(0.5)
            visitor.send()
        ended_s = time.monotonic() - lost_at
        page = " ".join(visitor.texts("info") + visitor.texts("markdown") + visitor.texts("caption"))
        # why it ended early: the head's node took the job's worker with it, or the job ran on the other node
        assert "stopped answering while this job trained" in page or "The cluster lost the worker" in page
        assert "process was lost" in page  # its run: the best weights it had reported, scored on the server
        time.sleep(max(0.0, GCS_TIMEOUT_S + 5 - ended_s))  # past the moment Ray ends a driver without its head
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=5) as health:
            assert health.read() == b"ok"
        visitor.send({"widget_state": {"setting_epochs": 2}, "trigger": {"key": "train_start"}})
        deadline = time.monotonic() + 120
        while not (visitor.texts("progress") == [] and any(t.startswith(RESULTS) for t in visitor.texts("subheader"))
                   and any("trains on the app's own server" in t for t in visitor.texts("info"))):
            assert time.monotonic() < deadline and not visitor.texts("exception"), visitor.texts("info")
            time.sleep(0.5)
            visitor.send()
        assert visitor.exceptions() == [] and visitor.texts("error") == []


def test_a_job_on_a_lost_node_ends_with_a_sentence_keeps_its_weights_and_the_cluster_serves_the_next(cluster):
    backend = RayBackend(cluster.address)
    try:
        backend.connect()
        wait_for(lambda: backend.slots() == 2, timeout=30)
        manager = JobManager(max_running=2, backend=backend)
        jobs = [manager.submit(tiny_frame(), "a", long_job()) for _ in range(2)]  # one on each node
        wait_for(lambda: all(j._checkpoint is not None and j._checkpoint.best_epoch >= 1 for j in jobs), timeout=120)
        on_worker = [j for j in jobs if j.pid in cluster.processes("worker")]
        assert len(on_worker) == 1
        victim, other = on_worker[0], next(j for j in jobs if j not in on_worker)
        cluster.kill("worker")  # the machine goes: its node manager, its agents and the job's worker process
        wait_for(lambda: victim.finished, timeout=30)
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


def test_a_worker_whose_node_manager_dies_stops_training(cluster):
    """Killing a raylet alone leaves its workers behind: each exits within seconds instead of training on unseen."""
    backend = RayBackend(cluster.address)
    try:
        backend.connect()
        wait_for(lambda: backend.slots() == 2, timeout=30)
        manager = JobManager(max_running=2, backend=backend)
        jobs = [manager.submit(tiny_frame(), "a", long_job()) for _ in range(2)]
        wait_for(lambda: all(j.progress().tick.epoch >= 1 for j in jobs), timeout=120)
        victim = next(j for j in jobs if j.pid in cluster.processes("worker"))
        cluster.kill_raylet("worker")
        wait_for(lambda: victim.pid not in descendants(1) and victim.finished, timeout=30)
        assert victim.status in ("done", "failed") and (victim.notice or victim.error).key in ("kept_worker_lost",
                                                                                              "err_worker_lost")
        for job in jobs:
            job.stop()
    finally:
        backend.close()


def test_the_server_trains_here_while_the_cluster_is_down_and_on_it_again_once_it_is_back(cluster):
    backend = RayBackend(cluster.address, fallback=LocalBackend())
    try:
        backend.connect()
        manager = JobManager(max_running=2, backend=backend)
        ds = load_sample("MSFT")
        running = manager.submit(ds.frame, ds.name, RunConfig(epochs=300, patience=300))
        wait_for(lambda: running._checkpoint is not None and running._checkpoint.best_epoch >= 1, timeout=120)
        cluster.stop()  # head and worker
        wait_for(lambda: running.finished, timeout=30)
        assert running.status == "done" and running.salvaged and running.notice.key in ("kept_ray_lost", "kept_worker_lost")
        here = manager.submit(tiny_frame(), "a", TINY)
        wait_for(lambda: here.finished, timeout=60)
        assert here.status == "done" and here.notice.key == "job_on_fallback"
        assert here.notice.params["address"] == cluster.address
        cluster.start()  # a new cluster on the same address
        wait_for(lambda: backend.up, timeout=60)
        again = manager.submit(tiny_frame(), "a", TINY)
        wait_for(lambda: again.finished, timeout=60)
        assert again.status == "done" and again.notice is None and again.pid in {
            pid for node in ("head", "worker") for pid in cluster.processes(node)}
    finally:
        backend.close()


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
