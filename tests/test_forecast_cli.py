"""The forecast and backtest commands: one JSON object each, and exit code 2 with one line for bad input."""

import json

import pandas as pd
import pytest

from tests.helpers import cli_refusals
from tests.test_cli import cli
from tests.test_forecast import OLD_BUNDLE


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "bundle"
    result = cli("train", "--data", "synthetic:sine", "--target", "logret", "--features", "logret", "--window", "20",
                 "--horizon", "2", "--steps", "4", "--hidden", "8", "--epochs", "2", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["config"]["steps"] == 4
    return out


@pytest.fixture(scope="module")
def ran(bundle) -> dict:
    """The commands the tests below read, run on the bundle in one process (one import of torch, not one each)."""
    b = str(bundle)
    cases = [("forecast", "--bundle", b, "--level", "80,95"), ("forecast", "--bundle", b, "--steps", "2", "--level", "90"),
             ("backtest", "--bundle", b), ("backtest", "--bundle", b, "--refit-every", "20"),
             ("backtest", "--bundle", b, "--period", "5"), ("backtest", "--bundle", str(OLD_BUNDLE), "--level", "95")]
    return dict(zip(cases, cli_refusals([list(c) for c in cases]), strict=True))


def run(ran: dict, *args: str):
    result = ran[args]
    assert result.returncode == 0, result.stderr
    return result


def test_forecast_prints_dates_median_and_intervals(bundle, ran):
    result = run(ran, "forecast", "--bundle", str(bundle), "--level", "80,95")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    data = pd.read_csv(bundle / "data.csv", index_col="Date", parse_dates=["Date"])
    dates = pd.to_datetime(payload["dates"])
    assert len(dates) == 4 and dates[0] == data.index[-1] + pd.offsets.BDay(2)  # horizon 2: step 1 is 2 days on
    assert set(payload["intervals"]) == {"80", "95"}
    for k in range(4):
        assert payload["intervals"]["95"]["lower"][k] <= payload["intervals"]["80"]["lower"][k] < payload["median"][k]
        assert payload["median"][k] < payload["intervals"]["80"]["upper"][k] <= payload["intervals"]["95"]["upper"][k]
    two = json.loads(run(ran, "forecast", "--bundle", str(bundle), "--steps", "2", "--level", "90").stdout)
    assert two["median"] == payload["median"][:2] and set(two["intervals"]) == {"90"}


def test_backtest_prints_per_step_scores_and_coverage(bundle, ran):
    result = run(ran, "backtest", "--bundle", str(bundle))
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["steps"] == 4 and payload["origins"] > 20
    assert [row["step"] for row in payload["per_step"]] == [1, 2, 3, 4]
    for row in payload["per_step"] + payload["baselines"]["persistence"]["per_step"]:
        assert row["rmse"] >= row["mae"] > 0
        assert 0 <= row["coverage"]["80"] <= row["coverage"]["95"] <= 100
    assert set(payload["coverage"]) == {"split", "adaptive", "drawn"} and payload["seconds"] > 0
    for kind in ("split", "adaptive"):  # both kinds of interval checked, each interval within 0-100
        assert set(payload["coverage"][kind]) == {"80", "95"}
        for entry in payload["coverage"][kind].values():
            assert 0 <= entry["interval"][0] <= entry["interval"][1] <= 100 and isinstance(entry["flagged"], bool)
    assert payload["judgement"]["outcome"] in ("beats", "ties", "behind", "loses", "learned_nothing", "untestable")


def test_backtest_with_refits(bundle, ran):
    result = run(ran, "backtest", "--bundle", str(bundle), "--refit-every", "20")
    payload = json.loads(result.stdout)
    progress = [line for line in result.stderr.splitlines() if line.startswith("refit ")]
    assert progress and progress[-1].startswith(f"refit {payload['refits']}/{payload['refits']}, about 0 s left")
    frozen = json.loads(run(ran, "backtest", "--bundle", str(bundle)).stdout)
    assert payload["refits"] == -(-payload["origins"] // 20) and frozen["refits"] == 0
    assert payload["per_step"][0]["rmse"] != frozen["per_step"][0]["rmse"]
    seasonal = json.loads(run(ran, "backtest", "--bundle", str(bundle), "--period", "5").stdout)
    assert set(seasonal["baselines"]) == {"persistence", "moving_average", "drift", "linear_ar", "seasonal_naive"}


def test_backtest_of_a_bundle_saved_before_steps(ran):
    payload = json.loads(run(ran, "backtest", "--bundle", str(OLD_BUNDLE), "--level", "95").stdout)
    stored = json.loads((OLD_BUNDLE / "run.json").read_text())["metrics"]
    assert payload["steps"] == 1
    assert payload["per_step"][0]["rmse"] == pytest.approx(stored["model"]["rmse"], rel=1e-6)


BAD_INPUT = [
    (["forecast", "--bundle", "does/not/exist"], "No saved run"),
    (["backtest", "--bundle", "does/not/exist"], "No saved run"),
    (["forecast", "--bundle", str(OLD_BUNDLE), "--level", "80,x"], "1 to 99"),
    (["backtest", "--bundle", str(OLD_BUNDLE), "--level", "100"], "1 to 99"),
    # each level is a bootstrap and a band: ten once ran past 180 s
    (["forecast", "--bundle", str(OLD_BUNDLE), "--level", "10,20,30,40,50,60,70,80,90,95"], "at most 5 of them"),
    (["forecast", "--bundle", str(OLD_BUNDLE), "--steps", "3"], "from 1 to 1"),
    (["forecast", "--bundle", str(OLD_BUNDLE), "--steps", "two"], "--steps"),
    (["backtest", "--bundle", str(OLD_BUNDLE), "--refit-every", "0"], "'refit-every' is 0; it must be between 1 and 10000"),
    (["backtest", "--bundle", str(OLD_BUNDLE), "--refit-every", "1e9"], "between 1 and 10000"),
    (["backtest", "--bundle", str(OLD_BUNDLE), "--refit-every", "2.5"], "--refit-every"),
    (["backtest", "--bundle", str(OLD_BUNDLE), "--period", "-5"], "'period' is -5; it must be between 1 and 520"),
    (["forecast", "--bundle", str(OLD_BUNDLE), "--steps", "61"], "'steps' is 61; it must be between 1 and 60"),
]


@pytest.fixture(scope="module")
def refused() -> dict:
    """Every BAD_INPUT case, run in one process."""
    return {tuple(args): r for (args, _), r in zip(BAD_INPUT, cli_refusals([a for a, _ in BAD_INPUT]), strict=True)}


@pytest.mark.parametrize("args,needle", BAD_INPUT)
def test_bad_input_exits_2_with_one_line(args, needle, refused):
    result = refused[tuple(args)]
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in result.stderr
    assert result.stdout == ""


def test_refits_beyond_their_time_are_refused_with_the_interval_that_fits(tmp_path):
    """The reported hang: --refit-every 1 on a default run passed the old multiply-add check, and its own progress line
    then said 6,629 s left: a refit's cost is mostly per batch, which multiply-adds do not see."""
    out = tmp_path / "default"
    trained, result = cli_refusals([["train", "--data", "sample:MSFT", "--epochs", "1", "--out", str(out)],
                                    ["backtest", "--bundle", str(out), "--refit-every", "1"]])  # one process
    assert trained.returncode == 0, trained.stderr
    assert result.returncode == 2 and result.stdout == ""
    line = result.stderr.strip()
    assert len(line.splitlines()) == 1 and "s on this machine" in line and "at most 180 s" in line
    assert "1179 refits" in line and "--ignore-estimate" in line
    seconds = float(line.split("take about ")[1].split(" s")[0].replace(",", ""))
    assert seconds > 180
    if "even a single refit" not in line:  # a starved machine may find no interval that fits: then none is offered
        assert int(line.split("Try --refit-every ")[1].split()[0]) > 1
