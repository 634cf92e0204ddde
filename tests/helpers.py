"""Small shared builders for tests: a tiny config and dataset that train in well under a second."""

from lstm_core.config import RunConfig
from lstm_core.data import load_synthetic

TINY = RunConfig(window=10, hidden=8, epochs=3, batch=32, patience=10, seed=1)


def tiny_frame(kind: str = "sine", n_days: int = 300, seed: int = 0):
    return load_synthetic(kind, n_days=n_days, seed=seed).frame
