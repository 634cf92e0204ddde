"""The one table of settings: RunConfig validates itself, and the widgets and CLI flags are generated from it."""

from dataclasses import fields
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lstm_core.cli import build_parser
from lstm_core.config import SETTINGS, Cell, Feature, Normalization, Optimizer, RunConfig, Target
from lstm_core.errors import LabError
from lstm_core.i18n import TABLE, Key
from ui.settings import CHOICE_PREFIX

ROOT = Path(__file__).resolve().parent.parent
CHOICE_ENUMS = {"target": Target, "features": Feature, "cell": Cell, "optimizer": Optimizer, "normalize": Normalization}


def test_every_field_has_a_setting_with_labels_in_both_languages():
    assert set(SETTINGS) == {f.name for f in fields(RunConfig)}
    for name, setting in SETTINGS.items():
        for lang in ("en", "zh"):
            assert f"cfg_{name}" in TABLE[lang]
            assert (f"cfg_{name}_help" in TABLE[lang]) == setting.help
        if setting.is_choice:
            assert setting.choices == tuple(CHOICE_ENUMS[name])
        else:
            assert setting.low <= getattr(RunConfig(), name) <= setting.high


@pytest.mark.parametrize("name", list(CHOICE_ENUMS))
def test_every_choice_has_a_label_in_both_languages(name):
    for member in CHOICE_ENUMS[name]:
        for lang in ("en", "zh"):
            assert f"{CHOICE_PREFIX[name]}_{member.value}" in TABLE[lang]


@pytest.mark.parametrize("name", [n for n, s in SETTINGS.items() if not s.is_choice])
def test_bounds_are_enforced_by_construction(name):
    setting = SETTINGS[name]
    is_int = isinstance(getattr(RunConfig(), name), int)
    above = int(setting.high) + 1 if is_int else setting.high * 1.01 + 1e-9
    with pytest.raises(LabError) as err:
        RunConfig(**{name: above})
    assert err.value.key in ("err_cfg_setting_range", "err_cfg_no_test") and f"'{name}'" in str(err.value) or name in (
        "train_frac", "val_frac")
    with pytest.raises(LabError):
        RunConfig(**{name: float("nan")})


def test_cross_checks_are_sentences():
    with pytest.raises(LabError) as err:
        RunConfig(dropout=0.3, layers=1)
    assert err.value.key == "err_cfg_dropout_one_layer"
    assert RunConfig(dropout=0.3, layers=2).dropout == 0.3
    with pytest.raises(LabError) as err:
        RunConfig(target="logvol", window=10, horizon=20)
    assert err.value.key == "err_cfg_window_horizon"
    with pytest.raises(LabError) as err:
        RunConfig.from_dict(["not", "a", "table"])
    assert err.value.key == "err_cfg_not_a_table"


def test_price_target_without_a_price_input_warns():
    assert RunConfig(target="price", features=("logret",), horizon=1).warnings()[0][0] == "warn_price_without_level"
    assert RunConfig(target="price", features=("close",), horizon=1).warnings() == []


def test_cli_has_one_flag_per_setting_and_they_reach_the_config():
    parser = build_parser()
    train = parser._subparsers._group_actions[0].choices["train"]
    flags = {a.dest: a.option_strings for a in train._actions}
    for name in SETTINGS:
        assert flags[name] == [f"--{name.replace('_', '-')}"]
    args = parser.parse_args(["train", "--data", "x", "--weight-decay", "0.01", "--optimizer", "sgd",
                              "--clip-grad", "0", "--train-frac", "0.6", "--features", "close, logret"])
    from lstm_core.cli import config_from_args

    cfg = config_from_args(args)
    assert (cfg.weight_decay, cfg.optimizer, cfg.clip_grad, cfg.train_frac) == (0.01, "sgd", 0.0, 0.6)
    assert cfg.features == ("close", "logret") and cfg.hidden == RunConfig().hidden


def _all_widgets(at: AppTest):
    kinds = ("number_input", "slider", "multiselect", "selectbox", "button_group")
    return {w.label: w for kind in kinds for w in at.get(kind) if hasattr(w, "label")}


def test_every_setting_has_a_widget_showing_the_default(train_page):
    widgets = _all_widgets(train_page)
    defaults = RunConfig()
    for name in SETTINGS:
        label = TABLE["en"][f"cfg_{name}"]
        assert label in widgets, f"no widget for {name}"
        value = widgets[label].value
        expected = getattr(defaults, name)
        assert (list(value) if isinstance(expected, tuple) else value) == (
            list(expected) if isinstance(expected, tuple) else expected), name


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_out_of_range_value_gives_the_apps_own_sentence_and_nothing_starts(lang):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.session_state["lang"] = lang
    at.run().switch_page("pages/train.py").run()
    lr = next(w for w in at.number_input if w.label == TABLE[lang]["cfg_lr"])
    lr.set_value(5.0).run()
    errors = [e.value for e in at.error]
    assert errors == [LabError("err_cfg_form_range", label=Key("cfg_lr"), value=5.0, low=1e-6,
                               high=1.0).message(lang)]  # the form's label alone, not the internal name
    assert errors[0].startswith(TABLE[lang]["cfg_lr"])  # named by the form's own label, in the page's language
    next(b for b in at.button if b.label == TABLE[lang]["train_start"]).click().run()
    assert "job" not in at.session_state and not at.exception


def test_edits_survive_a_page_switch_and_a_language_switch(train_page):
    at = train_page
    next(w for w in at.number_input if w.label == "Hidden units").set_value(17).run()
    next(w for w in at.number_input if w.label == "Learning rate").set_value(5.0).run()  # refused, but kept
    at.switch_page("pages/data.py").run()
    at.session_state["lang"] = "zh"
    at.switch_page("pages/train.py").run()
    widgets = _all_widgets(at)
    assert widgets[TABLE["zh"]["cfg_hidden"]].value == 17
    assert widgets[TABLE["zh"]["cfg_lr"]].value == 5.0
    assert not at.exception


def test_choices_too_wide_for_a_third_of_the_form_get_a_selectbox_in_both_languages():
    """At 1,400 px the target's segmented control cut "Next price" to "Next" and "SGD (momentum 0.9)" was clipped."""
    from lstm_core.config import SETTINGS
    from ui.settings import SEGMENT_BUDGET_PX, fits_segmented, segmented_width_px

    assert not fits_segmented("target", SETTINGS["target"].choices)
    assert not fits_segmented("optimizer", SETTINGS["optimizer"].choices)
    assert fits_segmented("cell", SETTINGS["cell"].choices)
    assert segmented_width_px(["Next price"]) == 32 + 10 * 8 and segmented_width_px(["下一价格"]) == 32 + 4 * 16
    assert segmented_width_px(["Volatility (next days)", "Log return", "Next price"]) > SEGMENT_BUDGET_PX



@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_value_out_of_range_is_said_at_once_by_its_label(lang):
    """Once one sentence per try, with internal names: 'window', then 'horizon', then 'hidden', then 'lr'."""
    with pytest.raises(LabError) as caught:
        RunConfig(window=-5, horizon=0, hidden=0, lr=9.0)
    said = caught.value.message(lang)
    assert caught.value.key == "err_cfg_many" and caught.value.params["n"] == 4
    for name, value in (("window", "-5"), ("horizon", "0"), ("hidden", "0"), ("lr", "9.0")):
        assert TABLE[lang][f"cfg_{name}"] in said and value in said
