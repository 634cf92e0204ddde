"""The translation table: every user-visible sentence in English and Simplified Chinese.

Each area of the app keeps its strings in its own module (``common``, ``data``, ``train``,
``gates``, ``learn``) as two dicts, ``EN`` and ``ZH``, with the same keys; this module merges
them into one table and looks sentences up.
"""

from __future__ import annotations

from lstm_core.i18n import common, data, forecast, gates, jobs, learn, results, runs, settings, train, tune

LANGUAGES = {"en": "English", "zh": "简体中文"}

_MODULES = (common, data, settings, train, results, gates, learn, runs, jobs, forecast, tune)


def _merge(attr: str) -> dict[str, str]:
    table: dict[str, str] = {}
    for module in _MODULES:
        part = getattr(module, attr)
        clash = table.keys() & part.keys()
        if clash:
            raise RuntimeError(f"translation keys defined twice: {sorted(clash)}")
        table.update(part)
    return table


TABLE: dict[str, dict[str, str]] = {"en": _merge("EN"), "zh": _merge("ZH")}


def t(key: str, lang: str = "en", **params: object) -> str:
    """The sentence ``key`` in ``lang`` (falling back to English), formatted with ``params``."""
    text = TABLE.get(lang, TABLE["en"]).get(key) or TABLE["en"].get(key)
    if text is None:
        raise KeyError(f"no translation for {key!r}")
    return text.format(**params) if params else text
