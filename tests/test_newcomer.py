"""A newcomer's second hour (issue 29): every page shows the run just trained, and labels read right."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lstm_core.config import Cell
from lstm_core.i18n import t
from lstm_core.runs.run import train_run
from tests.helpers import TINY, tiny_frame

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def three_runs() -> list:
    return [train_run(tiny_frame(seed=k), f"series {k}", TINY.with_(seed=k)) for k in range(3)]


def app_with(runs: list) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    at.session_state["runs"] = list(runs)
    at.session_state["selected_run"] = runs[-1].run_id
    return at


@pytest.mark.parametrize(("page", "key"), [("pages/gates.py", "gates_run"), ("pages/forecast.py", "forecast_run")])
def test_a_page_follows_the_newest_run_and_keeps_a_pick_until_a_new_one_arrives(three_runs, page, key):
    first, second, third = three_runs
    at = app_with([first, second])
    at.switch_page(page).run()
    assert not at.exception and at.selectbox(key=key).value == second.run_id
    assert t("run_picker_newest") in [c.value for c in at.caption]
    at.selectbox(key=key).set_value(first.run_id).run()  # the visitor looks at an older run here ...
    at.switch_page("pages/data.py").run()
    at.switch_page(page).run()
    assert at.selectbox(key=key).value == first.run_id  # ... which stays while nothing new arrives, and says so
    assert any(c.value.startswith("An earlier run; the newest is") and second.run_id in c.value for c in at.caption)
    at.session_state["runs"] = [first, second, third]  # then a run is trained (what add_run does)
    at.session_state["selected_run"] = third.run_id
    at.switch_page(page).run()
    assert not at.exception and at.selectbox(key=key).value == third.run_id


def test_the_train_page_shows_the_run_its_picker_names_at_once(three_runs):
    """The results were drawn above the picker with the previous pick, and an unkeyed picker snapped back."""
    first, second, third = three_runs
    at = app_with(three_runs)
    at.switch_page("pages/train.py").run()
    titles = {t("results_title", run_id=r.run_id) for r in three_runs}
    shown = lambda: [h.value for h in at.subheader if h.value in titles]  # noqa: E731
    assert at.selectbox(key="run_show").value == third.run_id and shown() == [t("results_title", run_id=third.run_id)]
    for pick in (first, second, first):
        at.selectbox(key="run_show").set_value(pick.run_id).run()
        assert not at.exception and at.selectbox(key="run_show").value == pick.run_id
        assert shown() == [t("results_title", run_id=pick.run_id)]  # the same rerun, not the next one
    at.switch_page("pages/data.py").run()
    at.switch_page("pages/train.py").run()
    assert shown() == [t("results_title", run_id=first.run_id)] and at.selectbox(key="run_show").value == first.run_id


def test_a_plain_rnn_run_is_named_by_its_cell_in_the_table_and_the_charts():
    rnn = train_run(tiny_frame(), "series", TINY.with_(cell=Cell.RNN))
    at = app_with([rnn])
    at.switch_page("pages/train.py").run()
    assert not at.exception
    table = next(df.value for df in at.dataframe if "RMSE" in df.value.columns)
    assert "Plain RNN model" in list(table.index) + list(table.iloc[:, 0]) and "LSTM model" not in table.to_string()
    legends = {trace.get("name") for chart in at.get("plotly_chart") for trace in json.loads(chart.proto.spec)["data"]}
    assert "Plain RNN model" in legends and "LSTM model" not in legends
    assert rnn.judgement_json()["sentences"]  # the JSON names it the same way


def test_a_share_of_the_training_means_error_is_written_as_a_person_writes_it():
    from lstm_core.judgement import format_share

    assert [format_share(x) for x in (1.003, 0.999, 0.45, 0.045, 0.00012, 12.5)] == [
        "100 %", "100 %", "45 %", "4.5 %", "0.012 %", "1,250 %"]  # once "1e+02 %"


def test_every_forecaster_has_a_colour_of_its_own_on_the_forecast_charts():
    from lstm_core.baselines import BASELINES
    from lstm_core.plots.forecast import FORECASTER_COLORS, step_error_figure

    names = ["model", "untrained", *BASELINES]
    assert set(names) <= set(FORECASTER_COLORS) and len({FORECASTER_COLORS[n] for n in names}) == len(names)
    fig = step_error_figure({n: [1.0, 2.0] for n in names}, {n: n for n in names} | {"step": "step"}, "RMSE")
    colours = [trace.marker.color if trace.type == "bar" else trace.line.color for trace in fig.data]
    assert len(set(colours)) == len(names)  # EWMA and Linear AR once shared one


def test_a_run_that_learned_nothing_says_what_happened_and_what_to_try():
    """The unseen index file: validation loss lowest at epoch 0 and rising while the training loss fell."""
    from types import SimpleNamespace

    from lstm_core.trainer import EpochRecord
    from ui.results import learned_nothing_advice

    def fake(best: int, losses: list[tuple[float, float]], task: bool = False, cell: Cell = Cell.LSTM):
        history = [EpochRecord(k, tr, va, 1.0, 1.0) for k, (tr, va) in enumerate(losses)]
        kind = SimpleNamespace(forecasts_ahead=not task)
        return SimpleNamespace(history=history, record=SimpleNamespace(best_epoch=best),
                               prepared=SimpleNamespace(target_kind=kind), config=SimpleNamespace(cell=cell))

    assert learned_nothing_advice(fake(0, [(1.0, 1.0), (0.8, 1.1), (0.6, 1.3)])) == "verdict_why_overfit"
    assert learned_nothing_advice(fake(2, [(1.0, 1.0), (0.9, 0.99), (0.8, 0.98)])) == "verdict_why_level"
    # a memory task has no levels and no prices: a plain RNN is told to try the cells that carry a value
    assert learned_nothing_advice(fake(2, [(1.0, 1.0)] * 3, task=True, cell=Cell.RNN)) == "verdict_why_task_rnn"
    assert learned_nothing_advice(fake(2, [(1.0, 1.0)] * 3, task=True)) == "verdict_why_task"
    kept = train_run(tiny_frame(), "series", TINY.with_(epochs=1))  # no step beat the untrained network
    assert not kept.judgement().learned
    at = app_with([kept])
    at.switch_page("pages/train.py").run()
    shown = " ".join(e.value for kind in ("warning", "info", "success", "error") for e in getattr(at, kind))
    assert "What happened:" in shown and "Worth trying:" in shown


def test_a_series_with_zeros_is_a_sentence_not_nan_losses(tmp_path):
    """A price read relative to its window's last value once divided by zero: every loss NaN, then a traceback."""
    import numpy as np
    import pandas as pd

    from lstm_core.config import Normalization, RunConfig, Target
    from lstm_core.errors import LabError
    from lstm_core.features import Feature
    from lstm_core.pipeline import Prepared

    close = np.abs(np.sin(np.arange(600) / 20)) * 10
    close[::25] = 0.0
    frame = pd.DataFrame({"Close": close}, index=pd.bdate_range("2000-01-03", periods=600, name="Date"))
    config = RunConfig(target=Target.PRICE, features=(Feature.CLOSE,), window=20, hidden=4, epochs=2)
    assert config.normalize == Normalization.WINDOW  # the price target's default
    with pytest.raises(LabError) as caught:
        Prepared(frame, config)
    assert caught.value.key == "err_window_level_nonpositive" and caught.value.params["n"] == 24
    run = train_run(frame, "zeros", config.with_(normalize=Normalization.NONE))  # the way out the sentence names
    assert all(np.isfinite([e.train_loss, e.val_loss]).all() for e in run.history)


def test_the_gates_slider_names_each_window_by_its_own_last_day():
    """It once showed the last day of the 20-day target period: the inputs ended a month before the date it named."""
    run = train_run(tiny_frame(n_days=400), "series", TINY.with_(target="logvol", features=("logabsret",), horizon=5,
                                                                 window=10))
    at = app_with([run])
    at.switch_page("pages/gates.py").run()
    assert not at.exception
    slider = at.select_slider(key="gates_window")
    last_window = run.prepared.window("test", -1)
    assert slider.options[-1] == last_window.dates[-1].strftime("%Y-%m-%d")  # where its inputs end
    assert run.prepared.sample_positions("test")[-1] > last_window.dates[-1]  # the day its target ends lies after


def _search_table(at: AppTest):
    return next(df.value for df in at.dataframe if t("gates_search_col_where") in df.value.columns)


def test_the_unit_search_defaults_find_distinct_places_on_prices_and_sequences_on_a_task():
    """On prices one-day stretches once all scored 1.00 with one date twice; on a task whose latch was not found the
    search ran on h and returned one sequence at ten consecutive steps."""
    from lstm_core.data import TaskKind, load_task

    prices = train_run(tiny_frame(n_days=400), "series", TINY.with_(epochs=3))
    at = app_with([prices])
    at.switch_page("pages/gates.py").run()
    assert not at.exception
    start, stop = at.session_state["gates_search_stretch"]
    assert stop - start + 1 == 5  # a pattern of on and off steps, not one on-cell
    where = list(_search_table(at).iloc[:, 0])
    assert len(where) >= 2 and len(set(where)) == len(where)  # each match at its own date
    (chart,) = [json.loads(c.proto.spec) for c in at.get("plotly_chart") if "gates_search_chart" in c.proto.id]
    titles = [a["text"] for a in chart["layout"]["annotations"] if a["text"].startswith("Match")]
    assert [title.split(" · ")[1] for title in titles] == where[: len(titles)]  # the table's date, not another

    ds = load_task(TaskKind.REMEMBER, length=30, sequences=300, seed=0)
    task = train_run(ds.frame, ds.name, TINY.with_(**ds.settings(), epochs=1))  # too little training to find a latch
    at = app_with([prices, task])
    at.session_state["dataset"] = ds
    at.switch_page("pages/gates.py").run()
    assert not at.exception and at.session_state["gates_search_array"] == "i"  # the gate that opens at a marker
    where = list(_search_table(at).iloc[:, 0])
    assert len(set(where)) == len(where)  # one stretch per sequence


def test_the_gates_choices_start_again_for_another_run():
    """A 4-unit run's "units shown" once stayed when a 32-unit run was opened."""
    small = train_run(tiny_frame(), "small", TINY.with_(hidden=4))
    large = train_run(tiny_frame(seed=1), "large", TINY.with_(hidden=12))
    at = app_with([small])
    at.switch_page("pages/gates.py").run()
    at.slider(key="gates_shown_units").set_value(2).run()
    assert at.session_state["gates_shown_units"] == 2
    at.session_state["runs"] = [small, large]
    at.session_state["selected_run"] = large.run_id
    at.switch_page("pages/gates.py").run()
    assert not at.exception and at.session_state["gates_shown_units"] == 12  # the new run's own default


def test_after_a_refresh_the_train_form_is_the_newest_runs_on_this_data():
    """F5 kept the dataset and the runs, but the form's epochs went back to 60."""
    from lstm_core.data import load_sample

    sample = load_sample("MSFT")
    run = train_run(tiny_frame(), sample.name, TINY.with_(epochs=7, hidden=6))  # named as the data the page has loaded
    at = app_with([run])  # a fresh session: what a refresh gives, with the workspace's runs back
    at.switch_page("pages/train.py").run()
    assert not at.exception
    assert at.session_state["setting_epochs"] == 7 and at.session_state["setting_hidden"] == 6
    other = train_run(tiny_frame(), "another series", TINY.with_(epochs=9))
    at = app_with([other])  # runs on other data leave the form at the data's own defaults
    at.switch_page("pages/train.py").run()
    assert at.session_state["setting_epochs"] == 60


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_dataset_reads_the_same_whether_or_not_it_is_loaded(lang):
    """After a reload a task run was "remember task (length 100, ...)" where it had been "Remember the marked value"."""
    from lstm_core.data import TaskKind, load_csv, load_sample, load_synthetic, load_task
    from lstm_core.data.dataset import title_of

    csv = tiny_frame().to_csv(index_label="Date").encode()
    for ds in (load_task(TaskKind.REMEMBER), load_task(TaskKind.ADD, length=30, sequences=500, seed=4),
               load_sample("NVDA"), load_synthetic("sine", seed=3), load_csv(csv, "my (odd) file.csv")):
        assert title_of(ds.name, lang) == ds.title(lang), ds.name
    assert title_of("anything else", lang) == "anything else"


def test_the_runs_table_says_each_runs_verdict_and_names_its_cell():
    frame = tiny_frame()
    runs = [train_run(frame, "sine", TINY.with_(cell=cell)) for cell in (Cell.LSTM, Cell.RNN)]
    at = app_with(runs)
    at.switch_page("pages/train.py").run()
    table = next(d.value for d in at.dataframe if t("col_verdict") in d.value.columns)
    assert list(table[t("col_model")]) == [f"LSTM {TINY.hidden}×1", f"{t('cell_rnn')} {TINY.hidden}×1"]
    assert list(table[t("col_verdict")]) == [t(f"outcome_{r.judgement().outcome}") for r in runs]


def test_the_language_lives_in_the_url_so_a_reload_keeps_it():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params["lang"] = "zh"  # a reload, or a link shared by a Chinese reader
    at.run()
    assert at.session_state["lang"] == "zh" and at.title[0].value == t("app_title", "zh")
    at.segmented_control(key="lang").set_value("en").run()  # the sidebar's switch wins over the URL it came from
    assert at.title[0].value == t("app_title", "en")
    english = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    english.run()
    assert "lang" not in english.query_params  # English needs nothing in the URL (Chromium: test_browser_learn_tabs)
    fresh = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    fresh.query_params["lang"] = "xx"  # a language the app does not have: English
    fresh.run()
    assert not fresh.exception and fresh.session_state["lang"] == "en"
