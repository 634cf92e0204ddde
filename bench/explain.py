"""Which steps drove a memory task's answers: integrated gradients over every test sequence the default 4-unit LSTM
answers right, the share of each attribution on the marked step, and completeness.

    python bench/explain.py [--length 100] [--sequences 2000] [--smoke] [--json out.json]
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/, for common, however this file is loaded

from common import CommandLine, report  # noqa: E402

RIGHT_WITHIN = 0.1  # an answer this close to the marked value is right (the values' spread is about 0.6)


@dataclass(frozen=True)
class Sizes:
    length: int = 100  # the task's sequence length (its default)
    sequences: int = 2000
    epochs: int = 200  # the task's default; early stopping ends it sooner


FULL, SMOKE = Sizes(), Sizes(length=20, sequences=300, epochs=2)


def measure(sizes: Sizes = FULL) -> dict:
    import numpy as np
    import torch

    from lstm_core.config import RunConfig
    from lstm_core.data import TaskKind, load_task
    from lstm_core.gates.explain import explain_window
    from lstm_core.runs.run import train_run

    torch.set_num_threads(1)
    ds = load_task(TaskKind.REMEMBER, length=sizes.length, sequences=sizes.sequences)
    config = RunConfig.for_target(**ds.settings()).with_(epochs=sizes.epochs)
    began = time.perf_counter()
    run = train_run(ds.frame, ds.name, config)
    train_s = time.perf_counter() - began
    p = run.prepared
    marker = list(config.features).index("marker")
    right = np.flatnonzero(np.abs(run.test_predictions - p.actual_values("test")) < RIGHT_WITHIN)
    shares, gaps = [], []
    began = time.perf_counter()
    for k in right if len(right) else range(min(5, p.n_samples("test"))):
        found = explain_window(run.model, p, "test", int(k))
        shares.append(found.share_on(p.window("test", int(k)).inputs[:, marker] > 0.5))
        gaps.append(found.gap)
    return {
        "config": config.to_dict(), "train_s": round(train_s, 1),
        "error_share_of_mean": (run.metrics["model"].rmse / run.metrics["train_mean"].rmse) ** 2,
        "test_windows": int(p.n_samples("test")), "right_answers": int(len(right)),
        "share_on_marked": {"mean": float(np.mean(shares)), "min": float(np.min(shares)),
                            "p10": float(np.percentile(shares, 10))},
        "max_gap": float(np.max(gaps)), "explain_s_per_window": (time.perf_counter() - began) / len(shares),
    }


def main() -> None:
    args, sizes = CommandLine(__doc__, FULL, SMOKE).parse()
    report(measure(sizes), args.json)


if __name__ == "__main__":
    main()
