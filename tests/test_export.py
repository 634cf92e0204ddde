"""A run exported as one plain PyTorch script: run from its folder it retrains the same model and prints the app's test
RMSE (within 0.1 %), imports nothing of the app, and passes ruff."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import zipfile
from io import BytesIO

import pytest
import torch

from lstm_core.config import RunConfig
from lstm_core.data import TaskKind, load_sample, load_task
from lstm_core.runs.bundle import save_bundle
from lstm_core.runs.export import DATA, SCRIPT, export_script, export_zip, save_export
from lstm_core.runs.run import train_run
from tests.helpers import cli_refusals

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _msft(rows: int = 1500):
    ds = load_sample("MSFT")
    return ds.frame.iloc[-rows:], ds.name


def _task():
    ds = load_task(TaskKind.REMEMBER, length=20, sequences=300, seed=0)
    return ds.frame, ds.name, RunConfig.for_target(**ds.settings()).with_(epochs=15, patience=5)


# each run is small (a few epochs, a few hundred windows), yet takes every branch its configuration has
CASES = {
    # the default: next-20-day volatility, windows read against their own level (HAR's monthly component and the daily
    # range too), LSTM;
    # it stops early, so the loop's early stopping and best-weight restore are taken
    "lstm-volatility": lambda: (*_msft(2500), RunConfig(hidden=8, epochs=5, patience=2, window=30, lr=2e-3,
                                                        features=("logabsret", "logvol22", "logrange"))),
    # a GRU on the price, two layers with dropout (dropout draws from the seeded generator), two steps ahead, AdamW
    "gru-price": lambda: (*_msft(), RunConfig.for_target(target="price", cell="gru", hidden=6, layers=2, dropout=0.2,
                                                       features=("close", "volume", "logabsret"), window=20, steps=2,
                                                       epochs=3, optimizer="adamw")),
    # one scaler for every window, log returns, a plain RNN on SGD, no clipping, the daily range and HAR's weekly and
    # monthly components as inputs
    "rnn-logret": lambda: (*_msft(), RunConfig.for_target(target="logret", cell="rnn", hidden=5, window=15,
                                                        features=("logret", "logrange", "logvol5", "logvol22"),
                                                        epochs=3, optimizer="sgd",
                                                        lr=1e-2, clip_grad=0.0)),
    # a memory task: whole sequences, split between sequences, the answer read at the last step
    "task": lambda: _task(),
}


_RUN_ALL = """
import contextlib, io, json, os, runpy, sys
out = {}
for folder in sys.argv[1:]:  # each script from its own folder, as `python train.py` runs it there
    os.chdir(folder)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        runpy.run_path("train.py", run_name="__main__")
    out[folder] = printed.getvalue()
print(json.dumps(out))
"""


def test_the_exported_scripts_reproduce_the_apps_test_rmse(tmp_path):
    """Every configuration's script, run from its folder in one clean interpreter that cannot import the app (one
    start-up of torch for all of them): the app's test RMSE, and the epoch it kept."""
    torch.set_num_threads(1)  # as the app trains, and as the script does
    runs = {}
    for case, make in CASES.items():
        frame, name, config = make()
        runs[case] = train_run(frame, name, config)
        save_export(runs[case], tmp_path / case)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, "-I", "-c", _RUN_ALL, *(str(tmp_path / case) for case in CASES)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    printed = json.loads(done.stdout)
    for case, run in runs.items():
        stdout = printed[str(tmp_path / case)]
        script_rmse = json.loads(stdout.strip().splitlines()[-1])["test_rmse"]
        assert script_rmse == pytest.approx(run.metrics["model"].rmse, rel=1e-3), case
        assert f"best epoch {run.record.best_epoch} " in stdout, case  # it stopped where the app did
    assert {run.record.best_epoch > 0 for run in runs.values()} == {True}  # each kept a trained epoch


def test_the_script_imports_only_torch_numpy_and_pandas_and_reads_in_order(tmp_path):
    frame, name, config = CASES["gru-price"]()
    run = train_run(frame, name, config.with_(epochs=1))
    source = export_script(run)
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module.split(".")[0])
    assert imported == {"copy", "json", "math", "numpy", "pandas", "torch"}
    sections = [source.index(f"# ---- {k}.") for k in range(1, 7)]
    assert sections == sorted(sections) and source.index("# ---- the run's settings") < sections[0]
    assert "CELL = nn.GRU" in source and "LAYERS, DROPOUT = 6, 2, 0.2" in source
    assert len(source.splitlines()) < 250  # one sitting
    # only the code its run needs: no task, no volatility target, no daily range here
    assert "answer" not in source and "realized" not in source and "parkinson" not in source
    path = tmp_path / SCRIPT
    path.write_text(source)
    ruff = subprocess.run([sys.executable, "-m", "ruff", "check", "--isolated", "--select", "E,F,W,B,I",
                           "--line-length", "120", str(path)], capture_output=True, text=True)
    assert ruff.returncode == 0, ruff.stdout


def test_the_download_is_one_folder_with_the_script_and_the_data():
    frame, name, config = CASES["task"]()
    run = train_run(frame, name, config.with_(epochs=1))
    with zipfile.ZipFile(BytesIO(export_zip(run))) as archive:
        names = archive.namelist()
        assert sorted(names) == [f"lstm-lab-{run.record.run_id}/{DATA}", f"lstm-lab-{run.record.run_id}/{SCRIPT}"]
        data = archive.read(f"lstm-lab-{run.record.run_id}/{DATA}").decode()
    assert data.splitlines()[0] == "Row,Step,Value,Marker,Answer" and len(data.splitlines()) == len(frame) + 1


def test_the_command_line_exports_a_bundle_and_refuses_what_it_cannot(tmp_path):
    frame, name, config = CASES["lstm-volatility"]()
    run = train_run(frame, name, config.with_(epochs=1))
    save_bundle(run, tmp_path / "run")
    out = tmp_path / "export"
    done = subprocess.run([sys.executable, "-m", "lstm_core", "export", "--bundle", str(tmp_path / "run"), "--out",
                           str(out)], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"script": str(out / SCRIPT), "data": str(out / DATA)}
    assert (out / SCRIPT).read_text() == export_script(run)
    (tmp_path / "file").write_text("x")
    refused = cli_refusals([["export", "--bundle", str(tmp_path / "missing"), "--out", str(out)],
                            ["export", "--bundle", str(tmp_path / "run"), "--out", str(tmp_path / "file")]])
    for done in refused:
        assert done.returncode == 2 and done.stderr.startswith("error: ") and done.stderr.count("\n") == 1, done.stderr


def test_a_hostile_dataset_name_stays_inside_the_scripts_docstring():
    """A CSV's name is a visitor's: quotes, backslashes and newlines in it must not end the docstring and add code."""
    from lstm_core.runs.export import script_for

    name = 'x"""\nimport os; os.system("echo pwned")  # \\"""\n"'
    source = script_for(RunConfig(), name + " (CSV)", "LSTM Lab run abc", 512)
    tree = ast.parse(source)
    assert "pwned" in ast.get_docstring(tree) and "os" not in {
        alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    assert ast.get_docstring(tree).splitlines()[0].startswith('x""" import os; os.system("echo pwned")')
