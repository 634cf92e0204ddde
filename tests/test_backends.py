"""Tests of lstm_core.jobs.backends: the choice made in one place, nothing of Ray without LSTM_LAB_RAY_ADDRESS, and the
data a Ray job carries (its guarantees are tested where the jobs are: test_jobs, test_workers, test_tune)."""

import json
import os
import subprocess
import sys
from pathlib import Path

from lstm_core.jobs.backends import RAY_ADDRESS_ENV, BackendKind, LocalBackend, backend_for
from lstm_core.jobs.workers import WorkerJob, WorkerPool
from tests.helpers import need_ray, tiny_frame, wait_for

ROOT = Path(__file__).resolve().parent.parent

# the app as a visitor meets it, then a job trained on the server's default manager; what was imported on the way
APP_AND_A_JOB = """
import json, sys, time
from streamlit.testing.v1 import AppTest
at = AppTest.from_file("app.py", default_timeout=120).run()
assert not at.exception, at.exception
from lstm_core.jobs.manager import default_manager
from tests.helpers import TINY, tiny_frame
manager = default_manager()
job = manager.submit(tiny_frame(), "sine", TINY)
deadline = time.monotonic() + 120
while not job.finished and time.monotonic() < deadline:
    time.sleep(0.05)
print(json.dumps({"kind": manager.backend.kind, "status": job.status, "notice": job.notice and job.notice.key,
                  "ray": sorted(m for m in sys.modules if m == "ray" or m.startswith("ray."))}))
"""


def test_without_a_ray_address_nothing_of_ray_is_imported():
    env = {k: v for k, v in os.environ.items() if k != RAY_ADDRESS_ENV}
    done = subprocess.run([sys.executable, "-c", APP_AND_A_JOB], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen == {"kind": BackendKind.LOCAL, "status": "done", "notice": None, "ray": []}


def test_a_server_on_ray_imports_nothing_of_ray_itself():
    """Its driver process holds the connection: a cluster that dies or hangs cannot take the server with it."""
    env = {**os.environ, RAY_ADDRESS_ENV: need_ray()}
    done = subprocess.run([sys.executable, "-c", APP_AND_A_JOB], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen == {"kind": BackendKind.RAY, "status": "done", "notice": None, "ray": []}  # on the cluster


def test_the_backend_is_chosen_by_the_address():
    assert isinstance(backend_for(None), LocalBackend) and backend_for(None).kind == BackendKind.LOCAL


def frame_rows_task(frame, name: str, *, channel, stop) -> tuple[int, str]:
    return len(frame), name


def test_a_ray_job_carries_its_data_by_content(ray_backend):
    """Jobs on equal data share one copy in the object store, whatever frame object holds it; the rest travels as it
    is, and each job gets its own frame back."""
    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # pytest's top-level module: no node can import it
    pool = WorkerPool(ray_backend, max_running=2)
    before = ray_backend.stats()["frames_put"]
    jobs = [pool.start(WorkerJob(task=frame_rows_task, args=(frame, "MSFT")))
            for frame in (tiny_frame(), tiny_frame(), tiny_frame(n_days=200, seed=1))]
    wait_for(lambda: all(job.finished for job in jobs), timeout=120)
    assert [job.result for job in jobs] == [(300, "MSFT"), (300, "MSFT"), (200, "MSFT")]
    assert ray_backend.stats()["frames_put"] - before == 2


WARM_THEN_A_JOB = """
import json, sys
from lstm_core.jobs.backends.ray_driver import _warm
_warm()
warmed = set(sys.modules)
import lstm_core.jobs.manager
from lstm_core.jobs.backends.local import PRELOAD
print(json.dumps({"missing": [m for m in PRELOAD if m not in warmed and m != "lstm_core.jobs.manager"],
                  "job_imports": sorted(m for m in set(sys.modules) - warmed if not m.startswith("lstm_core"))}))
"""


def test_a_ray_worker_warms_up_with_what_the_forkserver_preloads():
    """A warmed Ray worker has every module the forkserver preloads, and a job's own module then imports nothing
    from outside lstm_core (the warm-up writes its imports out: lstm_core imports nothing by name)."""
    done = subprocess.run([sys.executable, "-c", WARM_THEN_A_JOB], cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found == {"missing": [], "job_imports": []}


def test_the_docs_say_where_the_test_cluster_listens():
    """``ray start --node-ip-address 127.0.0.1`` is the address its nodes are told; Ray still listens on every
    interface and on the machine's own address. The docs must not promise a cluster on loopback: the token is what
    keeps others out."""
    from tests.ray_cluster import cluster_processes, listening

    found = listening(cluster_processes(need_ray()))
    assert found  # the cluster's GCS and node managers were found, listening
    outside = sorted(a for a in found if a.rsplit(":", 1)[0] not in ("127.0.0.1", "::1"))
    docs = " ".join(" ".join(p.read_text().split()) for p in [ROOT / "README.md", *(ROOT / "docs").glob("*.md")])
    if outside:
        for promise in ("cluster on 127.0.0.1", "cluster on loopback", "node on 127.0.0.1", "nodes on 127.0.0.1"):
            assert promise not in docs, (promise, outside)
        assert "listens on every interface" in docs
