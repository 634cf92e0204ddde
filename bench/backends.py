"""Where jobs run, measured on one machine: this machine's worker processes against a Ray cluster on loopback.

Starts its own throw-away cluster (a head and one worker node, one CPU each, no dashboard, a random token: two job
slots, as LSTM_LAB_MAX_JOBS=2 gives the local pool on the same cores) and measures each backend in a fresh process
of its own, so that both start cold: Start to the first training batch (the first job, then warm ones), the rate of
one job as a share of the bare nn.LSTM loop run right after it in the measuring process, and the wall time of 8
default jobs (the Train page's defaults on MSFT, seeds 0-7, after the warm-up the server does when it starts), then the
peak memory of every process involved while two more train. ``--address`` measures a cluster that is running already
(the test suite's, say) instead; its nodes' memory is then left out.

    python bench/backends.py [--repeats 5] [--address HOST:PORT] [--smoke] [--json out.json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/, for common, however this file is loaded

from common import (  # noqa: E402
    ROOT,
    CommandLine,
    free_port,
    load_module,
    report,
    size_flags,
    stop,
    tree_pss_mb,
    write_json,
)

from lstm_core.config import RunConfig  # noqa: E402

NODE_START_S = 90


@dataclass(frozen=True)
class Sizes:
    repeats: int = 5  # warm first batches, and pairs of a job's rate and the bare loop's
    rate_epochs: int = 4  # of each rate's training
    default_jobs: int = 8
    default: RunConfig = RunConfig()  # the Train page's defaults, each job with its own seed


FULL = Sizes()
SMOKE = Sizes(repeats=1, rate_epochs=1, default_jobs=2, default=RunConfig(hidden=2, window=20, epochs=1))


@contextlib.contextmanager
def ray_cluster() -> Iterator[tuple[str, dict[str, str], list[int]]]:
    """A head and one worker node on 127.0.0.1 (1 CPU each): (address, the environment to reach it, node pids)."""
    port = free_port()
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(16),
           # as README advises for a node that is also the app's server: jobs at LSTM_LAB_TRAIN_NICE, as local ones
           "RAY_worker_niceness": "0"}
    nodes: list[subprocess.Popen] = []
    with tempfile.TemporaryDirectory(prefix="lstm-lab-bench-ray-") as tmp:
        try:
            for name, args in (("head", ["--head", "--port", str(port), "--include-dashboard=false"]),
                               ("worker", ["--address", f"127.0.0.1:{port}"])):
                log = Path(tmp) / f"{name}.log"
                with open(log, "wb") as out:
                    nodes.append(subprocess.Popen(
                        [sys.executable, "-m", "ray.scripts.scripts", "start", "--block", "--node-ip-address",
                         "127.0.0.1", "--num-cpus", "1", *args], stdout=out, stderr=subprocess.STDOUT, env=env))
                deadline = time.monotonic() + NODE_START_S
                while b"Ray runtime started" not in log.read_bytes():
                    if nodes[-1].poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"a Ray node did not start:\n{log.read_text()[-3000:]}")
                    time.sleep(0.2)
            yield f"127.0.0.1:{port}", env, [node.pid for node in nodes]
        finally:
            for node in reversed(nodes):  # `ray start --block` drains and stops its own node when terminated
                stop(node, 60)


def measure_one(kind: str, address: str | None, node_pids: list[int], smoke: bool = False,
                sizes: Sizes = FULL) -> dict:
    """One backend, measured in this (fresh) process: first batch cold and warm, rate against bare, the default jobs.

    The job that is timed and paired with the bare loop is bench/train.py's (its smoke one with ``smoke``)."""
    import torch

    from lstm_core.data import load_source
    from lstm_core.jobs.backends import backend_for
    from lstm_core.jobs.manager import JobManager
    from lstm_core.pipeline import Prepared

    train = load_module("train")
    article, data = (train.SMOKE if smoke else train.FULL).article, (train.SMOKE if smoke else train.FULL).data
    torch.set_num_threads(1)
    frame = load_source(data).frame
    x, y = Prepared(frame, article).tensors("train")
    backend = backend_for(address if kind == "ray" else None)
    began = time.perf_counter()
    if kind == "ray":
        backend.connect()  # its driver connects when the server starts (its warm-up); the first job's workers are still cold
    connect_s = time.perf_counter() - began
    manager = JobManager(max_running=2, backend=backend)
    short = article.with_(epochs=1)
    cold = train.run_job(manager, frame, short)
    warm = [train.run_job(manager, frame, short) for _ in range(sizes.repeats)]
    jobs, bares = [], []
    for _ in range(sizes.repeats):  # each job's rate beside the bare loop right after it, as bench/train.py pairs them
        jobs.append(train.job_epoch_rate(manager, frame, article, sizes.rate_epochs))
        bares.append(train.bare_epoch_rate(x, y, article, sizes.rate_epochs))
    roots = [os.getpid(), *node_pids]

    def pss() -> float:
        return sum(tree_pss_mb(root) for root in roots)

    warming = manager.warm_up()  # as the server does when it starts: every node's workers import torch and lstm_core
    if warming is not None:
        warming.join(timeout=120)
    began = time.perf_counter()
    default = [manager.submit(frame, "MSFT", sizes.default.with_(seed=k)) for k in range(sizes.default_jobs)]
    while not all(job.finished for job in default):
        time.sleep(0.05)
    wall_s = time.perf_counter() - began
    assert all(job.status == "done" for job in default), [job.error for job in default]
    # memory apart from the wall time: reading every process's smaps five times a second takes CPU from the jobs, and
    # more with Ray's dozen processes than with the local three
    idle_mb = pss()
    pair = [manager.submit(frame, "MSFT", sizes.default.with_(seed=sizes.default_jobs + k)) for k in range(2)]
    peak_mb = idle_mb
    while not all(job.finished for job in pair):
        peak_mb = max(peak_mb, pss())
        time.sleep(0.2)
    return {
        "kind": kind,
        "connect_s": round(connect_s, 2),
        "first_batch_cold_s": round(cold.first_batch_at - cold.submitted_at, 3),
        "first_batch_warm_s": round(statistics.median(j.first_batch_at - j.submitted_at for j in warm), 3),
        "worker_began_warm_s": round(statistics.median(j.began_at - j.submitted_at for j in warm), 4),
        "job_samples_per_s": round(statistics.median(jobs)),
        "job_vs_bare": round(statistics.median(j / b for j, b in zip(jobs, bares, strict=True)), 3),
        "job_vs_bare_pairs": [round(j / b, 3) for j, b in zip(jobs, bares, strict=True)],
        "default_jobs": sizes.default_jobs,
        "default_jobs_wall_s": round(wall_s, 1),
        "default_job_train_s_median": round(statistics.median(j.run.record.seconds for j in default), 1),
        "default_job_epochs_median": statistics.median(j.run.record.epochs_run for j in default),
        "worker_peak_rss_mb_median": round(statistics.median(j.peak_rss_mb for j in default)),
        "default_jobs_wall_vs_train": round(wall_s / sum(j.run.record.seconds for j in default) * 2, 3),
        "pss_idle_mb": round(idle_mb),
        "pss_peak_mb": round(peak_mb),
    }


def _measure_in_process(kind: str, address: str | None, env: dict[str, str], node_pids: list[int], smoke: bool,
                        sizes: Sizes) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / f"{kind}.json"
        command = [sys.executable, __file__, "--one", kind, *size_flags(sizes, smoke), "--json", str(out),
                   "--node-pids", ",".join(map(str, node_pids))]
        if address:
            command += ["--address", address]
        subprocess.run(command, check=True, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
        return json.loads(out.read_text())


def measure(sizes: Sizes = FULL, smoke: bool = False, address: str | None = None) -> dict:
    """Both backends, each in a fresh process, the local pool first (capped at 2, as the cluster's 2 CPUs): on a
    throw-away cluster, or on the one running at ``address``."""
    local_env = {k: v for k, v in os.environ.items() if k != "LSTM_LAB_RAY_ADDRESS"}
    result = {"local": _measure_in_process("local", None, {**local_env, "LSTM_LAB_MAX_JOBS": "2"}, [], smoke, sizes)}
    if address:
        result["ray"] = _measure_in_process("ray", address, dict(os.environ), [], smoke, sizes)
        result["cluster"] = f"the cluster running at {address} (its nodes' memory not counted)"
        return result
    with ray_cluster() as (address, env, node_pids):
        result["ray"] = _measure_in_process("ray", address, env, node_pids, smoke, sizes)
    result["cluster"] = "a head and one worker node on 127.0.0.1, 1 CPU each, no dashboard (2 job slots)"
    return result


def rows(result: dict) -> list[tuple[str, str, str]]:
    """(group, measurement, value) rows for bench/run.py's table."""
    local, ray = result["local"], result["ray"]
    out = [("backends", "Ray cluster", result["cluster"]),
           ("backends", "connect to the cluster (once, at server start)", f"{ray['connect_s']} s")]
    for key, what in (("first_batch_cold_s", "Start to first batch, cold (first job of a fresh process)"),
                      ("first_batch_warm_s", "Start to first batch, warm (median)")):
        out.append(("backends", f"{what}: local / Ray", f"{local[key]} / {ray[key]} s"))
    out.append(("backends", "a job's rate, share of the bare loop: local / Ray (median of pairs)",
                f"{local['job_samples_per_s']:,} / {ray['job_samples_per_s']:,} samples/s, {local['job_vs_bare']:.0%} / "
                f"{ray['job_vs_bare']:.0%} of bare (Ray at {ray['job_vs_bare'] / local['job_vs_bare']:.0%} of local; "
                f"pairs {local['job_vs_bare_pairs']} / {ray['job_vs_bare_pairs']})"))
    out.append(("backends", f"{local['default_jobs']} default jobs, 2 at a time: local / Ray",
                f"{local['default_jobs_wall_s']} / {ray['default_jobs_wall_s']} s wall (a job trains "
                f"{local['default_job_train_s_median']} / {ray['default_job_train_s_median']} s, "
                f"{local['default_job_epochs_median']} epochs, median; wall against the jobs' training time over 2 slots "
                f"{local['default_jobs_wall_vs_train']} / {ray['default_jobs_wall_vs_train']})"))
    out.append(("backends", "peak summed PSS of every process involved, idle -> 2 default jobs: local / Ray",
                f"{local['pss_idle_mb']:,} -> {local['pss_peak_mb']:,} / {ray['pss_idle_mb']:,} -> {ray['pss_peak_mb']:,} MB "
                f"(a worker's peak RSS {local['worker_peak_rss_mb_median']} / {ray['worker_peak_rss_mb_median']} MB)"))
    return out


def main() -> None:
    cli = CommandLine(__doc__, FULL, SMOKE)
    cli.add_argument("--address", default=None,
                     help="a running Ray cluster (HOST:PORT, its token in RAY_AUTH_TOKEN) to measure instead of "
                          "starting one")
    cli.add_argument("--one", choices=("local", "ray"), help=argparse.SUPPRESS)
    cli.add_argument("--node-pids", default="", help=argparse.SUPPRESS)
    args, sizes = cli.parse()
    if args.one:  # a measuring process: its result goes to --json alone
        pids = [int(pid) for pid in args.node_pids.split(",") if pid]
        write_json(args.json, measure_one(args.one, args.address, pids, args.smoke, sizes))
        return
    result = measure(sizes, args.smoke, args.address)
    report(result, args.json, rows(result))


if __name__ == "__main__":
    main()
