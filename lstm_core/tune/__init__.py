"""Hyperparameter search with Optuna: a space generated from RunConfig's table, trials scored on validation loss only,
pruning, a study-wide trial budget and storage that several worker processes (or machines) share.

A study lives in one storage URL: by default a journal file in LSTM Lab's data folder (safe for several processes on
one machine), ``sqlite:///...`` for one worker, or any SQLAlchemy URL such as ``postgresql+psycopg://...`` that every
machine can reach. A worker (``tune_task``) runs trials until the study holds ``budget`` finished trials; a worker
that dies mid-trial stops beating its heartbeat, and the next worker to look marks that trial failed and goes on.
"""

from lstm_core.tune.jobs import TuneWorkerJob, run_workers, submit_workers, tune_task
from lstm_core.tune.space import (
    Dim,
    default_search,
    default_search_names,
    first_dim,
    largest_config,
    narrowed,
    parse_search,
    search_text,
    searchable_names,
    suggest_config,
    table_dim,
)
from lstm_core.tune.storage import (
    StudyJournal,
    default_journal,
    fail_stale_trials,
    heartbeat_s,
    is_journal,
    journal_path,
    mask_url,
    open_storage,
    storage_text,
)
from lstm_core.tune.study import (
    STUDY_BOUNDS,
    PrunerKind,
    StudyBound,
    TrialEvent,
    TrialRow,
    TuneSpec,
    best_config,
    best_trial,
    data_fingerprint,
    data_rows,
    load_study,
    make_pruner,
    objective,
    open_study,
    run_trials,
    summary,
    training_data,
    trial_rows,
)

__all__ = [
    "Dim", "PrunerKind", "STUDY_BOUNDS", "StudyBound", "StudyJournal", "TrialEvent", "TrialRow", "TuneSpec",
    "TuneWorkerJob", "best_config", "best_trial", "data_fingerprint", "data_rows", "default_journal", "default_search", "default_search_names",
    "fail_stale_trials", "first_dim", "heartbeat_s", "is_journal", "journal_path", "largest_config", "load_study",
    "make_pruner", "mask_url", "narrowed", "objective", "open_storage", "open_study", "parse_search", "run_trials",
    "run_workers", "search_text", "searchable_names", "storage_text", "submit_workers", "suggest_config", "summary",
    "table_dim", "training_data", "trial_rows", "tune_task",
]
