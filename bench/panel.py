"""The panel the README's claims quote: the default config on both bundled samples, three seeds each, every baseline
beside it with its Diebold-Mariano p (`python bench/panel.py [--seeds 3] [--smoke] [--json out.json]`, or a part of
`python bench/run.py`)."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/, for common, however this file is loaded

import torch  # noqa: E402
from common import CommandLine, report  # noqa: E402

from lstm_core.config import RunConfig  # noqa: E402
from lstm_core.data import load_source  # noqa: E402
from lstm_core.runs.report import panel  # noqa: E402


@dataclass(frozen=True)
class Sizes:
    seeds: int = 3
    series: tuple[str, ...] = ("sample:MSFT", "sample:NVDA")
    config: RunConfig = RunConfig()


# --smoke: one seed of the smallest model the default target allows (its window covers its 20-day horizon) on two
# teaching series of 1,500 days
FULL = Sizes()
SMOKE = Sizes(seeds=1, series=("synthetic:sine", "synthetic:random_walk"),
              config=RunConfig(hidden=2, window=20, epochs=1))


def measure(sizes: Sizes = FULL) -> dict:
    """The panel of the sizes' config on their series, one thread, and how long it took."""
    torch.set_num_threads(1)
    started = time.perf_counter()
    result = panel([load_source(spec) for spec in sizes.series], sizes.config, list(range(sizes.seeds)))
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


def main() -> None:
    args, sizes = CommandLine(__doc__, FULL, SMOKE).parse()
    report(measure(sizes), args.json)


if __name__ == "__main__":
    main()
