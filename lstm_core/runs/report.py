"""A panel, not one ticker: one config trained on several series and seeds, every baseline beside it, and the spread.

What the README and the Train page may claim about the defaults comes from this panel (``python -m lstm_core report``),
never from a single run.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Callable, Sequence

from lstm_core.config import RunConfig
from lstm_core.data import Dataset
from lstm_core.errors import LabError
from lstm_core.evaluate import MODEL
from lstm_core.runs.run import Run, train_run

SCORES = ("rmse", "mae", "qlike", "dm_p", "dm_p_holm", "val_rmse")  # the panel's columns, each a Score's field


def spread(values: Sequence[float | None]) -> dict[str, object] | None:
    """Mean, min and max of one score over seeds, and every seed's value (None where a score is undefined)."""
    present = [v for v in values if v is not None]
    if not present:
        return None
    return {"mean": statistics.fmean(present), "min": min(present), "max": max(present), "by_seed": list(values)}


def summarize(runs: Sequence[Run]) -> dict[str, object]:
    """One series' runs (one per seed) as the panel reports them."""
    metrics = [run.scores() for run in runs]
    forecasters = list(metrics[0])
    table = {name: {score: spread([m[name].get(score) for m in metrics]) for score in SCORES
                    if any(m[name].get(score) is not None for m in metrics)} for name in forecasters}
    verdicts = [run.judgement() for run in runs]
    strongest = Counter(v.strongest for v in verdicts)
    return {
        "rows": len(runs[0].frame),
        "test_windows": runs[0].prepared.n_samples("test"),
        "forecasters": table,
        "skill_vs_persistence": spread([m[MODEL].skill for m in metrics]),
        "outcomes": dict(Counter(str(v.outcome) for v in verdicts)),
        "outcome_by_seed": [str(v.outcome) for v in verdicts],
        "strongest_baseline": dict(strongest),
        "best_epoch": [run.record.best_epoch for run in runs],
    }


def panel(datasets: Sequence[Dataset], config: RunConfig, seeds: Sequence[int],
          on_run: Callable[[str, int, Run], None] | None = None) -> dict[str, object]:
    """Train ``config`` on every dataset with every seed; the panel as one JSON-ready object. LabError for a series
    given twice (by content): it would be reported once, as two."""
    seen: dict[str, str] = {}
    for ds in datasets:
        if ds.fingerprint in seen or ds.name in seen.values():
            raise LabError("err_report_twice", name=ds.name)
        seen[ds.fingerprint] = ds.name
    series = {}
    for ds in datasets:
        runs = []
        for seed in seeds:
            run = train_run(ds.frame, ds.name, config.with_(seed=seed))
            if on_run is not None:
                on_run(ds.name, seed, run)
            runs.append(run)
        series[ds.name] = summarize(runs)
    return {"config": config.to_dict(), "seeds": list(seeds), "series": series}
