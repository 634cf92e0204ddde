"""The bundled basket (MSFT, NVDA, S&P 500, NASDAQ) trained as one pooled network, over seeds: per-series RMSE and skill,
the panel's Holm-adjusted p against the strongest simple methods and the pooled linear model, and training time.

    python bench/basket.py [--seeds 3] [--features logabsret logabsret,logrange,logvol5,logvol22,market] [--hidden 32]
                           [--smoke] [--json out.json]

Every run has the basket's own settings (``Basket.settings``: for volatility 8 units) but for the feature sets
given and ``--hidden``: one series' default is ``--features logabsret --hidden 32``.
"""

from __future__ import annotations

import statistics
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/, for common, however this file is loaded

from common import CommandLine, report, size  # noqa: E402

PANEL_RIVALS = ("window_mean", "linear_ar", "har", "pooled_linear", "untrained")


@dataclass(frozen=True)
class Sizes:
    seeds: int = 3
    series: tuple[str, ...] = ("basket:default",)
    # the feature sets, each trained over the seeds: one series' default, and the basket's own
    features: tuple[str, ...] = ("logabsret", "logabsret,logrange,logvol5,logvol22,market")
    epochs: int | None = size(None, "each run's epochs; without it its target's default")
    hidden: int | None = size(None, "each network's hidden units; without it the basket's own (Basket.settings: 8)")


FULL = Sizes()
SMOKE = Sizes(seeds=1, series=("sample:MSFT", "sample:NVDA"), epochs=1, hidden=2)  # two series of the four


def measure(sizes: Sizes = FULL) -> dict:
    import torch

    from lstm_core.basket.data import load_basket
    from lstm_core.basket.run import ensemble, train_basket
    from lstm_core.config import RunConfig
    from lstm_core.evaluate import MODEL
    from lstm_core.judgement import judge

    torch.set_num_threads(1)  # one thread per job, as the app's workers train
    basket = load_basket(list(sizes.series))
    base = RunConfig.for_target(**basket.settings())
    base = base.with_(**{name: value for name, value in (("epochs", sizes.epochs), ("hidden", sizes.hidden))
                         if value is not None})
    out: dict = {"basket": basket.summary(), "configs": {}}
    for features in sizes.features:
        config = base.with_(features=tuple(features.split(",")))
        runs = []
        for seed in range(sizes.seeds):
            began = time.perf_counter()
            run = train_basket(basket, config.with_(seed=seed))
            runs.append((run, time.perf_counter() - began))
            print(f"{features} seed {seed}: panel {run.panel_judgement.outcome}, {runs[-1][1]:.1f} s", file=sys.stderr)
        per_series = {}
        for k, name in enumerate(basket.names):
            scores = [run.series[k].scores for run, _ in runs]
            strongest = [run.series[k].judgement.strongest for run, _ in runs]
            per_series[name] = {
                "model_rmse": statistics.fmean(s[MODEL].rmse for s in scores),
                "skill": statistics.fmean(s[MODEL].skill for s in scores),
                "skill_by_seed": [round(s[MODEL].skill, 4) for s in scores],
                "strongest": max(set(strongest), key=strongest.count),
                "strongest_rmse": statistics.fmean(s[st].rmse for s, st in zip(scores, strongest, strict=True)),
                "pooled_linear_rmse": statistics.fmean(s["pooled_linear"].rmse for s in scores),
                "outcomes": [str(run.series[k].judgement.outcome) for run, _ in runs],
            }
        panel = {rival: {"rmse": statistics.fmean(run.panel[rival].rmse for run, _ in runs),
                         "p_holm_by_seed": [run.panel[rival].dm_p_holm if rival != "untrained" else run.panel[rival].dm_p
                                            for run, _ in runs]} for rival in PANEL_RIVALS}
        averaged, ensemble_panel = ensemble([run for run, _ in runs])  # the seeds' forecasts averaged
        seeds_averaged = {
            "panel_model_rmse": ensemble_panel[MODEL].rmse,
            "panel_outcome": str(judge(ensemble_panel, config.target).outcome),
            "panel": {rival: {"rmse": ensemble_panel[rival].rmse,
                              "p_holm": ensemble_panel[rival].dm_p_holm if rival != "untrained"
                              else ensemble_panel[rival].dm_p} for rival in PANEL_RIVALS},
            "series": {s.name: {"model_rmse": s.scores[MODEL].rmse, "skill": s.scores[MODEL].skill,
                                "outcome": str(s.judgement.outcome)} for s in averaged},
        }
        out["configs"][features] = {
            "seconds_by_seed": [round(s, 1) for _, s in runs], "best_epoch_by_seed": [run.best_epoch for run, _ in runs],
            "panel_model_rmse": statistics.fmean(run.panel[MODEL].rmse for run, _ in runs),
            "panel_outcomes": [str(run.panel_judgement.outcome) for run, _ in runs],
            "panel": panel, "series": per_series, "seeds_averaged": seeds_averaged,
        }
    return out


def main() -> None:
    cli = CommandLine(__doc__, FULL, SMOKE)
    cli.add_argument("--features", nargs="+", default=None, help=f"feature sets (default {' '.join(FULL.features)})")
    args, sizes = cli.parse()
    if args.features:
        sizes = replace(sizes, features=tuple(args.features))
    report(measure(sizes), args.json)


if __name__ == "__main__":
    main()
