"""Data from five sources: prices (bundled samples, Yahoo Finance, CSV, synthetic) as one tidy daily frame, and
memory tasks with a known answer.

Every price loader returns a ``Dataset``: a frame with a sorted, duplicate-free DatetimeIndex and the
columns Open, High, Low, Close, Volume where the source has them (a single-series source has Close
alone), plus a ``DataQuality`` report of what was fixed on the way in. ``dataset`` holds those types,
``cleaning`` the one cleaning step, ``csvfile`` a visitor's upload, ``tasks`` the memory tasks (one row per step)
and ``sources`` everything else.
"""

from __future__ import annotations

from pathlib import Path

from lstm_core.data.cleaning import EARLIEST_DATE, LATEST_DATE, tidy
from lstm_core.data.csvfile import MAX_CSV_BYTES, MAX_CSV_COLUMNS, MAX_CSV_ROWS, check_csv_size, load_csv
from lstm_core.data.dataset import (
    FRAME_COLUMNS,
    MIN_ROWS,
    PRICE_COLUMNS,
    DataQuality,
    Dataset,
    Source,
    quality_findings,
)
from lstm_core.data.sources import (
    SAMPLE_ORIGINS,
    SAMPLES_DIR,
    SYNTHETIC_KINDS,
    cache_dir,
    cached_copies,
    clear_cache,
    download_yahoo,
    list_samples,
    load_sample,
    load_synthetic,
    load_yahoo,
)
from lstm_core.data.tasks import MAX_TASK_ROWS, TASK_BOUNDS, TaskKind, TaskSpec, load_task, parse_task_source
from lstm_core.errors import LabError

__all__ = [
    "EARLIEST_DATE", "FRAME_COLUMNS", "LATEST_DATE", "MAX_TASK_ROWS", "TASK_BOUNDS", "TaskKind", "TaskSpec", "load_task", "MAX_CSV_BYTES", "MAX_CSV_COLUMNS", "MAX_CSV_ROWS", "MIN_ROWS",
    "PRICE_COLUMNS", "SAMPLES_DIR", "SAMPLE_ORIGINS", "SYNTHETIC_KINDS", "DataQuality", "Dataset", "Source", "cache_dir",
    "cached_copies", "check_csv_size", "clear_cache", "download_yahoo", "list_samples", "load_csv", "load_sample", "load_source",
    "load_synthetic", "load_yahoo", "quality_findings", "tidy",
]  # fmt: skip


def _yahoo_spec(ticker: str) -> Dataset:
    import pandas as pd

    end = pd.Timestamp.today().normalize()
    start = (end - pd.DateOffset(years=10)).strftime("%Y-%m-%d")
    return load_yahoo(ticker, start, end.strftime("%Y-%m-%d"), offline_fallback=True)


# "kind:argument" specs of the command line (anything else is a CSV path); a task's takes its options too
SPEC_LOADERS = {
    Source.SAMPLE: lambda arg: load_sample(arg or "MSFT"),
    Source.SYNTHETIC: lambda arg: load_synthetic(arg or "sine"),
    Source.YAHOO: _yahoo_spec,
}


def load_source(spec: str, task: dict[str, int] | None = None) -> Dataset:
    """A dataset from a command-line spec: ``sample:MSFT``, ``yahoo:TICKER``, ``synthetic:sine``, a memory task
    (``task:remember``, or ``task:KIND:LENGTH:SEQUENCES:SEED`` as ``TaskSpec.source`` writes it) or a CSV path.

    ``task`` holds a task's ``length``, ``sequences`` and ``seed`` over the spec's (LabError when given for other data).
    """
    kind, _, arg = spec.partition(":")
    if kind == Source.TASK:
        given = parse_task_source(arg)
        clash = [name for name, value in (task or {}).items() if name in given and given[name] != value]
        if clash:  # a flag that silently overrode the spec trained something other than either said
            name = clash[0]
            raise LabError("err_task_spec_and_flag", flag=f"--{name}", value=task[name], spec=f"task:{arg}",
                           given=given[name])
        return load_task(**{**given, **(task or {})})
    if task:
        raise LabError("err_task_options_need_task", options=", ".join(f"--{name}" for name in task))
    if kind in SPEC_LOADERS:
        return SPEC_LOADERS[kind](arg)
    path = Path(spec)
    if not path.is_file():
        raise LabError("err_bad_source", spec=spec)
    check_csv_size(path.stat().st_size)  # before the whole file is read into memory
    return load_csv(path.read_bytes(), path.name)
