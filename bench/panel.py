"""The panel the README's claims quote: the default config on both bundled samples, three seeds each, every baseline
beside it with its Diebold-Mariano p (`python bench/panel.py`, or a part of `python bench/run.py`)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from lstm_core.config import RunConfig  # noqa: E402
from lstm_core.data import load_source  # noqa: E402
from lstm_core.runs.report import panel  # noqa: E402

SERIES = ("sample:MSFT", "sample:NVDA")
SEEDS = 3


def measure(seeds: int = SEEDS) -> dict:
    """The panel of the defaults, one thread, and how long it took."""
    torch.set_num_threads(1)
    started = time.perf_counter()
    result = panel([load_source(spec) for spec in SERIES], RunConfig(), list(range(seeds)))
    return {**result, "seconds": round(time.perf_counter() - started, 1)}


def rows(result: dict) -> list[tuple[str, str, str]]:
    """Table rows: per series, the model's RMSE over seeds against the strongest baselines, and the outcomes."""
    out = []
    for name, series in result["series"].items():
        table = series["forecasters"]
        model = table["model"]["rmse"]
        by_rmse = sorted((n for n in table if n != "model"), key=lambda n: table[n]["rmse"]["mean"])
        strongest = ", ".join(
            f"{n} {table[n]['rmse']['mean']:.3f} (p {', '.join(f'{p:.2g}' for p in table[n]['dm_p']['by_seed'])})"
            for n in by_rmse[:3])
        out.append(("panel", f"{name}: model RMSE over {len(result['seeds'])} seeds",
                    f"{model['mean']:.3f} [{model['min']:.3f}-{model['max']:.3f}] against {strongest}; "
                    f"outcomes {series['outcomes']}"))
    return out


if __name__ == "__main__":
    print(json.dumps(measure(), indent=1))
