"""The memory task benchmark: how fast the default task is solved, by an LSTM, a GRU and a plain RNN, and how long the
Gates page's unit search takes over a 1,000-window test period (not part of the tests).

    python bench/memory.py [--smoke] [--json out.json]

Each model trains as the app trains it: a job in a worker process (forkserver, one torch thread, nice 10) on the
default task (remember, length 100, 2,000 sequences, seed 0) with the task's default settings, the cell changed for
GRU and RNN. "Solved" is the first epoch whose validation MSE falls below 10 % of always answering the training mean's
(on the same validation sequences); its time counts from Start, the worker's start included.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/, for common, however this file is loaded

from common import CommandLine, load_average, report, size  # noqa: E402

from lstm_core.config import RunConfig  # noqa: E402
from lstm_core.data import TaskKind, load_task  # noqa: E402
from lstm_core.gates import extract_gates, read_task_units, search_units  # noqa: E402
from lstm_core.gates.roles import task_sequences  # noqa: E402
from lstm_core.pipeline import Prepared  # noqa: E402

SOLVED = 0.10  # validation MSE over the training mean's
MODELS = {"lstm": {}, "gru": {"cell": "gru"}, "rnn": {"cell": "rnn"}, "lstm_16": {"hidden": 16}}


@dataclass(frozen=True)
class Sizes:
    length: int = 100  # the task's steps per sequence: its default
    sequences: int = 2000  # its default
    epochs: int | None = size(None, "each model's epochs; without it the task's default")
    search_windows: int = 1000  # test sequences the unit search reads
    search_repeats: int = 5


FULL = Sizes()
# --smoke: the shortest sequences the unit search's stretch (steps 10 to 12) fits in, the fewest the task allows
SMOKE = Sizes(length=20, sequences=100, epochs=1, search_windows=20, search_repeats=1)


def train_job(manager, ds, config: RunConfig) -> tuple[object, float]:
    """One job, as the Train page submits it: the run and its seconds from Start to the run handed back."""
    started = time.perf_counter()
    job = manager.submit(ds.frame, ds.name, config)
    while not job.finished:
        time.sleep(0.05)
    assert job.run is not None, job.error
    return job, time.perf_counter() - started


def solve_point(job, mean_val_mse: float) -> dict:
    """The first epoch whose validation loss is under ``SOLVED`` of the training mean's, and its time from Start."""
    history = job.run.history
    elapsed = (job.started_at - job.submitted_at) if job.started_at else 0.0
    for record in history:
        elapsed += record.seconds
        if record.epoch > 0 and record.val_loss < SOLVED * mean_val_mse:
            return {"epoch": record.epoch, "seconds": round(elapsed, 2)}
    return {"epoch": None, "seconds": None}


def measure(sizes: Sizes = FULL) -> dict:
    from lstm_core.jobs.manager import JobManager

    ds = load_task(TaskKind.REMEMBER, length=sizes.length, sequences=sizes.sequences)
    base = RunConfig.for_target(**ds.settings())
    if sizes.epochs is not None:
        base = base.with_(epochs=sizes.epochs)
    prepared = Prepared(ds.frame, base)
    _, y_val = prepared.tensors("val")
    mean_val_mse = float((y_val.double() ** 2).mean())  # the training mean is 0 once targets are scaled
    manager = JobManager(max_running=1)
    manager.warm_up()
    results: dict = {"load_average_at_start": load_average(), "task": ds.name,
                     "config": {k: str(v) for k, v in base.to_dict().items()
                                if k in ("hidden", "lr", "batch", "epochs", "patience", "window")}}
    for name, changes in MODELS.items():
        job, seconds = train_job(manager, ds, base.with_(**changes))
        run = job.run
        share = (run.metrics["model"].get("rmse") / run.metrics["train_mean"].get("rmse")) ** 2
        entry = {
            "job_s": round(seconds, 1), "epochs": run.record.epochs_run, "best_epoch": run.record.best_epoch,
            "stop": str(run.stop_reason), "test_mse_share": round(share, 5), "solved": solve_point(job, mean_val_mse),
            "val_loss": [round(h.val_loss / mean_val_mse, 5) for h in run.history],  # over the training mean's
        }
        if run.config.cell == "lstm":
            x, events, answers, event = task_sequences(run.prepared)
            reading = read_task_units(extract_gates(run.model, x), events, answers, event)
            entry["roles"] = {str(f.role): {"unit": f.unit, "found": f.found, **{k: round(v, 3) for k, v in f.numbers.items()}}
                              for f in reading.findings}
            entry["input_contrast"] = [round(float(v), 3) for v in reading.stats.input_contrast]
            entry["answer_r"] = [round(float(v), 3) for v in reading.stats.answer_r]
        results[name] = entry
        print(f"{name}: {entry['job_s']} s, test MSE {share:.2%} of the mean's, solved {entry['solved']}", file=sys.stderr)
    manager.shutdown()
    results["search"] = measure_search(sizes)
    results["load_average_at_end"] = load_average()
    return results


def measure_search(sizes: Sizes = FULL) -> dict:
    """The page's search over the test sequences (1,000) of a trained 4-unit LSTM: extracting the array, then the
    search."""
    import torch

    from lstm_core.runs.run import train_run

    torch.set_num_threads(1)
    windows = sizes.search_windows
    ds = load_task(TaskKind.REMEMBER, length=sizes.length, sequences=int(windows / 0.15) + 1)  # the test sequences
    config = RunConfig.for_target(**ds.settings(), epochs=1)  # the search's cost does not depend on the weights
    run = train_run(ds.frame, ds.name, config)
    x, _ = run.prepared.tensors("test")
    x = x[-windows:]
    started = time.perf_counter()
    values = extract_gates(run.model, x).layer(0)["i"]  # [windows, length, 4]
    extract_s = time.perf_counter() - started
    times = []
    for _ in range(sizes.search_repeats):
        started = time.perf_counter()
        search_units(values, [0], 0, 10, 12, array="i")
        times.append(time.perf_counter() - started)
    return {"windows": int(values.shape[0]), "steps": int(values.shape[1]), "units": int(values.shape[2]),
            "extract_s": round(extract_s, 3), "search_s": round(float(np.median(times)), 4)}


def rows(results: dict) -> list[tuple[str, str, str]]:
    """(group, measurement, value) rows for bench/run.py's table."""
    out = [("memory", "default task", f"{results['task']}; {results['config']}")]
    for name, label in (("lstm", "LSTM 4"), ("gru", "GRU 4"), ("rnn", "plain RNN 4"), ("lstm_16", "LSTM 16")):
        r = results[name]
        solved = f"solved at epoch {r['solved']['epoch']}, {r['solved']['seconds']} s from Start" if r["solved"]["epoch"] else "never solved"
        out.append(("memory", f"{label}: test MSE / training mean's", f"{r['test_mse_share']:.2%}; {solved}; "
                                                                        f"job {r['job_s']} s, {r['epochs']} epochs ({r['stop']})"))
        if "roles" in r:
            roles = "; ".join(f"{role} unit {v['unit']} {'found' if v['found'] else 'not found'} "
                              + ", ".join(f"{k} {v[k]}" for k in v if k not in ("unit", "found")) for role, v in r["roles"].items())
            out.append(("memory", f"{label}: roles", roles))
    s = results["search"]
    out.append(("memory", f"unit search, {s['windows']} windows x {s['steps']} steps x {s['units']} units",
                f"extract {s['extract_s']} s, search {s['search_s']} s"))
    return out


def main() -> None:
    args, sizes = CommandLine(__doc__, FULL, SMOKE).parse()
    results = measure(sizes)
    report(results, args.json, rows(results))


if __name__ == "__main__":
    main()
