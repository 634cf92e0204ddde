"""Training speed: LSTM Lab's trainer against a bare nn.LSTM loop on the same data, config and threads.

Also, as the app runs jobs: the rate of a job in a worker process against the bare loop (pairs run back to back),
the time from Start to the first training batch with a cold and a warm forkserver, and the peak memory of the
whole process tree (this process, the forkserver, the workers: summed PSS) with one and with three jobs. And one
larger model's step time with glibc's default malloc settings and with the thresholds LSTM Lab sets (each in a
fresh process, since the setting is process-wide).

    python bench/train.py [--threads 1] [--epochs 4] [--repeats 7] [--smoke] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/, for common, however this file is loaded

import torch  # noqa: E402
from common import CommandLine, report, size_flags, tree_pss_mb  # noqa: E402
from torch import nn  # noqa: E402

from lstm_core.config import RunConfig  # noqa: E402
from lstm_core.data import load_source  # noqa: E402
from lstm_core.pipeline import Prepared  # noqa: E402
from lstm_core.trainer import Trainer  # noqa: E402

# the source article's model; it does not clip gradients, and neither does the bare loop
ARTICLE = RunConfig(hidden=50, layers=1, window=60, batch=64, target="price", features=("close",), patience=1000,
                    clip_grad=0.0)


@dataclass(frozen=True)
class Sizes:
    data: str = "sample:MSFT"
    article: RunConfig = ARTICLE
    epochs: int = 4  # of each rate's training, the first one not counted
    repeats: int = 7  # rounds of the interleaved rates
    warm_repeats: int = 5  # jobs timed from Start to their first batch with the forkserver warm
    memory_epochs: int = 3  # of each job whose process tree's memory is measured
    malloc_rounds: int = 2  # of the four malloc and kernel settings, each in a fresh process
    # the larger model whose step is timed with each malloc setting
    step_hidden: int = 128
    step_layers: int = 2
    step_window: int = 120
    step_batch: int = 128
    step_steps: int = 25  # the first three not counted


FULL = Sizes()
SMOKE = Sizes(data="synthetic:sine", article=ARTICLE.with_(hidden=4, window=5), epochs=1, repeats=1, warm_repeats=1,
              memory_epochs=1, malloc_rounds=1, step_hidden=4, step_layers=1, step_window=5, step_batch=8, step_steps=5)


class BareModel(nn.Module):
    def __init__(self, n_features: int, hidden: int, layers: int) -> None:
        super().__init__()
        self.rnn = nn.LSTM(n_features, hidden, layers, batch_first=True)
        self.head = nn.Linear(hidden, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x)  # [B, T, H]
        return self.head(out[:, -1]).squeeze(-1)


def bare_epoch_rate(x: torch.Tensor, y: torch.Tensor, cfg: RunConfig, epochs: int) -> float:
    """Samples/s of the plainest possible loop: shuffle, slice, forward, MSE, backward, Adam step."""
    torch.manual_seed(cfg.seed)
    model = BareModel(x.shape[-1], cfg.hidden, cfg.layers)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    loss_fn = nn.MSELoss()
    rates = []
    for _ in range(epochs):
        start = time.perf_counter()
        order = torch.randperm(len(x))
        for k in range(0, len(x), cfg.batch):
            idx = order[k : k + cfg.batch]
            opt.zero_grad()
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
            loss.item()
        rates.append(len(x) / (time.perf_counter() - start))
    return max(rates[1:] or rates)  # the first epoch warms up allocators and kernels


def ours_epoch_rate(prepared: Prepared, cfg: RunConfig, epochs: int) -> float:
    result = Trainer(cfg.with_(epochs=epochs), prepared).fit()
    rates = [h.samples_per_s for h in result.history if h.epoch > 0]
    return max(rates[1:] or rates)


def run_job(manager, frame, cfg: RunConfig, on_wait=None):
    """Submit one job and wait for it, calling ``on_wait()`` every 50 ms meanwhile."""
    job = manager.submit(frame, "MSFT", cfg)
    while not job.finished:
        if on_wait:
            on_wait()
        time.sleep(0.05)
    assert job.status == "done", job.error
    return job


def job_epoch_rate(manager, frame, cfg: RunConfig, epochs: int) -> float:
    """Samples/s of the same training as the app runs it: a job in a worker process (one thread, lowered
    priority, progress streamed back), with no browser or Streamlit server on the machine."""
    job = run_job(manager, frame, cfg.with_(epochs=epochs))
    rates = [h.samples_per_s for h in job.run.history if h.epoch > 0]
    return max(rates[1:] or rates)


def start_to_first_batch(frame, cfg: RunConfig, warm_repeats: int) -> dict:
    """Seconds from submit to the first training batch reported back: first with a forkserver not yet started
    (it imports torch), then with it running."""
    from lstm_core.jobs.manager import JobManager

    manager = JobManager(max_running=1)
    short = cfg.with_(epochs=1)
    cold = run_job(manager, frame, short)
    warm = [run_job(manager, frame, short) for _ in range(warm_repeats)]
    return {
        "cold_s": round(cold.first_batch_at - cold.submitted_at, 3),
        "warm_s": round(statistics.median(j.first_batch_at - j.submitted_at for j in warm), 3),
        # the untrained model is scored on every window first (epoch 0): that is most of the warm figure
        "warm_worker_start_s": round(statistics.median(j.started_at - j.submitted_at for j in warm), 4),
        "epoch0_s": round(statistics.median(j.run.history[0].seconds for j in warm), 3),
    }


def tree_memory(frame, cfg: RunConfig, epochs: int) -> dict:
    """Peak summed PSS of this process and its workers with one job, then with three at once (cap 3)."""
    from lstm_core.jobs.manager import JobManager

    peaks = {}
    for n_jobs in (1, 3):
        manager = JobManager(max_running=n_jobs)
        peak = [tree_pss_mb(os.getpid())]
        jobs = [manager.submit(frame, "MSFT", cfg.with_(epochs=epochs, seed=k)) for k in range(n_jobs)]
        while not all(job.finished for job in jobs):
            peak.append(tree_pss_mb(os.getpid()))
            time.sleep(0.1)
        peaks[f"jobs_{n_jobs}"] = {"tree_pss_peak_mb": round(max(peak)),
                                   "worker_peak_rss_mb": [round(job.peak_rss_mb) for job in jobs]}
    return peaks


def step_ms(malloc: str, kernel: str, sizes: Sizes = FULL) -> tuple[float, float]:
    """Median ms and minor page faults per training step of the sizes' step model (in full a 2x128 LSTM, window 120,
    batch 128).

    Runs in a worker thread, as the app and its jobs train. ``kernel`` is "onednn" (torch's default on
    CPU) or "native" (``torch.backends.mkldnn.enabled = False``).
    """
    if malloc == "tuned":
        from lstm_core.jobs.memory import tune_malloc

        assert tune_malloc()
    torch.backends.mkldnn.enabled = kernel == "onednn"
    out: list[tuple[float, float]] = []

    def work() -> None:
        torch.manual_seed(0)
        model = BareModel(1, sizes.step_hidden, sizes.step_layers)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        x, y = torch.randn(sizes.step_batch, sizes.step_window, 1), torch.randn(sizes.step_batch)  # [B, T, 1], [B]
        times, faults = [], []
        for _ in range(sizes.step_steps):
            faults_before = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt
            start = time.perf_counter()
            opt.zero_grad()
            nn.functional.mse_loss(model(x), y).backward()
            opt.step()
            times.append(time.perf_counter() - start)
            faults.append(resource.getrusage(resource.RUSAGE_THREAD).ru_minflt - faults_before)
        out.append((1000 * statistics.median(times[3:]), statistics.median(faults[3:])))

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    return out[0]


def main() -> None:
    cli = CommandLine(__doc__, FULL, SMOKE)
    cli.add_argument("--threads", type=int, default=1)
    cli.add_argument("--step-ms", nargs=2, metavar=("MALLOC", "KERNEL"), help=argparse.SUPPRESS)
    args, sizes = cli.parse()
    torch.set_num_threads(args.threads)
    if args.step_ms:
        print(json.dumps(step_ms(*args.step_ms, sizes)))
        return

    from lstm_core.jobs.manager import JobManager

    article = sizes.article
    dataset = load_source(sizes.data)
    frame = dataset.frame
    prepared = Prepared(frame, article)
    x, y = prepared.tensors("train")
    first_batch = start_to_first_batch(frame, article, warm_repeats=sizes.warm_repeats)
    manager = JobManager(max_running=1)
    bare, ours, ours_clipped, jobs, job_bare = [], [], [], [], []
    for _ in range(sizes.repeats):  # interleaved, so drift in machine load hits all alike
        bare.append(bare_epoch_rate(x, y, article, sizes.epochs))
        ours.append(ours_epoch_rate(prepared, article, sizes.epochs))
        ours_clipped.append(ours_epoch_rate(prepared, article.with_(clip_grad=1.0), sizes.epochs))
        jobs.append(job_epoch_rate(manager, frame, article, sizes.epochs))
        job_bare.append(bare_epoch_rate(x, y, article, sizes.epochs))  # the job's own pair, right after it
    memory = tree_memory(frame, article.with_(clip_grad=1.0), epochs=sizes.memory_epochs)
    malloc = {}  # each setting in a fresh process (mallopt is process-wide), twice, interleaved
    settings = [(kernel, mode) for _ in range(sizes.malloc_rounds) for kernel in ("onednn", "native")
                for mode in ("default", "tuned")]

    def step_process(setting: tuple[str, str]) -> dict:
        command = [sys.executable, __file__, "--threads", str(args.threads), *size_flags(sizes, args.smoke), "--step-ms",
                   setting[1], setting[0]]
        return json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout)

    # one at a time, as timings must be; a smoke run's numbers mean nothing, so its processes run side by side
    with ThreadPoolExecutor(max_workers=len(settings) if args.smoke else 1) as pool:
        for (kernel, mode), out in zip(settings, pool.map(step_process, settings), strict=True):
            malloc.setdefault(f"{kernel}_{mode}", []).append(out)
    result = {
        "threads": args.threads,
        "config": f"LSTM {article.layers}x{article.hidden}, window {article.window}, batch {article.batch}, float32, "
                  f"{dataset.subject} {dataset.source} ({len(x)} training windows)",  # "MSFT sample"
        "bare_samples_per_s": round(statistics.median(bare)),
        "train_samples_per_s": round(statistics.median(ours)),
        # each pair ran back to back; the median of their ratios shrugs off a slow moment of a shared machine
        "train_vs_bare": round(statistics.median(o / b for o, b in zip(ours, bare, strict=True)), 3),
        "train_clip_1_samples_per_s": round(statistics.median(ours_clipped)),  # the app's default clip_grad
        "job_samples_per_s": round(statistics.median(jobs)),
        "job_vs_bare": round(statistics.median(j / b for j, b in zip(jobs, job_bare, strict=True)), 3),
        "job_vs_bare_pairs": [round(j / b, 3) for j, b in zip(jobs, job_bare, strict=True)],
        "start_to_first_batch": first_batch,
        "tree_memory": memory,
        "step_ms_default_malloc": round(min(ms for ms, _ in malloc["onednn_default"]), 1),
        "step_ms_tuned_malloc": round(min(ms for ms, _ in malloc["onednn_tuned"]), 1),
        "step": {key: {"ms": round(min(ms for ms, _ in runs), 1), "faults": round(min(f for _, f in runs))}
                 for key, runs in malloc.items()},
    }
    report(result, args.json, result.items())
    if not math.isfinite(result["train_vs_bare"]):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
