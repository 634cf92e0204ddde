"""Tuning benchmark: trials per minute with 1 and 2 worker processes on a fixed small search, and the best validation
loss a fixed budget of epochs buys with the median pruner against none.

    python bench/tune.py [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import optuna  # noqa: E402
import torch  # noqa: E402
from optuna.trial import TrialState  # noqa: E402

from lstm_core import tune  # noqa: E402
from lstm_core.config import RunConfig  # noqa: E402
from lstm_core.data import load_source  # noqa: E402

DATA = "synthetic:sine"  # 1,500 seeded business days
BASE = RunConfig(target="logret", features=("logret",), window=60, horizon=1, epochs=20, batch=64, patience=1000,
                 seed=0)
SEARCH = "hidden=8:32,lr=1e-3:1e-2"
THROUGHPUT_TRIALS = 16
EPOCH_BUDGET = 100  # epochs the pruner comparison may spend, in trials of PRUNER_EPOCHS each
PRUNER_EPOCHS = 10
SEEDS = (0, 1, 2)


def trials_per_minute(workers: int, storage: str) -> dict:
    """Run THROUGHPUT_TRIALS unpruned trials with ``workers`` processes; rate from the first start to the last end."""
    spec = tune.TuneSpec(study=f"rate-{workers}", data=DATA, base=BASE, dims=tuple(tune.parse_search(SEARCH)),
                         budget=THROUGHPUT_TRIALS, storage=storage, pruner="none", workers=workers)
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


def best_within_epochs(pruner: str, seed: int) -> dict:
    """Trials (TPE seeded ``seed``) until EPOCH_BUDGET epochs are spent; the best validation loss found."""
    torch.set_num_threads(1)
    frame = load_source(DATA).frame
    spec = tune.TuneSpec(study="pruning", data=DATA, base=BASE.with_(epochs=PRUNER_EPOCHS),
                         dims=tuple(tune.parse_search(SEARCH)), budget=int(tune.STUDY_BOUNDS["trials"].high),
                         pruner=pruner)  # the epoch budget ends this loop, long before the trial budget
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed), pruner=tune.make_pruner(pruner))
    spent = 0
    while spent < EPOCH_BUDGET:
        study.optimize(lambda trial: tune.objective(trial, spec, frame), n_trials=1)
        spent += len(study.trials[-1].intermediate_values)
    return {"best": study.best_value, "trials": len(study.trials),
            "pruned": sum(t.state == TrialState.PRUNED for t in study.trials), "epochs": spent}


def measure() -> dict:
    result: dict = {"search": SEARCH, "data": DATA, "epochs_per_trial": BASE.epochs,
                    "config": f"window {BASE.window}, batch {BASE.batch}, 1 thread per worker"}
    with tempfile.TemporaryDirectory() as tmp:
        result["rate"] = [trials_per_minute(workers, str(Path(tmp) / f"rate-{workers}.journal")) for workers in (1, 2)]
    runs = {pruner: [best_within_epochs(pruner, seed) for seed in SEEDS] for pruner in ("median", "none")}
    result["pruning"] = {
        "epoch_budget": EPOCH_BUDGET, "epochs_per_trial": PRUNER_EPOCHS, "seeds": list(SEEDS),
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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    result = measure()
    for group, name, value in rows(result):
        print(f"{group}  {name}  {value}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
