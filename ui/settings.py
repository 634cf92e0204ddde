"""The Train page's settings, generated from RunConfig's table: one widget per field, kept for the whole session."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from lstm_core.config import SETTINGS, Feature, Group, RunConfig, Setting, Target
from lstm_core.data import Dataset
from lstm_core.errors import LabError
from lstm_core.i18n import TABLE, Key, Sentences, t
from lstm_core.targets import target_of
from ui.runs import runs
from ui.session import kept, session
from ui.text import lang, show_error, tr

CHOICE_PREFIX = {name: name for name, setting in SETTINGS.items() if setting.is_choice}  # choice c of n: "n_c"
# A segmented control never wraps: at 1,280 px a third of the form is about 290 px, and buttons past it are cut
# ("Next price" read "Next"). Its width, estimated from its labels: a CJK character is twice a Latin one.
SEGMENT_BUDGET_PX, SEGMENT_PADDING_PX, LATIN_CHAR_PX, CJK_CHAR_PX = 280, 32, 8, 16


def widget_key(name: str) -> str:
    """Session-state key of a setting's widget."""
    return f"setting_{name}"


def choice_label(name: str, value: str) -> str:
    """A choice of a setting (a target, a feature, a cell, an optimizer) in the session's language."""
    return tr(f"{CHOICE_PREFIX[name]}_{value}")


def value_label(name: str, value: Any) -> str:
    """Any setting's value as the UI shows it: choices translated, numbers as written."""
    if name in CHOICE_PREFIX:
        members = value if isinstance(value, (list, tuple)) else [value]
        return ", ".join(choice_label(name, str(v)) for v in members)
    return f"{value:g}" if isinstance(value, float) else str(value)


def segmented_width_px(labels: list[str]) -> int:
    """About how wide a segmented control with these labels is drawn."""
    return sum(SEGMENT_PADDING_PX + sum(CJK_CHAR_PX if ord(ch) > 0x2E80 else LATIN_CHAR_PX for ch in label)
               for label in labels)


def fits_segmented(name: str, choices: tuple[str, ...]) -> bool:
    """Whether a setting's choices fit a segmented control in both languages (so the widget stays one kind)."""
    return all(segmented_width_px([t(f"{CHOICE_PREFIX[name]}_{c}", language) for c in choices]) <= SEGMENT_BUDGET_PX
               for language in ("en", "zh"))


def data_choices(name: str, ds: Dataset) -> tuple[str, ...]:
    """The choices of a setting that this data can feed: a task's answer and channels for a memory task, the price
    targets and price features for prices (every choice of any other setting)."""
    choices = SETTINGS[name].offered
    if name == "target":
        return tuple(c for c in choices if target_of(c).column in ds.frame.columns)
    if name == "features":  # the data's kind, and the columns each needs (the daily range: High and Low)
        return tuple(c for c in choices if Feature(c).is_task_channel == ds.is_task
                     and all(column in ds.frame.columns for column in Feature(c).columns))
    return choices


def config_for_data(ds: Dataset, fallback: RunConfig) -> RunConfig:
    """The settings a page should use on ``ds`` when it has none of its own: the Train page's last run where it fits
    this data, else the data's own (a task's target, channels and window), else ``fallback`` (prices)."""
    config, wanted = session.train_config, ds.settings()
    if (config is not None and target_of(config.target).column in ds.frame.columns
            and all(getattr(config, name) == value for name, value in wanted.items() if name != "features")):
        return config
    return RunConfig.for_target(**wanted) if wanted else fallback

def follow_data(ds: Dataset) -> None:
    """When the loaded data changes, the form takes the settings it asks for: a task's channels and window (and, coming
    from prices, the task's target and its defaults); coming back to prices, a price target and its defaults."""
    if session.form_data == ds.fingerprint:
        return
    fresh = session.form_data is None and not any(widget_key(name) in st.session_state for name in SETTINGS)
    session.form_data = ds.fingerprint
    if fresh:  # a new session on a kept workspace (a refresh): the form as the newest run on this data had it
        newest = next((r for r in reversed(runs()) if r.dataset_name == ds.name), None)
        if newest is not None:
            for name, value in newest.config.to_dict().items():
                if name in SETTINGS:
                    st.session_state[widget_key(name)] = value
            return
    target = st.session_state.get(widget_key("target"), SETTINGS["target"].choices[0])
    wanted = ds.settings()
    fits = target in data_choices("target", ds) and target == wanted.get("target", target)
    if fits and not wanted:
        return  # prices after prices: the form is the user's
    if not fits:  # another kind of data: the whole form starts from that data's defaults
        wanted = {"target": data_choices("target", ds)[0], **wanted}
        reset = RunConfig.for_target(**wanted).to_dict()
    else:  # another task: its own channels and window, the rest as the user left it
        reset = {name: value for name, value in RunConfig.for_target(**wanted).to_dict().items() if name in wanted}
    for name, value in reset.items():
        st.session_state[widget_key(name)] = value


def _setting_widget(name: str, setting: Setting, default: Any, disabled: bool, choices: tuple[str, ...],
                    task: bool = False) -> Any:
    """One widget for one setting; its value is kept under ``widget_key(name)`` for the whole session.

    Number inputs have no bounds of their own: an out-of-range number reaches RunConfig, whose sentence names
    the setting and its range in the user's language (a widget's own limit shows Streamlit's English tooltip).
    ``choices``: what a choice offers (the loaded data's targets and features).
    """
    label = tr(label_key(f"cfg_{name}", task))
    help_text = tr(f"cfg_{name}_help") if setting.help else None
    if name == "target" and choices == (Target.ANSWER,):
        help_text = tr("cfg_target_task_help")

    def fits(value: object) -> bool:
        members = value if isinstance(value, (list, tuple)) else [value]
        return not setting.is_choice or all(m in choices for m in members)

    if setting.is_choice and not fits(default):
        default = ([c for c in default if c in choices] or list(choices[:1])) if name == "features" else choices[0]
    common = dict(help=help_text, disabled=disabled, **kept(widget_key(name), default, fits))
    language = lang()  # bound now: a format function may be called outside this script run (AppTest does)

    def labels(value: str) -> str:
        return t(f"{CHOICE_PREFIX[name]}_{value}", language)

    if name == "target":  # choosing a target brings its own inputs and horizon
        common["on_change"] = _apply_target_defaults
    if setting.is_choice and name == "features":
        return st.multiselect(label, choices, format_func=labels, **common)
    if setting.is_choice and len(choices) <= 3 and fits_segmented(name, choices):
        return st.segmented_control(label, choices, format_func=labels, required=True, **common)
    if setting.is_choice:
        return st.selectbox(label, choices, format_func=labels, **common)
    if setting.slider:  # a slider cannot leave its range, so its bounds are the setting's
        return st.slider(label, float(setting.low), float(setting.high), step=float(setting.step), **common)
    if setting.is_int:
        return st.number_input(label, step=1, **common)
    return st.number_input(label, format="%.2e" if setting.log else "%g", step=setting.step, **common)


def label_key(key: str, task: bool) -> str:
    """A setting's label key: a memory task counts steps, not days, and has its own label where the table has one."""
    return f"{key}_task" if task and f"{key}_task" in TABLE["en"] else key


FORM_KEYS = {"err_cfg_setting_range": "err_cfg_form_range"}  # the command line's sentence names the flag too


def in_form_labels(err: LabError, task: bool) -> LabError:
    """``err`` naming each setting by the label the form shows (a memory task's "Window (steps)", not days), without
    the internal name the command line adds."""

    def relabel(params: dict[str, object]) -> dict[str, object]:
        return {k: Key(label_key(v, task)) if isinstance(v, Key) else
                Sentences((FORM_KEYS.get(key, key), relabel(p)) for key, p in v) if isinstance(v, Sentences) else v
                for k, v in params.items()}

    return LabError(FORM_KEYS.get(err.key, err.key), **relabel(err.params))


def _apply_target_defaults() -> None:
    """The chosen target's own defaults (its inputs and horizon) replace what the form held for them."""
    target = st.session_state.get(widget_key("target"))
    if target not in SETTINGS["target"].choices:
        return
    for name, value in RunConfig.for_target(target=target).to_dict().items():
        if name in target_of(target).defaults:
            st.session_state[widget_key(name)] = value


def config_from_widgets() -> RunConfig:
    """The settings as the user left them; LabError naming the first that is out of range."""
    values: dict[str, Any] = {}
    for name in SETTINGS:
        value = st.session_state.get(widget_key(name))
        if SETTINGS[name].is_int and isinstance(value, float) and value.is_integer():
            value = int(value)
        values[name] = tuple(value or ()) if name == "features" else value
    return RunConfig(**values)


def settings_ui(start: Callable[[RunConfig], bool], disabled: bool, ds: Dataset) -> None:
    """The settings in three columns and the Start button; edits rerun this fragment alone, never the results below.

    ``start`` queues a job and returns whether it did; the page is then redrawn whole. ``ds``: the loaded data, whose
    kind decides which targets and features are offered (and whose own settings the form takes when it changes).
    """
    follow_data(ds)
    defaults = RunConfig.for_target(**ds.settings()).to_dict()  # plain values (an enum member confuses options)
    choices = {name: data_choices(name, ds) for name in SETTINGS}

    @st.fragment
    def form() -> None:
        columns = dict(zip(Group, st.columns(3), strict=True))
        for group, column in columns.items():
            column.markdown(f"**{tr(f'cfg_{group.value}')}**")
        for name, setting in SETTINGS.items():
            with columns[setting.group]:
                _setting_widget(name, setting, defaults[name], disabled, choices[name], ds.is_task)
        clicked = st.button(tr("train_start"), type="primary", icon=":material/play_arrow:", disabled=disabled,
                            key="train_start")
        try:
            config = config_from_widgets()
        except LabError as err:  # shown at once, and Start does nothing until it is fixed
            show_error(in_form_labels(err, ds.is_task))
            return
        for key, params in config.warnings():
            st.warning(tr(key, **params), icon=":material/warning:")
        if clicked and start(config):
            st.rerun(scope="app")  # redraw with the settings locked and the live panel on top

    form()
