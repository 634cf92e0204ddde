"""Tests of the command line: the JSON it prints, its bundle, and exit code 2 with one line for bad input."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import cli_refusals

ROOT = Path(__file__).resolve().parent.parent


def cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lstm_core", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=300)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "bundle"
    result = cli("train", "--data", "synthetic:sine", "--window", "20", "--hidden", "8", "--epochs", "2",
                 "--batch", "64", "--out", str(out))
    return result, out


def test_train_prints_one_json_object_last(trained):
    result, out = trained
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout.strip().splitlines()[-1])
    for who in ("model", "persistence"):
        assert set(payload["metrics"][who]) >= {"rmse", "mae", "mape", "direction_acc"}
    assert payload["epochs_run"] == 2 and payload["bundle"] == str(out)
    assert payload["best_val_loss"] > 0
    assert "epoch 2/2" in result.stderr
    assert (out / "weights.safetensors").is_file()


BAD_INPUT = [
    (["train", "--data", "sample:NOPE"], "no bundled sample"),
    (["train", "--data", "sample:MSFT", "--window", "0"], "'window'"),
    (["train", "--data", "sample:MSFT", "--lr", "-1"], "'lr'"),
    (["train", "--data", "missing.csv"], "not a data source"),
    (["train", "--data", "{short_csv}", "--window", "60"], "Window (60)"),
    (["train"], "--data"),
    pytest.param(["train", "--data", "synthetic:sine", "--device", "cuda"], "not available",
                 marks=pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="this machine has CUDA")),
    (["gates", "--bundle", "does/not/exist"], "No saved run"),
    # the largest settings: 160 GB estimated, refused before anything is built (it once died after 95 s, a traceback)
    (["train", "--data", "sample:MSFT", "--window", "500", "--hidden", "512", "--layers", "4", "--batch", "4096"],
     "--ignore-estimate"),
    (["report", "--data", "sample:MSFT", "--seeds", "1", "--window", "500", "--hidden", "512", "--layers", "4",
      "--batch", "4096"], "this machine has"),
    (["tune", "--data", "sample:MSFT", "--study", "s", "--search", "hidden=256:512,layers=1:4", "--window", "500",
      "--batch", "4096"], "this machine has"),
]


@pytest.fixture(scope="module")
def refused(tmp_path_factory) -> dict:
    """Every BAD_INPUT case, run in one process."""
    short_csv = tmp_path_factory.mktemp("short") / "short.csv"  # 100 rows: too few for a 60-day window once split three ways
    short_csv.write_text("Date,Close\n" + "".join(f"2020-01-{1 + d % 28:02d},{100 + d}\n".replace("2020-01", f"2020-{1 + d // 28:02d}") for d in range(100)))
    cases = [[a.replace("{short_csv}", str(short_csv)) for a in (c.values[0] if hasattr(c, "values") else c[0])]
             for c in BAD_INPUT]
    return {tuple(c.values[0] if hasattr(c, "values") else c[0]): r for c, r in zip(BAD_INPUT, cli_refusals(cases), strict=True)}


@pytest.mark.parametrize("args,needle", BAD_INPUT)
def test_bad_input_exits_2_with_one_line(args, needle, refused):
    result = refused[tuple(args)]
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in result.stderr
    assert result.stdout == ""


BAD_OUT_AND_DEVICE = [
    (["--device", "meta"], "Device 'meta' is not available"),
    (["--device", "cuda:../x"], "is not available"),
    (["--out", "{a_file}"], "is a file, not a folder"),
    (["--out", "{a_file}/inside"], "Cannot write the run into the folder"),
]


@pytest.fixture(scope="module")
def refused_before_training(tmp_path_factory) -> tuple:
    a_file = tmp_path_factory.mktemp("out") / "taken.txt"
    a_file.write_text("not a folder")
    cases = [["train", "--data", "synthetic:sine", "--epochs", "50", *[a.replace("{a_file}", str(a_file)) for a in args]]
             for args, _ in BAD_OUT_AND_DEVICE]
    return a_file, {tuple(args): r for (args, _), r in zip(BAD_OUT_AND_DEVICE, cli_refusals(cases), strict=True)}


@pytest.mark.parametrize("args,needle", BAD_OUT_AND_DEVICE)
def test_bad_out_and_device_exit_2_with_one_line_before_training(args, needle, refused_before_training):
    a_file, refused = refused_before_training
    result = refused[tuple(args)]
    assert result.returncode == 2 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in result.stderr
    assert "epoch" not in result.stderr  # refused before any training
    assert a_file.read_text() == "not a folder"


def test_an_allocation_past_the_estimate_is_one_line(monkeypatch, capsys):
    """--ignore-estimate on a machine without the memory: torch's failed allocation is a sentence and exit 2."""
    from lstm_core import cli as cli_module

    def greedy(args):
        raise RuntimeError("[enforce fail at alloc_cpu.cpp:117] data. DefaultCPUAllocator: not enough memory")

    monkeypatch.setitem(cli_module.COMMANDS, "train", greedy)
    assert cli_module.main(["train", "--data", "synthetic:sine", "--ignore-estimate"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.splitlines() == [err] and "ran out of this machine's memory" in err
