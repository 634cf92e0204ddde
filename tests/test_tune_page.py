"""The Tune page under AppTest: a small study runs in worker processes, its charts and table fill from the storage,
and the best config trains as a normal run."""

import json

from lstm_core import tune
from tests.helpers import TINY, wait_for
from ui.tune import STORAGE_ENV


def wait_finished(jobs, timeout_s: float = 90) -> None:
    wait_for(lambda: all(job.finished for job in jobs), timeout=timeout_s)


def start_small_study(at) -> None:
    """Start a study of 4 trials of 2 epochs with 2 workers on the Tune page, on the Train page's last settings."""
    at.session_state["train_config"] = TINY  # the fixed settings: the Train page's last run
    at.number_input(key="tune_budget").set_value(4)
    at.number_input(key="tune_epochs").set_value(2)
    at.number_input(key="tune_n_workers").set_value(2)
    at.button(key="tune_start").click().run()
    assert not at.exception, at.exception


def test_a_study_runs_draws_and_trains_the_best(open_app, tmp_path, monkeypatch):
    storage = str(tmp_path / "studies.journal")
    monkeypatch.setenv(STORAGE_ENV, storage)
    at = open_app("pages/tune.py")
    assert not at.exception
    start_small_study(at)
    spec, jobs = at.session_state["tune_spec"], at.session_state["tune_jobs"]
    assert len(jobs) == 2 and spec.budget == 4 and spec.base.epochs == 2 and spec.storage == storage
    assert [d.name for d in spec.dims] == ["hidden", "layers", "lr"]
    wait_finished(jobs)
    at.run()
    assert not at.exception
    assert all(job.error is None for job in jobs), [job.error for job in jobs]
    charts = {c.proto.id.rsplit("-", 1)[1]: json.loads(c.proto.spec) for c in at.get("plotly_chart")}
    study = tune.load_study(storage, spec.study)
    summary = tune.summary(study)
    assert summary["n_complete"] + summary["n_pruned"] == 4
    # importances wait for 10 complete trials, and say so; every chart's title is written above it
    assert set(charts) == {"tune_history", "tune_intermediate", "tune_parallel"}
    assert [c.value for c in at.caption if f"once 10 trials have completed ({summary['n_complete']} so far)" in c.value]
    titles = [m.value for m in at.markdown]
    assert {"**Validation loss of each trial, and the best so far**", "**Validation loss by epoch, per trial**",
            "**Settings of each trial, coloured by validation loss**"} <= set(titles)
    assert not [s for s in charts.values() if s["layout"].get("title", {}).get("text")]
    # the study says what it is: the target, the fixed settings (epochs from the form) and the search
    assert [m for m in titles if m.startswith("**Target:** Log return.")], titles
    fixed = next(c.value for c in at.caption if c.value.startswith("Fixed in every trial of this study"))
    assert "Max epochs 2 ·" in fixed and "Window (days) 10 ·" in fixed and "Hidden units" not in fixed, fixed
    assert [c.value for c in at.caption if c.value.startswith("Searched:") and "Layers 1–3" in c.value]
    history = charts["tune_history"]
    # the study recorded what it is: the Train page's settings less the searched ones, and the session's data
    assert summary["fixed"] == {k: v for k, v in TINY.with_(epochs=2).to_dict().items()
                                if k not in ("hidden", "layers", "lr")}
    assert summary["search"] == tune.search_text(spec.dims)
    assert summary["data_fingerprint"] == at.session_state["dataset"].fingerprint
    assert min(history["data"][0]["y"]) == summary["best_value"] or summary["n_complete"] == 0
    table = at.dataframe[0].value
    assert len(table) == 4 and set(table["State"]) <= {"complete", "pruned"}
    at.button(key="tune_train_best").click().run()
    assert not at.exception
    job = at.session_state["job"]
    assert job.config == tune.best_config(study)
    job.stop()


def test_a_finished_study_in_chinese_shows_no_english(open_app, tmp_path, monkeypatch):
    from tests.helpers import tiny_frame
    from tests.test_chinese import ENGLISH, RAW, visible_strings

    storage = str(tmp_path / "studies.journal")
    monkeypatch.setenv(STORAGE_ENV, storage)
    spec = tune.TuneSpec(study="zh", data="synthetic:sine", base=TINY, budget=4, storage=storage,
                         dims=tuple(tune.parse_search("hidden=4:16,lr=1e-3:1e-2,cell,optimizer")))
    tune.run_trials(spec, tiny_frame())
    at = open_app("pages/tune.py", "zh")
    at.session_state["tune_spec"] = spec
    at.session_state["tune_jobs"] = []
    at.run()
    assert not at.exception
    assert len(at.get("plotly_chart")) == 3 and len(at.dataframe[0].value) == 4  # importances wait for 10
    shown = visible_strings(at)
    leaks = sorted({s for s in shown if s in ENGLISH or s in RAW})
    assert not leaks, leaks
    assert not [s for s in shown if s.startswith(("Trial", "Objective", "Hyperparameter", "Intermediate"))]


def test_the_form_reads_its_bounds_and_first_ranges_from_the_tables(open_app, tmp_path, monkeypatch):
    from lstm_core.config import SETTINGS
    from lstm_core.jobs.manager import default_manager

    monkeypatch.setenv(STORAGE_ENV, str(tmp_path / "studies.journal"))
    at = open_app("pages/tune.py")
    assert not at.exception
    assert at.multiselect(key="tune_search").value == ["hidden", "layers", "lr"]
    for name in ("hidden", "layers", "lr"):
        first = tune.first_dim(name)
        assert (at.number_input(key=f"tune_low_{name}").value, at.number_input(key=f"tune_high_{name}").value) == \
            (first.low, first.high) == SETTINGS[name].search_range
    epochs, trials, workers = (at.number_input(key=k) for k in ("tune_epochs", "tune_budget", "tune_n_workers"))
    assert (epochs.min, epochs.max) == (SETTINGS["epochs"].low, SETTINGS["epochs"].high) == (1, 1000)
    assert (trials.min, trials.max, trials.value) == (1, 1000, 20)
    assert (workers.min, workers.max) == (1, min(16, default_manager().max_running))
    # a choice setting searched with none of its choices left: a sentence, and Start stays off
    at.multiselect(key="tune_search").set_value(["hidden", "cell"]).run()
    at.multiselect(key="tune_choices_cell").set_value([]).run()
    assert not at.exception
    assert [e.value for e in at.error if "at least one choice" in e.value]
    assert at.button(key="tune_start").disabled


def _all_text(at) -> str:
    from tests.test_chinese import visible_strings

    return "\n".join(visible_strings(at))


def test_the_page_shows_no_server_path_and_no_secret(open_app, tmp_path, monkeypatch):
    from tests.helpers import tiny_frame
    from tests.test_tune import _chunk_lost_mid_file

    monkeypatch.setenv("LSTM_LAB_DATA", str(tmp_path))
    monkeypatch.delenv(STORAGE_ENV, raising=False)
    spec = tune.TuneSpec(study="hurt", data="synthetic:sine", base=TINY.with_(epochs=2), budget=2, pruner="none",
                         dims=tuple(tune.parse_search("hidden=4:8")))
    tune.run_trials(spec, tiny_frame())
    path = tune.default_journal("hurt")
    path.write_bytes(_chunk_lost_mid_file(path.read_bytes()))
    at = open_app("pages/tune.py")
    at.session_state["tune_spec"] = spec
    at.session_state["tune_jobs"] = []
    at.run()
    assert not at.exception
    assert [e.value for e in at.error if "study “hurt” on this server is damaged" in e.value]
    assert [c.value for c in at.caption if "journal file of its own on this server" in c.value]
    assert str(tmp_path) not in _all_text(at) and ".journal" not in _all_text(at)
    # a database's URL is shown, with every secret masked
    monkeypatch.setenv(STORAGE_ENV, "postgresql+psycopg://lab:S3cret@db.example/lab?sslpassword=S3cret")
    at = open_app("pages/tune.py")
    assert not at.exception
    shown = [c.value.replace("\\", "") for c in at.caption]  # plain() escapes Markdown with backslashes
    assert [c for c in shown if "postgresql+psycopg://lab:***@db.example/lab?sslpassword=***" in c], shown
    assert "S3cret" not in _all_text(at)


def test_a_search_too_big_for_one_job_is_refused_before_it_starts(open_app, tmp_path, monkeypatch):
    monkeypatch.setenv(STORAGE_ENV, str(tmp_path / "studies.journal"))
    at = open_app("pages/tune.py")
    at.number_input(key="tune_high_hidden").set_value(512)
    at.number_input(key="tune_high_layers").set_value(4)
    at.button(key="tune_start").click().run()
    assert not at.exception
    assert "tune_jobs" not in at.session_state
    assert [e.value for e in at.error if "MB of memory" in e.value]


def test_largest_config_is_the_costliest_corner():
    dims = tune.parse_search("hidden=8:256,layers=1:3,batch=16:512,lr,cell")
    corner = tune.largest_config(TINY, dims)
    assert (corner.hidden, corner.layers, corner.batch, corner.cell, corner.lr) == (256, 3, 512, "lstm", TINY.lr)
    assert tune.largest_config(TINY, tune.parse_search("hidden=8:16")).layers == 1


TUNE_PAGE_ON_RAY = """
import json, os, sys, time
from pathlib import Path
from streamlit.testing.v1 import AppTest
from lstm_core import tune
from tests.test_tune_page import start_small_study
at = AppTest.from_file("app.py", default_timeout=120).run()
at.switch_page("pages/tune.py").run()
start_small_study(at)
spec, jobs = at.session_state["tune_spec"], at.session_state["tune_jobs"]
end = time.monotonic() + 120
while not all(job.finished for job in jobs) and time.monotonic() < end:
    time.sleep(0.2)
at.run()
def title(pid):
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\\0")[0].decode()
    except OSError:
        return ""
from lstm_core.jobs.manager import default_manager
print(json.dumps({"kind": default_manager().backend.kind, "errors": [job.error for job in jobs],
                  "ray_workers": sorted({title(job.pid).startswith("ray::") for job in jobs}),
                  "trials": {k: v for k, v in tune.summary(tune.load_study(spec.storage, spec.study)).items()
                             if k.startswith("n_") and v},
                  "exceptions": len(at.exception)}))
"""


def test_on_a_ray_cluster_the_tune_pages_workers_run_there(tmp_path):
    """The app on Ray (LSTM_LAB_RAY_ADDRESS): the Tune page's workers are tasks on the cluster, the study in its
    storage as ever. In a process of its own: the server's job manager is made once per process."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from lstm_core.jobs.backends import RAY_ADDRESS_ENV
    from tests.helpers import need_ray

    env = {**os.environ, RAY_ADDRESS_ENV: need_ray(), STORAGE_ENV: str(tmp_path / "studies.journal"),
           "LSTM_LAB_DATA": str(tmp_path / "data")}
    done = subprocess.run([sys.executable, "-c", TUNE_PAGE_ON_RAY], cwd=Path(__file__).resolve().parent.parent,
                          env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    trials = seen.pop("trials")
    assert seen == {"kind": "ray", "errors": [None, None], "ray_workers": [True], "exceptions": 0}
    assert trials.get("n_complete", 0) + trials.get("n_pruned", 0) == 4, trials  # the budget, met exactly


def test_a_study_on_a_basket_searches_the_pooled_series_and_trains_its_best_as_a_basket_run(open_app, tmp_path,
                                                                                             monkeypatch):
    from lstm_core.basket.data import load_basket
    from lstm_core.config import RunConfig

    storage = str(tmp_path / "studies.journal")
    monkeypatch.setenv(STORAGE_ENV, storage)
    at = open_app("pages/tune.py")
    at.radio(key="tune_on").set_value("basket").run()
    assert not at.exception and not at.error
    # the Many series page's picker, the same choice: a single series is no basket, and nothing starts
    at.multiselect(key="basket_series").set_value(["sample:SP500"]).run()
    assert [e.value for e in at.error if "2 to" in e.value], [e.value for e in at.error]
    assert at.button(key="tune_start").disabled
    at.multiselect(key="basket_series").set_value(["sample:SP500", "sample:NASDAQ"]).run()
    assert not at.error
    assert [c.value for c in at.caption if c.value.startswith("Each trial trains one network on the basket's series")]
    at.multiselect(key="tune_search").set_value(["lr"])
    at.number_input(key="tune_budget").set_value(2)
    at.number_input(key="tune_epochs").set_value(1)
    at.number_input(key="tune_n_workers").set_value(1)
    at.button(key="tune_start").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    spec, jobs = at.session_state["tune_spec"], at.session_state["tune_jobs"]
    basket = load_basket(["sample:SP500", "sample:NASDAQ"])
    assert spec.data == "SP500 (sample),NASDAQ (sample)" and at.session_state["tune_basket"].names == basket.names
    # the basket's own settings (volatility, every input that carries across series, a small network), epochs from the
    # form
    assert spec.base == RunConfig.for_target(**basket.settings()).with_(epochs=1)
    assert spec.base.hidden == 8 and "market" in spec.base.features
    fixed = next(c.value for c in at.caption if c.value.startswith("Fixed in every trial of this study"))
    assert "Max epochs 1 ·" in fixed and "Size of daily move" in fixed, fixed
    wait_finished(jobs, 120)
    at.run()
    assert all(job.error is None for job in jobs), [job.error for job in jobs]
    study = tune.load_study(storage, spec.study)
    summary = tune.summary(study)
    assert summary["n_complete"] == 2 and summary["data_fingerprint"] == basket.fingerprint
    # a trial's value is the pooled validation loss: training the best settings on the basket gives it again
    from lstm_core.basket.run import PooledData, prepare_basket
    from lstm_core.trainer import Trainer

    best = tune.best_config(study)
    refit = Trainer(best, PooledData(prepare_basket(basket, best)[1])).fit()
    assert abs(refit.best_val_loss - summary["best_value"]) < 1e-4
    at.button(key="tune_train_best").click().run()
    assert not at.exception
    job = at.session_state["job"]
    assert job.job.basket.names == basket.names and job.job.config == best
    job.stop()
