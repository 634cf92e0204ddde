"""Small shared builders for tests: a tiny config and dataset that train in well under a second, and the test
cluster's address."""

import os

import numpy as np
import pandas as pd

from lstm_core.config import RunConfig
from lstm_core.data import load_synthetic
from lstm_core.data.cleaning import tidy
from lstm_core.data.dataset import Dataset, Source

# pinned, not defaults: the defaults are tuned for a newcomer's first run on real prices
TINY = RunConfig(target="logret", features=("logret",), window=10, horizon=1, hidden=8, epochs=3, batch=32, patience=10,
                 lr=1e-3, seed=1, normalize="none")


def tiny_frame(kind: str = "sine", n_days: int = 300, seed: int = 0):
    return load_synthetic(kind, n_days=n_days, seed=seed).frame


def plotly_array(value):
    """A trace array from a figure's JSON: plain lists, or plotly's base64 typed arrays decoded."""
    import base64

    import numpy as np

    if isinstance(value, dict) and "bdata" in value:
        flat = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        shape = tuple(int(n) for n in str(value.get("shape", len(flat))).split(","))
        return flat.reshape(shape)
    return np.asarray(value)


def wait_for(predicate, timeout: float = 60.0) -> None:
    """Poll ``predicate`` until it is true; AssertionError after ``timeout`` seconds."""
    import time

    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.02)


def outputs_of(prepared, model, period=None):
    """The model's and every baseline's validation and test forecasts (own units), as a run caches them."""
    from lstm_core.baselines import FitOptions
    from lstm_core.evaluate import collect_outputs, model_outputs

    return collect_outputs(prepared, model_outputs(prepared, model), FitOptions(period=period))


def baseline_outputs(prepared, name: str, split: str = "test", period=None):
    """One baseline's forecasts of a split, fitted on ``prepared``'s training rows: ``[S, steps]``, own units."""
    from lstm_core.baselines import BASELINES, FitOptions

    return BASELINES[name].fit(prepared, FitOptions(period=period))(prepared.split_ends[split])


def copy_of(run, run_id: str, dataset: str | None = None):
    """The same run under another id (and dataset name): a second run to save, at no training cost."""
    import copy
    from dataclasses import replace

    twin = copy.copy(run)
    twin.record = replace(run.record, run_id=run_id, dataset=run.dataset_name if dataset is None else dataset)
    return twin


def _needed(variable: str, what: str) -> str:
    """A service .ci/run starts and names in ``variable``: skipped where there is none, failed on CI."""
    import pytest

    value = os.environ.get(variable)
    if not value:
        message = f"{variable} is not set (.ci/run starts {what} and sets it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return value


def need_ray() -> str:
    """The Ray cluster .ci/run starts (LSTM_LAB_TEST_RAY_ADDRESS)."""
    return _needed("LSTM_LAB_TEST_RAY_ADDRESS", "a Ray cluster")


def need_pg() -> str:
    """The PostgreSQL .ci/run starts (LSTM_LAB_TEST_PG_URL)."""
    return _needed("LSTM_LAB_TEST_PG_URL", "a PostgreSQL")


# ---------------------------------------------------------------- the command line, many refusals in one process

_CLI_DRIVER = r"""
import contextlib, io, json, sys, traceback
from lstm_core.cli import main
results = []
for args in json.loads(sys.stdin.read()):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(args)
        except SystemExit as exc:  # argparse's own refusals
            code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
        except BaseException:
            traceback.print_exc()
            code = 1
    results.append([code, out.getvalue(), err.getvalue()])
sys.__stdout__.write(json.dumps(results))
"""


def cli_refusals(cases: list[list[str]], env: dict[str, str] | None = None, timeout: float = 300) -> list:
    """``python -m lstm_core ARGS`` for each of ``cases``, one after another in one fresh process (one import of torch,
    not one per case): a CompletedProcess each, its stdout and stderr the command's own. Named for refusals, its first
    use; commands that work run here too, each seeing what the ones before it left in the process (torch's threads)."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    done = subprocess.run([sys.executable, "-c", _CLI_DRIVER], input=json.dumps(cases), capture_output=True, text=True,
                          cwd=root, env=env, timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:]
    return [subprocess.CompletedProcess(["python", "-m", "lstm_core", *args], code, out, err)
            for args, (code, out, err) in zip(cases, json.loads(done.stdout), strict=True)]


# ---------------------------------------------------------------- baskets

TINY_BASKET = RunConfig(target="logret", features=("logret",), window=10, horizon=1, hidden=4, epochs=2, batch=64)


def walk(n_days: int, seed: int, start: str = "2015-01-01") -> pd.DataFrame:
    """A random walk with clustered volatility, as OHLCV bars on business days."""
    rng = np.random.default_rng(seed)
    vol = 0.01 * np.exp(np.cumsum(rng.normal(0, 0.05, n_days)).clip(-1.5, 1.5))
    close = 100 * np.exp(np.cumsum(vol * rng.standard_normal(n_days)))
    index = pd.bdate_range(start, periods=n_days, name="Date")
    spread = close * vol
    return pd.DataFrame({"Open": close, "High": close + spread, "Low": close - spread, "Close": close,
                         "Volume": np.full(n_days, 1e6)}, index=index)


def dataset(name: str, frame: pd.DataFrame) -> Dataset:
    """A basket's series from a frame, as a loader makes it."""
    frame, quality = tidy(frame)
    return Dataset(name=name, source=Source.CSV, frame=frame, quality=quality, subject=name)
