"""Tests of lstm_core.backends: the choice made in one place, nothing of Ray without LSTM_LAB_RAY_ADDRESS, and the
data a Ray job carries (its guarantees are tested where the jobs are: test_jobs, test_workers, test_tune)."""

import json
import os
import subprocess
import sys
from pathlib import Path

from lstm_core.backends import RAY_ADDRESS_ENV, BackendKind, LocalBackend, backend_for
from tests.helpers import tiny_frame

ROOT = Path(__file__).resolve().parent.parent

# the app as a visitor meets it, then a job trained on the server's default manager; what was imported on the way
APP_AND_A_JOB = """
import json, sys, time
from streamlit.testing.v1 import AppTest
at = AppTest.from_file("app.py", default_timeout=120).run()
assert not at.exception, at.exception
from lstm_core.jobs import default_manager
from tests.helpers import TINY, tiny_frame
manager = default_manager()
job = manager.submit(tiny_frame(), "sine", TINY)
deadline = time.monotonic() + 120
while not job.finished and time.monotonic() < deadline:
    time.sleep(0.05)
print(json.dumps({"kind": manager.backend.kind, "status": job.status,
                  "ray": sorted(m for m in sys.modules if m == "ray" or m.startswith("ray."))}))
"""


def test_without_a_ray_address_nothing_of_ray_is_imported():
    env = {k: v for k, v in os.environ.items() if k != RAY_ADDRESS_ENV}
    done = subprocess.run([sys.executable, "-c", APP_AND_A_JOB], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen == {"kind": BackendKind.LOCAL, "status": "done", "ray": []}


def test_the_backend_is_chosen_by_the_address():
    assert isinstance(backend_for(None), LocalBackend) and backend_for(None).kind == BackendKind.LOCAL


def test_a_ray_job_carries_its_data_by_content(ray_backend):
    """Jobs on equal data share one reference in the object store, whatever frame object holds it."""
    import ray

    first, again, other = (ray_backend.shared(frame) for frame in (tiny_frame(), tiny_frame(), tiny_frame(seed=1)))
    assert isinstance(first, ray.ObjectRef) and first == again and first != other
    assert ray.get(first).equals(tiny_frame())
    assert ray_backend.shared("MSFT") == "MSFT"  # anything else travels as it is


WARM_THEN_A_JOB = """
import json, sys
from lstm_core.backends.ray import _warm
_warm()
warmed = set(sys.modules)
import lstm_core.jobs
from lstm_core.backends.local import PRELOAD
print(json.dumps({"missing": [m for m in PRELOAD if m not in warmed and m != "lstm_core.jobs"],
                  "job_imports": sorted(m for m in set(sys.modules) - warmed if not m.startswith("lstm_core"))}))
"""


def test_a_ray_worker_warms_up_with_what_the_forkserver_preloads():
    """A warmed Ray worker has every module the forkserver preloads, and a job's own module then imports nothing
    from outside lstm_core (the warm-up writes its imports out: lstm_core imports nothing by name)."""
    done = subprocess.run([sys.executable, "-c", WARM_THEN_A_JOB], cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found == {"missing": [], "job_imports": []}
