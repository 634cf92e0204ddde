"""Training speed: LSTM Lab's trainer against a bare nn.LSTM loop on the same data, config and threads.

Also measures one larger model's step time with glibc's default malloc settings and with the thresholds
LSTM Lab sets at start-up (each in a fresh process, since the setting is process-wide).

    python bench/train.py [--threads 1] [--epochs 4] [--repeats 7] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402
from torch import nn  # noqa: E402

from lstm_core.config import RunConfig  # noqa: E402
from lstm_core.data import load_sample  # noqa: E402
from lstm_core.pipeline import Prepared  # noqa: E402
from lstm_core.trainer import Trainer  # noqa: E402

# the source article's model; it does not clip gradients, and neither does the bare loop
ARTICLE = RunConfig(hidden=50, layers=1, window=60, batch=64, target="price", features=("close",), patience=1000,
                    clip_grad=0.0)


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


def job_epoch_rate(frame, cfg: RunConfig, epochs: int) -> float:
    """Samples/s of the same training as the app runs it: a background job (its own thread, lowered priority,
    progress callbacks), with no browser or server on the machine."""
    from lstm_core.jobs import JobManager

    job = JobManager(max_running=1).submit(frame, "MSFT", cfg.with_(epochs=epochs))
    while not job.finished:
        time.sleep(0.05)
    rates = [h.samples_per_s for h in job.run.history if h.epoch > 0]
    return max(rates[1:] or rates)


def step_ms(malloc: str, kernel: str, steps: int = 25) -> tuple[float, float]:
    """Median ms and minor page faults per training step of a 2x128 LSTM, window 120, batch 128.

    Runs in a worker thread, as the app and its jobs train. ``kernel`` is "onednn" (torch's default on
    CPU) or "native" (``torch.backends.mkldnn.enabled = False``).
    """
    if malloc == "tuned":
        from lstm_core.memory import tune_malloc

        assert tune_malloc()
    torch.backends.mkldnn.enabled = kernel == "onednn"
    out: list[tuple[float, float]] = []

    def work() -> None:
        torch.manual_seed(0)
        model = BareModel(1, 128, 2)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        x, y = torch.randn(128, 120, 1), torch.randn(128)
        times, faults = [], []
        for _ in range(steps):
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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--step-ms", nargs=2, metavar=("MALLOC", "KERNEL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.step_ms:
        print(json.dumps(step_ms(*args.step_ms)))
        return

    frame = load_sample("MSFT").frame
    prepared = Prepared(frame, ARTICLE)
    x, y = prepared.tensors("train")
    bare, ours, ours_clipped, jobs = [], [], [], []
    for _ in range(args.repeats):  # interleaved, so drift in machine load hits all alike
        bare.append(bare_epoch_rate(x, y, ARTICLE, args.epochs))
        ours.append(ours_epoch_rate(prepared, ARTICLE, args.epochs))
        ours_clipped.append(ours_epoch_rate(prepared, ARTICLE.with_(clip_grad=1.0), args.epochs))
        jobs.append(job_epoch_rate(frame, ARTICLE, args.epochs))
    malloc = {}  # each setting in a fresh process (mallopt is process-wide), twice, interleaved
    for _ in range(2):
        for kernel in ("onednn", "native"):
            for mode in ("default", "tuned"):
                out = subprocess.run(
                    [sys.executable, __file__, "--threads", str(args.threads), "--step-ms", mode, kernel],
                    capture_output=True, text=True, check=True,
                )
                malloc.setdefault(f"{kernel}_{mode}", []).append(json.loads(out.stdout))
    result = {
        "threads": args.threads,
        "config": f"LSTM 1x50, window 60, batch 64, float32, MSFT sample ({len(x)} training windows)",
        "bare_samples_per_s": round(statistics.median(bare)),
        "train_samples_per_s": round(statistics.median(ours)),
        # each pair ran back to back; the median of their ratios shrugs off a slow moment of a shared machine
        "train_vs_bare": round(statistics.median(o / b for o, b in zip(ours, bare, strict=True)), 3),
        "train_clip_1_samples_per_s": round(statistics.median(ours_clipped)),  # the app's default clip_grad
        "job_samples_per_s": round(statistics.median(jobs)),
        "step_ms_default_malloc": round(min(ms for ms, _ in malloc["onednn_default"]), 1),
        "step_ms_tuned_malloc": round(min(ms for ms, _ in malloc["onednn_tuned"]), 1),
        "step": {key: {"ms": round(min(ms for ms, _ in runs), 1), "faults": round(min(f for _, f in runs))}
                 for key, runs in malloc.items()},
    }
    width = max(map(len, result))
    for key, value in result.items():
        print(f"{key:<{width}}  {value}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    if not math.isfinite(result["train_vs_bare"]):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
