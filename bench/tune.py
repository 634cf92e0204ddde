"""Tuning benchmark: trials per minute with 1 and 2 worker processes on a fixed small search, and the best validation
loss a fixed budget of epochs buys with the median pruner against none.

    python bench/tune.py [--smoke] [--json out.json]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/, for common, however this file is loaded

import optuna  # noqa: E402
import torch  # noqa: E402
from common import CommandLine, report  # noqa: E402
from optuna.trial import TrialState  # noqa: E402

from lstm_core import tune  # noqa: E402
from lstm_core.config import RunConfig  # noqa: E402
from lstm_core.data import load_source  # noqa: E402


@dataclass(frozen=True)
class Sizes:
    data: str = "synthetic:sine"  # 1,500 seeded business days
    base: RunConfig = RunConfig(target="logret", features=("logret",), window=60, horizon=1, epochs=20, batch=64,
                                patience=1000, seed=0)
    search: str = "hidden=8:32,lr=1e-3:1e-2"
    throughput_trials: int = 16
    workers: tuple[int, ...] = (1, 2)  # the throughput's worker processes, one figure each
    epoch_budget: int = 100  # epochs the pruner comparison may spend, in trials of pruner_epochs each
    pruner_epochs: int = 10
    seeds: tuple[int, ...] = (0, 1, 2)


FULL = Sizes()
SMOKE = Sizes(base=FULL.base.with_(window=5, epochs=1), search="hidden=2:4,lr=1e-3:1e-2", throughput_trials=2,
              workers=(1,), epoch_budget=2, pruner_epochs=1, seeds=(0,))


def trials_per_minute(workers: int, storage: str, sizes: Sizes = FULL) -> dict:
    """Run the sizes' throughput trials unpruned with ``workers`` processes; the rate from the first start to the last
    end."""
    spec = tune.TuneSpec(study=f"rate-{workers}", data=sizes.data, base=sizes.base,
                         dims=tuple(tune.parse_search(sizes.search)), budget=sizes.throughput_trials, storage=storage,
                         pruner="none", workers=workers)
    started = time.perf_counter()
    jobs = tune.run_workers(spec)
    wall = time.perf_counter() - started
    assert all(job.error is None for job in jobs), [job.error for job in jobs]
    trials = tune.load_study(storage, spec.study).get_trials(states=(TrialState.COMPLETE,))
    first = min(t.datetime_start for t in trials)
    last = max(t.datetime_complete for t in trials)
    span = (last - first).total_seconds()
    return {"workers": workers, "trials": len(trials), "trials_per_min": round(60 * len(trials) / span, 1),
            "wall_s_with_worker_start": round(wall, 1)}


def best_within_epochs(pruner: str, seed: int, sizes: Sizes = FULL) -> dict:
    """Trials (TPE seeded ``seed``) until the sizes' epoch budget is spent; the best validation loss found."""
    torch.set_num_threads(1)
    frame = load_source(sizes.data).frame
    spec = tune.TuneSpec(study="pruning", data=sizes.data, base=sizes.base.with_(epochs=sizes.pruner_epochs),
                         dims=tuple(tune.parse_search(sizes.search)), budget=int(tune.STUDY_BOUNDS["trials"].high),
                         pruner=pruner)  # the epoch budget ends this loop, long before the trial budget
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed), pruner=tune.make_pruner(pruner))
    spent = 0
    while spent < sizes.epoch_budget:
        study.optimize(lambda trial: tune.objective(trial, spec, frame), n_trials=1)
        spent += len(study.trials[-1].intermediate_values)
    return {"best": study.best_value, "trials": len(study.trials),
            "pruned": sum(t.state == TrialState.PRUNED for t in study.trials), "epochs": spent}


def measure(sizes: Sizes = FULL) -> dict:
    result: dict = {"search": sizes.search, "data": sizes.data, "epochs_per_trial": sizes.base.epochs,
                    "config": f"window {sizes.base.window}, batch {sizes.base.batch}, 1 thread per worker"}
    with tempfile.TemporaryDirectory() as tmp:
        result["rate"] = [trials_per_minute(workers, str(Path(tmp) / f"rate-{workers}.journal"), sizes)
                          for workers in sizes.workers]
    runs = {pruner: [best_within_epochs(pruner, seed, sizes) for seed in sizes.seeds] for pruner in ("median", "none")}
    result["pruning"] = {
        "epoch_budget": sizes.epoch_budget, "epochs_per_trial": sizes.pruner_epochs, "seeds": list(sizes.seeds),
        **{pruner: {"best_val_loss_mean": round(statistics.mean(r["best"] for r in rs), 5),
                    "best_val_loss_each": [round(r["best"], 5) for r in rs],
                    "trials_mean": round(statistics.mean(r["trials"] for r in rs), 1),
                    "pruned_mean": round(statistics.mean(r["pruned"] for r in rs), 1)} for pruner, rs in runs.items()},
    }
    return result


def rows(t: dict) -> list[tuple[str, str, str]]:
    """(group, measurement, value) rows for bench/run.py's table."""
    out = [("tune", f"trials per minute, {r['workers']} worker(s) ({t['search']}, {t['epochs_per_trial']} epochs)",
            f"{r['trials_per_min']} ({r['trials']} trials; {r['wall_s_with_worker_start']} s with worker start)")
           for r in t["rate"]]
    p = t["pruning"]
    for pruner in ("median", "none"):
        s = p[pruner]
        out.append(("tune", f"best val loss in {p['epoch_budget']} epochs, pruner {pruner} (mean of {len(p['seeds'])})",
                    f"{s['best_val_loss_mean']} {s['best_val_loss_each']}, {s['trials_mean']} trials, "
                    f"{s['pruned_mean']} pruned"))
    return out


def main() -> None:
    args, sizes = CommandLine(__doc__, FULL, SMOKE).parse()
    result = measure(sizes)
    report(result, args.json, rows(result))


if __name__ == "__main__":
    main()
