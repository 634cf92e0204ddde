"""The search space, generated from RunConfig's table of settings: which may vary, over what range, and how a
trial samples a config from it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import optuna

from lstm_core.config import SETTINGS, RunConfig
from lstm_core.cost import n_parameters
from lstm_core.errors import LabError


@dataclass(frozen=True)
class Dim:
    """One searched setting: a number range (``log``: sampled on a log scale) or a set of choices."""

    name: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    is_int: bool = False
    choices: tuple[str, ...] = ()


def searchable_names() -> list[str]:
    """Settings the search may vary, in the table's order."""
    return [name for name, setting in SETTINGS.items() if setting.searchable]


def default_search_names() -> list[str]:
    """The settings searched when no search is named: those the table marks ``search_default``."""
    return [name for name in searchable_names() if SETTINGS[name].search_default]


def first_dim(name: str) -> Dim:
    """Where a first search of ``name`` starts: the table's ``search_range`` where it has one, else its whole range."""
    whole = table_dim(name)
    first = SETTINGS[name].search_range
    return whole if first is None else narrowed(name, *first)


def default_search() -> list[Dim]:
    """The search the page starts with and the CLI runs without ``--search``: the default settings, first ranges."""
    return [first_dim(name) for name in default_search_names()]


def search_text(dims: Sequence[Dim]) -> str:
    """``dims`` written as ``--search`` takes them: ``hidden=8:128,lr=0.0001:0.01,cell=lstm|gru``."""
    parts = []
    for dim in dims:
        if dim.choices:
            parts.append(f"{dim.name}={'|'.join(dim.choices)}")
        else:
            parts.append(f"{dim.name}={dim.low:g}:{dim.high:g}")
    return ",".join(parts)


def table_dim(name: str) -> Dim:
    """The whole range (or every choice) the table allows ``name``; LabError when it cannot be searched."""
    setting = SETTINGS.get(name)
    if setting is None or not setting.searchable:
        raise LabError("err_tune_unknown_setting", name=name, choices=", ".join(searchable_names()))
    if setting.is_choice:
        return Dim(name, choices=setting.choices)
    is_int = setting.is_int
    low, high = (int(setting.low), int(setting.high)) if is_int else (setting.low, setting.high)
    return Dim(name, low=low, high=high, log=setting.log, is_int=is_int)


def narrowed(name: str, low: float | None = None, high: float | None = None,
             choices: Sequence[str] | None = None) -> Dim:
    """``name``'s table range narrowed to [low, high] (or to some of its choices); LabError outside the table."""
    dim = table_dim(name)
    if dim.choices:
        picked = dim.choices if choices is None else tuple(dict.fromkeys(choices))
        if not picked:
            raise LabError("err_tune_no_choices", name=name, choices=", ".join(dim.choices))
        bad = [c for c in picked if c not in dim.choices]
        if bad:
            raise LabError("err_cfg_choice", name=name, value=bad[0], choices=", ".join(dim.choices))
        return Dim(name, choices=picked)
    low = dim.low if low is None else low
    high = dim.high if high is None else high
    if not (dim.low <= low <= high <= dim.high) or (dim.log and low <= 0):
        raise LabError("err_tune_bad_range", name=name, low=low, high=high, table_low=dim.low, table_high=dim.high)
    if dim.is_int:
        if not (float(low).is_integer() and float(high).is_integer()):
            raise LabError("err_tune_not_whole", name=name, low=low, high=high)
        low, high = int(low), int(high)
    return Dim(name, low=low, high=high, log=dim.log, is_int=dim.is_int)


def parse_search(text: str) -> list[Dim]:
    """``"hidden=8:64,lr,cell=lstm|gru"`` -> dims; a bare name searches its whole table range.

    LabError for anything that is not a search: an unknown name, a name twice, ``cell=`` (no choice left), ``hidden=``
    or ``hidden=8:`` (no range), a range outside the table's, or nothing at all.
    """
    dims: list[Dim] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        name, equals, spec = part.partition("=")
        name, spec = name.strip().replace("-", "_"), spec.strip()
        if not equals:
            dims.append(table_dim(name))
        elif "|" in spec or SETTINGS.get(name) is not None and SETTINGS[name].is_choice:
            dims.append(narrowed(name, choices=[c.strip() for c in spec.split("|") if c.strip()]))
        elif not spec:
            table_dim(name)  # an unknown name says so first
            raise LabError("err_tune_bad_search", part=part)
        else:
            low_text, sep, high_text = spec.partition(":")
            try:
                low, high = float(low_text), float(high_text if sep else low_text)
            except ValueError as exc:
                raise LabError("err_tune_bad_search", part=part) from exc
            dims.append(narrowed(name, low, high))
    names = [d.name for d in dims]
    if not dims:
        raise LabError("err_tune_empty_search")
    if len(set(names)) != len(names):
        raise LabError("err_tune_bad_search", part=text)
    return dims


def suggest_config(trial: optuna.Trial, base: RunConfig, dims: Sequence[Dim]) -> RunConfig:
    """The trial's config: ``base`` with every searched setting sampled.

    Two settings depend on others: dropout acts between layers (so a one-layer trial keeps 0) and a volatility
    window cannot be shorter than its horizon (so the window's low end rises to it).
    """
    values: dict[str, Any] = {}
    by_name = {d.name: d for d in dims}
    for dim in dims:
        if dim.name == "dropout":
            continue
        if dim.choices:
            values[dim.name] = trial.suggest_categorical(dim.name, list(dim.choices))
            continue
        low = dim.low
        if dim.name == "window":
            low = max(low, base.min_window)
        suggest = trial.suggest_int if dim.is_int else trial.suggest_float
        values[dim.name] = suggest(dim.name, low, max(low, dim.high), log=dim.log)
    if "dropout" in by_name:
        layers = values.get("layers", base.layers)
        d = by_name["dropout"]
        values["dropout"] = trial.suggest_float("dropout", d.low, d.high) if RunConfig.allows_dropout(layers) else 0.0
    elif not RunConfig.allows_dropout(values.get("layers", base.layers)):
        values["dropout"] = 0.0
    return base.with_(**values)


def largest_config(base: RunConfig, dims: Sequence[Dim]) -> RunConfig:
    """The config of the search's costliest corner: every searched size (``Setting.costly``) at its high end, and of
    each searched choice the one with the most weights (an LSTM's four gates to a GRU's three). A server checks it
    against a job's memory budget before a study starts."""
    corner: dict[str, Any] = {d.name: d.high for d in dims if not d.choices and SETTINGS[d.name].costly}
    if not RunConfig.allows_dropout(corner.get("layers", base.layers)):
        corner["dropout"] = 0.0
    for dim in dims:
        if dim.choices:
            corner[dim.name] = max(dim.choices, key=lambda c, n=dim.name: n_parameters(base.with_(**corner, **{n: c})))
    return base.with_(**corner)
