"""Tests of the hyperparameter search: the space from the settings table, storage URLs, and real worker processes
sharing one study on a journal file and on the PostgreSQL that .ci/run starts (LSTM_LAB_TEST_PG_URL), on this machine
and as tasks on the Ray cluster it starts (LSTM_LAB_TEST_RAY_ADDRESS)."""

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import replace
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from lstm_core import tune
from lstm_core.config import SETTINGS, RunConfig
from lstm_core.data import load_source
from lstm_core.errors import LabError
from lstm_core.runs.run import train_run
from tests.helpers import TINY, cli_refusals, need_pg, need_ray, tiny_frame

ROOT = Path(__file__).resolve().parent.parent
# the fixed settings of every worker test: TINY's, as command-line flags
TINY_FLAGS = ["--target", "logret", "--features", "logret", "--window", "10", "--horizon", "1", "--batch", "32",
              "--seed", "1"]


def start_cli(*args: str, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "lstm_core", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=ROOT, env=env)


def last_json(stdout: str) -> dict:
    return json.loads(stdout.strip().splitlines()[-1])


@pytest.fixture(params=["journal", "postgres"])
def storage(request, tmp_path) -> str:
    """A storage URL no other test uses: a fresh journal file, or the CI PostgreSQL (studies get unique names)."""
    if request.param == "journal":
        return str(tmp_path / "studies.journal")
    return need_pg()


@pytest.fixture
def data_csv(tmp_path) -> str:
    """400 days of the seeded sine as a CSV file: a trial of a few epochs takes a fraction of a second."""
    path = tmp_path / "sine.csv"
    tiny_frame(n_days=400).to_csv(path, date_format="%Y-%m-%d", index_label="Date")
    return str(path)


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    # a heartbeat every second: a dead worker's trial is failed 3 s later, not 30
    return {**os.environ, "LSTM_LAB_DATA": str(tmp_path / "data"), "LSTM_LAB_TUNE_HEARTBEAT_S": "1"}


# ---------------------------------------------------------------- the space


def test_space_comes_from_the_table():
    names = tune.searchable_names()
    assert names == [n for n, s in SETTINGS.items() if s.searchable]
    assert {"hidden", "layers", "lr", "cell", "dropout"} <= set(names)
    assert not {"epochs", "seed", "target", "horizon", "features", "train_frac"} & set(names)
    hidden = tune.table_dim("hidden")
    assert (hidden.low, hidden.high, hidden.log, hidden.is_int) == (1, 512, True, True)
    assert tune.table_dim("cell").choices == ("lstm", "gru", "rnn")


def test_the_first_search_comes_from_the_table():
    defaults = tune.default_search()
    assert [d.name for d in defaults] == [n for n, s in SETTINGS.items() if s.search_default] == ["hidden", "layers", "lr"]
    assert tune.search_text(defaults) == "hidden=8:128,layers=1:3,lr=0.0001:0.01"
    for name in tune.searchable_names():
        first, whole, setting = tune.first_dim(name), tune.table_dim(name), SETTINGS[name]
        if setting.search_range is None:
            assert first == whole
        else:
            assert (first.low, first.high) == setting.search_range
            assert whole.low <= first.low <= first.high <= whole.high  # a first range lies inside the table's
    assert (tune.first_dim("batch").low, tune.first_dim("batch").high) == (16, 256)
    assert tune.first_dim("cell").choices == SETTINGS["cell"].choices  # no first range: every choice


def test_search_text_parses_back_to_the_same_dims():
    dims = tune.parse_search("hidden=8:64,lr=1e-4:3e-3,cell=gru,optimizer=adam|sgd,dropout=0.1:0.5")
    assert tune.parse_search(tune.search_text(dims)) == dims


def test_parse_search_narrows_ranges():
    dims = {d.name: d for d in tune.parse_search("hidden=8:64, lr ,cell=gru")}
    assert (dims["hidden"].low, dims["hidden"].high) == (8, 64)
    assert (dims["lr"].low, dims["lr"].high) == (1e-6, 1.0)
    assert dims["cell"].choices == ("gru",)


@pytest.mark.parametrize("text,key", [
    ("epochs", "err_tune_unknown_setting"),
    ("nonsense", "err_tune_unknown_setting"),
    ("hidden=0:64", "err_tune_bad_range"),
    ("hidden=64:8", "err_tune_bad_range"),
    ("lr=abc:1", "err_tune_bad_search"),
    ("cell=transformer", "err_cfg_choice"),
    ("hidden,hidden", "err_tune_bad_search"),
    ("cell=", "err_tune_no_choices"),
    ("cell=|", "err_tune_no_choices"),
    ("optimizer= | ", "err_tune_no_choices"),
    ("hidden=", "err_tune_bad_search"),
    ("hidden=8:", "err_tune_bad_search"),
    ("hidden=:64", "err_tune_bad_search"),
    ("nonsense=", "err_tune_unknown_setting"),
    ("layers=1.5:3", "err_tune_not_whole"),
    ("lr=1e-4:inf", "err_tune_bad_range"),
    ("lr=nan:1e-2", "err_tune_bad_range"),
    ("", "err_tune_empty_search"),
    (" , ,", "err_tune_empty_search"),
])
def test_bad_search_is_one_sentence(text, key):
    with pytest.raises(LabError) as caught:
        tune.parse_search(text)
    assert caught.value.key == key


def test_one_layer_trials_keep_dropout_at_zero():
    study = optuna.create_study()
    dims = tune.parse_search("layers=1:2,dropout=0.1:0.5")
    configs = []
    for _ in range(12):
        configs.append(tune.suggest_config(study.ask(), TINY, dims))
    assert {c.layers for c in configs} == {1, 2}
    assert all(c.dropout == 0.0 for c in configs if c.layers == 1)
    assert all(0.1 <= c.dropout <= 0.5 for c in configs if c.layers == 2)


def test_volatility_window_never_below_horizon():
    study = optuna.create_study()
    base = RunConfig(horizon=20, window=60)
    for _ in range(10):
        assert tune.suggest_config(study.ask(), base, tune.parse_search("window=2:30")).window >= 20


def test_password_is_masked():
    assert tune.mask_url("postgresql+psycopg://bob:s3cret@db.example:5432/lab") == \
        "postgresql+psycopg://bob:***@db.example:5432/lab"
    assert tune.mask_url("postgresql+psycopg://bob@db/lab?sslmode=require&Password=S3cret&connect_timeout=5") == \
        "postgresql+psycopg://bob@db/lab?sslmode=require&Password=***&connect_timeout=5"  # the rest stays readable
    assert tune.mask_url("/srv/lab/tune/msft.journal") == "/srv/lab/tune/msft.journal"


@pytest.mark.parametrize("text", [
    "postgresql+psycopg://bob@db/lab?password=S3cret",
    "postgresql+psycopg://bob@db/lab?sslmode=require&PASSWORD=S3cret",
    "postgresql+psycopg://bob@db/lab?sslpassword=S3cret&sslkey=/k",
    "postgresql+psycopg://bob@db/lab?ssl_key_password=S3cret",
    "postgresql+psycopg://bob@db/lab?passfile=/home/bob/S3cret",
    "postgresql+psycopg:///lab?dsn=host%3Ddb%20user%3Dbob%20password%3DS3cret",
    "postgresql+psycopg:///lab?dsn=host=db+password=S3cret&x=1",
    "postgresql+psycopg:///lab?conninfo='host=db password=S3cret'",
    "postgresql+psycopg://bob:p@S3cret@db/lab",  # "@" in the password
    "postgresql+psycopg://bob:S3cret/x?y@db/lab",  # "/" and "?" in it
    "postgresql+psycopg://bob:S3cret@[::1",  # malformed: no closing bracket
    "postgresql+psycopg://bob:S3cret@db:notaport/lab",
    "postgresql+psycopg://bob@db/lab#S3cret",
    'connection to server failed: host=db user=bob password=S3cret dbname="lab"',  # a driver's message
    "could not connect to postgresql://bob:S3cret@db/lab, retrying",
])
def test_no_secret_survives_masking(text):
    masked = tune.mask_url(text)
    assert "S3cret" not in masked and "***" in masked, masked


@pytest.mark.parametrize("url,key", [
    ("postgresql+psycopg://bob:S3cret@[::1", "err_tune_bad_storage"),
    ("postgresql+psycopg://bob:S3cret@db:notaport/lab", "err_tune_bad_storage"),
    ("postgresql+psycopg://bob:S3cret@127.0.0.1:99999999999/lab", "err_tune_storage_unreachable"),
    ("mysql://bob:S3cret@127.0.0.1:1/lab", "err_tune_bad_storage"),  # a driver that is not installed
    ("nosuch+driver://bob:S3cret@db/lab", "err_tune_bad_storage"),
    ("://bob:S3cret@db", "err_tune_bad_storage"),
    ("postgresql+psycopg://bob@127.0.0.1:1/lab?password=S3cret", "err_tune_storage_unreachable"),
    ("postgresql+psycopg://bob:S3cret@127.0.0.1:1/lab?sslmode=bogus", "err_tune_storage_unreachable"),
])
def test_a_malformed_or_unreachable_storage_is_one_sentence_without_secrets(url, key):
    with pytest.raises(LabError) as caught:
        tune.open_storage(url, "s")
    assert caught.value.key == key
    assert "S3cret" not in str(caught.value) and "S3cret" not in caught.value.message("zh")


@pytest.mark.parametrize("name,field,outside,inside", [
    ("trials", "budget", [0, -1, 1001, 10**9, 2.5, True], [1, 1000]),
    ("workers", "workers", [0, 17, 100, 1.0], [1, 16]),
    ("timeout", "timeout_s", [0, -5.0, 0.5, 7 * 24 * 3600 + 1, float("nan"), float("inf"), float("-inf")],
     [1, 60.5, 7 * 24 * 3600]),
])
def test_the_study_numbers_keep_their_one_bound(name, field, outside, inside):
    bound = tune.STUDY_BOUNDS[name]
    for value in outside:
        with pytest.raises(LabError) as caught:
            tune.TuneSpec(study="s", data="synthetic:sine", base=TINY, dims=(tune.table_dim("hidden"),),
                          **{field: value})
        assert caught.value.key == "err_cfg_range" and caught.value.params["name"] == name
        assert f"between {bound.low:g} and {bound.high:g}" in str(caught.value)  # the sentence quotes the table
    for value in inside:
        spec = tune.TuneSpec(study="s", data="synthetic:sine", base=TINY, dims=(tune.table_dim("hidden"),),
                             **{field: value})
        assert getattr(spec, field) == value
    assert (bound.low, bound.high) == {"trials": (1, 1000), "workers": (1, 16), "timeout": (1, 604800)}[name]


def run_main(capsys, *args: str) -> tuple[int, str, str]:
    """The command line in this process: (exit code, stdout, stderr); quick, for input refused before any work."""
    import torch

    from lstm_core.cli import main

    threads = torch.get_num_threads()  # a one-worker tune runs in this process with one thread
    try:
        code = main(list(args))
    except SystemExit as exc:  # argparse's own refusals
        code = exc.code
    finally:
        torch.set_num_threads(threads)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("flag,value,needle", [
    ("--workers", "100", "'workers' is 100; it must be between 1 and 16"),
    ("--workers", "0", "between 1 and 16"),
    ("--trials", "1e9", "'trials' is 1000000000; it must be between 1 and 1000"),
    ("--trials", "2.5", "argument --trials: '2.5' is not a whole number"),
    ("--workers", "nan", "argument --workers: 'nan' is not a whole number"),
    ("--trials", "1000000000", "'trials' is 1000000000; it must be between 1 and 1000"),
    ("--timeout", "nan", "'timeout' is nan; it must be between 1 and 604800"),
    ("--timeout", "inf", "'timeout' is inf"),
    ("--timeout", "-3", "'timeout' is -3.0"),
    ("--search", "cell=", "Pick at least one choice of cell"),
    ("--storage", "postgresql+psycopg://bob:S3cret@[::1", "is not a storage"),
    ("--storage", "postgresql+psycopg://bob@127.0.0.1:1/lab?sslpassword=S3cret", "Cannot reach"),
])
def test_the_cli_refuses_bad_tune_input_in_one_line(capsys, flag, value, needle, tmp_path, monkeypatch):
    monkeypatch.setenv("LSTM_LAB_DATA", str(tmp_path))
    code, out, err = run_main(capsys, "tune", "--data", "synthetic:sine", "--study", "s", flag, value)
    assert (code, out) == (2, "")
    assert err.strip().count("\n") == 0 and needle in err and "S3cret" not in err, err
    assert not list(tmp_path.rglob("*.journal"))  # refused before any storage was touched


def test_a_database_lost_mid_study_is_one_sentence_without_secrets(tmp_path, monkeypatch):
    from sqlalchemy.exc import OperationalError

    spec = tune.TuneSpec(study="lost", data="synthetic:sine", base=TINY, dims=(tune.table_dim("hidden"),),
                         storage=f"sqlite:///{tmp_path}/lost.db")

    def gone(*args, **kwargs):
        raise OperationalError("SELECT 1", {}, Exception("server closed; dsn=host=db password=S3cret"))

    monkeypatch.setattr(optuna.Study, "get_trials", gone)
    with pytest.raises(LabError) as caught:
        tune.run_trials(spec, tiny_frame())
    assert caught.value.key == "err_tune_storage_unreachable"
    assert "S3cret" not in str(caught.value) and "server closed" in str(caught.value)


# ---------------------------------------------------------------- one journal per study, and a damaged one


def test_each_study_has_a_journal_of_its_own(tmp_path, monkeypatch):
    monkeypatch.setenv("LSTM_LAB_DATA", str(tmp_path))
    paths = {name: tune.default_journal(name) for name in ("msft", "a b", "a-b", "../../etc/passwd", "研究")}
    assert len(set(paths.values())) == len(paths)  # names that slug alike still get files of their own
    for path in paths.values():
        assert path.parent == tmp_path / "tune" and path.suffix == ".journal"
    assert paths["msft"].name.startswith("msft-") and paths["../../etc/passwd"].name.startswith("etc-passwd-")
    assert tune.journal_path(None, "msft") == paths["msft"]
    assert tune.journal_path(str(tmp_path / "mine.journal"), "msft") == tmp_path / "mine.journal"  # a path names a file
    assert tune.journal_path("postgresql+psycopg://u@db/lab", "msft") is None


def _tiny_study(name: str, storage: str | None = None, budget: int = 2) -> tune.TuneSpec:
    spec = tune.TuneSpec(study=name, data="synthetic:sine", base=TINY.with_(epochs=2), budget=budget, pruner="none",
                         dims=tuple(tune.parse_search("hidden=4:8")), storage=storage)
    tune.run_trials(spec, tiny_frame())
    return spec


def _torn_last_line(data: bytes) -> bytes:
    return data[:-10]  # a write cut off: the last line lost its end and its newline


def _cut_mid_way(data: bytes) -> bytes:
    return data[: len(data) // 2]


def _chunk_lost_mid_file(data: bytes) -> bytes:
    return data[: len(data) // 3] + data[len(data) // 2:]  # the line at the seam is no longer JSON


def _random_bytes(data: bytes) -> bytes:
    import random

    return random.Random(0).randbytes(len(data))


@pytest.mark.parametrize("damage", [_torn_last_line, _cut_mid_way, _chunk_lost_mid_file, _random_bytes])
def test_a_damaged_journal_is_one_sentence_and_other_studies_keep_working(damage, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LSTM_LAB_DATA", str(tmp_path))
    _tiny_study("hurt")
    _tiny_study("whole")
    path = tune.default_journal("hurt")
    path.write_bytes(damage(path.read_bytes()))
    if damage in (_chunk_lost_mid_file, _random_bytes):  # a tear mid-file: even reading it is refused
        with pytest.raises(LabError) as caught:
            tune.load_study(None, "hurt")
        assert caught.value.key == "err_tune_journal_damaged" and caught.value.params["study"] == "hurt"
    # a torn last line reads as the lines before it (a reader cannot tell it from a write in progress); writing to
    # it would bury the tear mid-file, so continuing the study is refused, on the command line in one line
    code, out, err = run_main(capsys, "tune", "--data", "synthetic:sine", "--study", "hurt", "--trials", "3",
                              "--search", "hidden=4:8", "--epochs", "2", *TINY_FLAGS)
    assert (code, out) == (2, "") and err.strip().count("\n") == 0, err
    assert "study “hurt” is damaged" in err and f"Delete or rename {path} " in err
    # the other study's file is another file: it reads, and continues
    assert tune.summary(tune.load_study(None, "whole"))["n_complete"] == 2
    _tiny_study("whole", budget=3)
    assert tune.summary(tune.load_study(None, "whole"))["n_complete"] == 3


def test_a_refused_append_leaves_the_damaged_journal_as_it_was(tmp_path, monkeypatch):
    monkeypatch.setenv("LSTM_LAB_DATA", str(tmp_path))
    spec = _tiny_study("hurt")
    path = tune.default_journal("hurt")
    torn = _torn_last_line(path.read_bytes())
    path.write_bytes(torn)
    with pytest.raises(LabError) as caught:
        tune.run_trials(replace(spec, budget=4), tiny_frame())
    assert caught.value.key == "err_tune_journal_damaged"
    assert path.read_bytes() == torn  # nothing was appended to the torn line



def test_a_lock_left_by_a_killed_worker_is_broken_after_its_grace_not_optunas_30_s(tmp_path, monkeypatch):
    """A worker SIGKILLed mid-append leaves the journal's lock behind; the study's other workers take it over."""
    from lstm_core.tune import storage as tune_storage

    monkeypatch.setenv("LSTM_LAB_DATA", str(tmp_path))
    monkeypatch.setattr(tune_storage, "LOCK_GRACE_S", 3)
    spec = _tiny_study("held")
    path = tune.default_journal("held")
    os.symlink(path, f"{path}.lock")  # what a holder killed between acquire and release leaves (Optuna's symlink lock)
    began = time.monotonic()
    tune.run_trials(replace(spec, budget=3), tiny_frame())
    waited = time.monotonic() - began
    assert tune.summary(tune.load_study(None, "held"))["n_complete"] == 3
    assert 3 <= waited < 20, waited  # broken after the grace (then one trial), long before Optuna's 30 s
    assert not Path(f"{path}.lock").exists()


# ---------------------------------------------------------------- a study knows what it is


def test_a_study_records_what_it_is_and_refuses_to_become_another(tmp_path, monkeypatch, capsys, data_csv):
    monkeypatch.setenv("LSTM_LAB_DATA", str(tmp_path))
    # a log-volatility study (the default target) with the default search
    flags = ["--study", "vol", "--trials", "2", "--epochs", "2", "--window", "10", "--horizon", "5", "--batch", "32",
             "--seed", "1"]
    code, out, err = run_main(capsys, "tune", "--data", data_csv, *flags)
    assert code == 0, err
    recorded = tune.load_study(None, "vol").user_attrs
    assert recorded["fixed"]["target"] == "logvol" and recorded["fixed"]["epochs"] == 2
    assert recorded["fixed"]["features"] == ["logabsret"] and recorded["fixed"]["window"] == 10
    assert not {"hidden", "layers", "lr"} & set(recorded["fixed"])  # searched, so not fixed
    assert recorded["search"] == tune.search_text(tune.default_search()) == "hidden=8:128,layers=1:3,lr=0.0001:0.01"
    assert recorded["data_fingerprint"] == load_source(data_csv).fingerprint
    assert {k: last_json(out)[k] for k in recorded} == recorded  # the CLI's JSON says it too

    other_csv = tmp_path / "other.csv"
    tiny_frame(n_days=400, seed=1).to_csv(other_csv, date_format="%Y-%m-%d", index_label="Date")
    refusals = [
        (["--data", data_csv, "--target", "price", "--features", "close"], "started with target = logvol; this run has price"),
        (["--data", data_csv, "--features", "logabsret,logret"], "features = logabsret; this run has logabsret,logret"),
        (["--data", data_csv, "--epochs", "3"], "epochs = 2; this run has 3"),
        (["--data", str(other_csv)], "started on other data"),
        (["--data", data_csv, "--search", "hidden=8:64,layers=1:3,lr=0.0001:0.01"],
         "searches hidden=8:128,layers=1:3,lr=0.0001:0.01; this run would search hidden=8:64,"),
        (["--data", data_csv, "--search", "hidden=8:128,layers=1:3,lr=0.0001:0.01,cell"],  # a wider search too
         f"would search {tune.search_text([tune.table_dim('cell'), *tune.default_search()])}."),
    ]
    for extra, needle in refusals:
        code, out, err = run_main(capsys, "tune", *flags, *extra)
        assert (code, out) == (2, "") and err.strip().count("\n") == 0, err
        assert "Study “vol”" in err and needle in err, err
    assert len(tune.load_study(None, "vol").trials) == 2  # no refused run added a trial
    # the same search written in another order is the same study
    code, out, err = run_main(capsys, "tune", *flags, "--data", data_csv, "--trials", "3",
                              "--search", "lr=0.0001:0.01,hidden=8:128,layers=1:3")
    assert code == 0 and last_json(out)["n_trials"] == 3, err


# ---------------------------------------------------------------- in one process


def test_trials_use_validation_loss_and_the_best_retrains_the_same(tmp_path):
    spec = tune.TuneSpec(study="one", data="synthetic:sine", base=TINY, budget=4, pruner="none",
                         dims=tuple(tune.parse_search("hidden=4:16,lr=1e-3:1e-2")), storage=str(tmp_path / "j"))
    assert spec.pruner is tune.PrunerKind.NONE  # the string became its member
    frame = tiny_frame()
    events: list[tune.TrialEvent] = []
    assert tune.run_trials(spec, frame, on_trial=events.append) == 4
    assert [(e.number, e.state) for e in events] == [(k, TrialState.COMPLETE) for k in range(4)]
    study = tune.load_study(spec.storage, "one")
    result = tune.summary(study)
    assert (result["n_trials"], result["n_complete"], result["n_pruned"]) == (4, 4, 0)
    for trial in study.trials:
        # the validation period's best (the untrained model's, if no epoch beat it), never the test's
        assert trial.value == min(trial.user_attrs["epoch0_val_loss"], *trial.user_attrs["val_losses"])
        assert sorted(trial.intermediate_values) == [1, 2, 3]
    run = train_run(frame, "sine", tune.best_config(study))
    assert run.record.best_val_loss == pytest.approx(result["best_value"], rel=1e-6)
    assert run.config.hidden == result["best_params"]["hidden"]


def test_a_basket_is_tuned_on_its_pooled_validation_and_its_study_names_the_whole_basket(tmp_path, monkeypatch, capsys):
    """Each trial trains one network on the basket's series pooled and scores their validation windows together;
    the study records the basket's content, so a study on two of the series is another study."""
    from lstm_core.basket.data import load_basket_spec
    from lstm_core.basket.run import train_basket

    monkeypatch.setenv("LSTM_LAB_DATA", str(tmp_path))
    flags = ["--study", "pool", "--trials", "2", "--epochs", "2", "--window", "10", "--horizon", "5", "--batch", "256",
             "--seed", "1", "--search", "hidden=4:8"]
    basket = load_basket_spec("sample:SP500,sample:NASDAQ")
    code, out, err = run_main(capsys, "tune", "--data", "sample:SP500,sample:NASDAQ", *flags)
    assert code == 0, err
    study = tune.load_study(None, "pool")
    assert study.user_attrs["data_fingerprint"] == basket.fingerprint != load_source("sample:SP500").fingerprint
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 2
    # the basket's own inputs where the command line names none (Basket.settings)
    assert tune.summary(study)["fixed"]["features"] == ["logabsret", "logrange", "logvol5", "logvol22", "market"]
    best = study.best_trial
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the trial trained
    try:
        again = train_basket(basket, tune.best_config(study))  # the same pooled training, outside the study
    finally:
        torch.set_num_threads(threads)
    assert again.best_val_loss == pytest.approx(best.value, rel=1e-5)
    code, out, err = run_main(capsys, "tune", "--data", "sample:SP500,sample:NVDA", *flags)
    assert (code, out) == (2, "") and "started on other data" in err


# ---------------------------------------------------------------- the command line


@pytest.fixture(scope="module")
def refused(tmp_path_factory) -> dict:
    """The command line's refusals below, run one after another in one process, with a data folder of their own."""
    folder = tmp_path_factory.mktemp("refused")
    env = {**os.environ, "LSTM_LAB_DATA": str(folder / "data")}
    cases = {
        "sqlite": ["--storage", f"sqlite:///{folder}/t.db", "--workers", "2"],
        "unreachable": ["--storage", "postgresql+psycopg://lab:hunter2@127.0.0.1:1/lab"],
        "fixed": ["--search", "hidden", "--hidden", "8"],
        "ray": ["--ray", "127.0.0.1:1", "--workers", "2"],
    }
    runs = cli_refusals([["tune", "--data", "synthetic:sine", "--study", "s", *extra] for extra in cases.values()],
                        env=env)
    return {**dict(zip(cases, runs, strict=True)), "data": Path(env["LSTM_LAB_DATA"])}


def test_sqlite_refuses_several_workers(refused):
    result = refused["sqlite"]
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip().count("\n") == 0 and "one writer" in result.stderr


def test_unreachable_storage_is_one_line_without_the_password(refused):
    result = refused["unreachable"]
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().count("\n") == 0 and "Cannot reach" in result.stderr
    assert "hunter2" not in result.stderr and "lab:***@127.0.0.1:1" in result.stderr


BAD_TUNE_INPUT = [
    (["--storage", "nosuchdb://x/y"], "not a storage"),
    (["--pruner", "sometimes"], "'pruner'"),
    (["--trials", "0"], "'trials'"),
    (["--search", "epochs"], "cannot vary"),
    (["--search", "cell="], "at least one choice of cell"),
    (["--search", ""], "at least one setting"),
    (["--study", " "], "name of 1 to 200"),
]


def _tune_args(args: list[str]) -> list[str]:
    given = {"--study": "s", **dict(zip(args[::2], args[1::2], strict=True))}
    return ["tune", "--data", "synthetic:sine", *(part for pair in given.items() for part in pair)]


@pytest.fixture(scope="module")
def tune_refused(tmp_path_factory) -> dict:
    """Every BAD_TUNE_INPUT case, run in one process."""
    env = {**os.environ, "LSTM_LAB_DATA": str(tmp_path_factory.mktemp("data")), "LSTM_LAB_TUNE_HEARTBEAT_S": "1"}
    results = cli_refusals([_tune_args(args) for args, _ in BAD_TUNE_INPUT], env=env)
    return {tuple(args): r for (args, _), r in zip(BAD_TUNE_INPUT, results, strict=True)}


@pytest.mark.parametrize("args,needle", BAD_TUNE_INPUT)
def test_bad_tune_input_is_one_line(args, needle, tune_refused):
    result = tune_refused[tuple(args)]
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip().count("\n") == 0 and needle in result.stderr, result.stderr


def test_every_state_and_pruner_has_a_sentence():
    from optuna.trial import TrialState as State

    from lstm_core.i18n import TABLE
    from ui.tune import pruner_key, state_key

    for lang in ("en", "zh"):
        assert all(state_key(s) in TABLE[lang] for s in State)
        assert all(pruner_key(p) in TABLE[lang] for p in tune.PrunerKind)


def test_pruners_and_trial_states_are_never_compared_with_strings():
    import re

    pruners = "|".join(re.escape(p.value) for p in tune.PrunerKind)
    states = "|".join(s.name.lower() for s in TrialState)
    literal = re.compile(rf"""(==|!=|\bin\b)\s*[(\[{{]?\s*["'](?:{pruners}|{states})["']""", re.IGNORECASE)
    found = [f"{path.relative_to(ROOT)}:{n}" for folder in ("lstm_core", "ui", "pages") for path in (ROOT / folder).rglob("*.py")
             for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if literal.search(line)]
    assert not found, found
    assert literal.search('if kind == "median":') and literal.search("state in ('complete', 'pruned')")  # guards the regex


def test_a_fixed_setting_cannot_be_searched(refused):
    result = refused["fixed"]
    assert result.returncode == 2 and "both fixed and searched" in result.stderr


def test_two_processes_share_the_budget_exactly(storage, env, data_csv):
    study = f"share-{uuid.uuid4().hex[:8]}"
    args = ["tune", "--data", data_csv, "--study", study, "--storage", storage, "--trials", "8",
            "--search", "hidden=4:16,lr=1e-3:1e-2", "--epochs", "5", *TINY_FLAGS]
    procs = [start_cli(*args, env=env) for _ in range(2)]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err for _, err in outputs]
    summaries = [last_json(out) for out, _ in outputs]
    loaded = tune.load_study(storage, study)
    trials = loaded.trials
    numbers = [t.number for t in trials]
    assert numbers == list(range(len(trials)))  # no trial number twice
    finished = [t for t in trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    assert len(finished) == 8
    # a trial started a moment after the last one was taken is failed as over budget, never run: at most one each
    assert all(t.user_attrs.get("over_budget") for t in trials if t.state == TrialState.FAIL)
    last = max(summaries, key=lambda s: s["n_complete"] + s["n_pruned"])
    assert last["n_complete"] + last["n_pruned"] == 8
    # both processes ran trials
    assert len({t.user_attrs["worker"] for t in finished}) == 2
    # the best trial re-trains, as a normal run, to the same validation loss
    best = tune.summary(loaded)
    run = train_run(load_source(data_csv).frame, "sine", RunConfig.from_dict(best["best_config"]))
    assert run.record.best_val_loss == pytest.approx(best["best_value"], rel=1e-5)


def test_rerunning_continues_the_study(tmp_path, env, data_csv):
    def args(trials: int) -> list[str]:
        return ["tune", "--data", data_csv, "--study", "again", "--storage", str(tmp_path / "j"),
                "--trials", str(trials), "--search", "hidden=4:8", "--epochs", "2", *TINY_FLAGS]

    # three runs of the command, one after another, in one process (one import of torch)
    first, met, more = cli_refusals([args(2), args(2), args(3)], env=env)
    assert first.returncode == 0, first.stderr
    assert last_json(first.stdout)["n_trials"] == 2
    assert last_json(met.stdout)["n_trials"] == 2 and "2 trials so far" in met.stderr  # the budget is met: none ran
    assert last_json(more.stdout)["n_trials"] == 3


def _worker_of(storage: str, study: str, deadline_s: float = 60) -> tuple[int, int]:
    """(trial number, pid) of the first trial seen running with its worker recorded."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        try:
            trials = tune.load_study(storage, study).get_trials(states=(TrialState.RUNNING,))
        except LabError:  # not created yet
            trials = []
        for trial in trials:
            if "worker" in trial.user_attrs and len(trial.intermediate_values) >= 1:
                return trial.number, int(trial.user_attrs["worker"].rsplit(":", 1)[1])
        time.sleep(0.1)
    raise AssertionError("no trial was seen running")


def test_a_killed_worker_fails_its_trial_and_the_other_finishes(storage, env, data_csv):
    study = f"kill-{uuid.uuid4().hex[:8]}"
    # long trials (many epochs, no pruning, no early stop), so one is surely running when we kill its worker
    args = ["tune", "--data", data_csv, "--study", study, "--storage", storage, "--trials", "3",
            "--search", "hidden=4:8", "--pruner", "none", "--epochs", "15", "--patience", "1000", *TINY_FLAGS]
    procs = [start_cli(*args, env=env) for _ in range(2)]
    number, pid = _worker_of(storage, study)
    os.kill(pid, signal.SIGKILL)
    outputs = [p.communicate(timeout=120) for p in procs]
    assert sorted(p.returncode for p in procs) == [-signal.SIGKILL, 0], [err for _, err in outputs]
    trials = tune.load_study(storage, study).trials
    assert trials[number].state == TrialState.FAIL
    assert sum(t.state == TrialState.COMPLETE for t in trials) == 3
    assert [t.number for t in trials] == list(range(len(trials)))


# ---------------------------------------------------------------- workers on a Ray cluster (.ci/run starts one)


def test_workers_on_a_ray_cluster_share_the_budget_carry_their_data_and_outlive_a_killed_one(env, data_csv):
    """On the storage a cluster's nodes share (a database), two workers as Ray tasks: the data travels from here, the
    budget is shared, and a worker killed mid-trial fails that trial with a sentence while the other finishes."""
    address, storage = need_ray(), need_pg()
    study = f"ray-{uuid.uuid4().hex[:8]}"
    proc = start_cli("tune", "--ray", address, "--workers", "2", "--data", data_csv, "--study", study, "--storage",
                     storage, "--trials", "6", "--search", "hidden=4:16,lr=1e-3:1e-2", "--epochs", "100", "--patience",
                     "1000", "--pruner", "none", *TINY_FLAGS, env=env)  # trials of about a second: both workers take
    # some however late Ray places the second on a loaded machine
    first = proc.stderr.readline()  # the study is open and the data loaded here: the workers need no copy of it
    assert first.startswith(f"study {study}"), first
    Path(data_csv).unlink()
    number, pid = _worker_of(storage, study)
    os.kill(pid, signal.SIGKILL)  # a Ray worker process on a node (this host, in the test cluster)
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, err  # one worker lost is a sentence, not the end of the study
    assert "a worker ended: The cluster lost the worker" in err
    trials = tune.load_study(storage, study).trials
    assert [t.number for t in trials] == list(range(len(trials)))
    assert trials[number].state == TrialState.FAIL
    finished = [t for t in trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    assert len(finished) == 6 and last_json(out)["n_complete"] + last_json(out)["n_pruned"] == 6
    workers = {t.user_attrs["worker"] for t in trials if "worker" in t.user_attrs}  # host:pid of each trial's worker
    assert len(workers) >= 2 and str(proc.pid) not in {w.rsplit(":", 1)[1] for w in workers}
    best = tune.summary(tune.load_study(storage, study))
    run = train_run(tiny_frame(n_days=400), "sine", RunConfig.from_dict(best["best_config"]))
    assert run.record.best_val_loss == pytest.approx(best["best_value"], rel=1e-5)


def test_a_ray_cluster_that_cannot_be_reached_is_one_line(refused):
    result = refused["ray"]
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip().count("\n") == 0 and "cluster at 127.0.0.1:1 cannot be reached" in result.stderr
    assert not (refused["data"] / "tune").exists()  # nothing was made before any refusal: the cluster's, the others


def test_the_library_entry_point_runs_a_search_on_its_own(tmp_path, data_csv):
    """bench/tune.py calls run_workers without the command line: it once failed on a study nobody had made."""
    storage = str(tmp_path / "lib.journal")
    spec = tune.TuneSpec(study="lib", data=data_csv, base=TINY.with_(epochs=2), dims=(tune.table_dim("hidden"),),
                         budget=2, storage=storage, pruner="none", workers=1)
    jobs = tune.run_workers(spec)
    assert [job.error for job in jobs] == [None]
    assert sum(t.state == TrialState.COMPLETE for t in tune.load_study(storage, "lib").trials) == 2


def test_a_study_whose_trials_read_the_range_at_its_own_level_is_not_continued(tmp_path):
    """A study recorded before the daily range was read against each window's volatility (no ``inputs_version``):
    with the range among its fixed inputs it is refused in one sentence; without it, it continues and is marked."""
    journal = str(tmp_path / "old.journal")
    base = RunConfig.for_target(target="logvol").with_(features=("logabsret", "logrange"))
    dims = tuple(tune.parse_search("hidden=4:8"))
    for name, features, refused in (("old-range", ["logabsret", "logrange"], True), ("old-plain", ["logabsret"], False)):
        spec = tune.TuneSpec(study=name, data="sample:MSFT", base=base.with_(features=tuple(features)), dims=dims,
                             storage=journal)
        identity = json.loads(json.dumps(tune.study.study_identity(spec, "f" * 32)))
        del identity["inputs_version"]  # as a study made before it was recorded
        old = optuna.create_study(study_name=name, storage=tune.open_storage(journal, name, 1))
        for key, value in identity.items():
            old.set_user_attr(key, value)
        if refused:
            with pytest.raises(LabError) as err:
                tune.open_study(spec, "f" * 32)
            assert err.value.key == "err_tune_old_range" and "old-range" in str(err.value)
        else:
            assert tune.open_study(spec, "f" * 32).user_attrs["inputs_version"] == 2
