"""Which steps drove a memory task's answers: integrated gradients over every test sequence the default 4-unit LSTM
answers right, the share of each attribution on the marked step, and completeness.

    python bench/explain.py [--smoke] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

RIGHT_WITHIN = 0.1  # an answer this close to the marked value is right (the values' spread is about 0.6)


def measure(smoke: bool = False) -> dict:
    import numpy as np
    import torch

    from lstm_core.config import RunConfig
    from lstm_core.data import TaskKind, load_task
    from lstm_core.gates.explain import explain_window
    from lstm_core.runs.run import train_run

    torch.set_num_threads(1)
    ds = load_task(TaskKind.REMEMBER, **({"length": 20, "sequences": 300} if smoke else {}))
    config = RunConfig.for_target(**ds.settings()).with_(**({"epochs": 2} if smoke else {}))
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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: the script runs end to end in seconds")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    result = measure(args.smoke)
    text = json.dumps(result, indent=1)
    if args.json:
        args.json.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
