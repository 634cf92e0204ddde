"""The translation table: every user-visible sentence in English and Simplified Chinese.

Each area of the app keeps its strings in its own module (``common``, ``data``, ``train``,
``gates``, ``learn``) as two dicts, ``EN`` and ``ZH``, with the same keys; this module merges
them into one table and looks sentences up.
"""

from __future__ import annotations

from lstm_core.i18n import basket, common, data, forecast, gates, jobs, learn, results, runs, settings, train, tune

LANGUAGES = {"en": "English", "zh": "简体中文"}

_MODULES = (common, data, settings, train, results, gates, learn, runs, jobs, forecast, tune, basket)


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


class Key(str):
    """A parameter that is itself a sentence's key: shown in the sentence's language (a setting's label)."""

    __slots__ = ()


class Sentences(tuple):
    """A parameter that is several sentences, each ``(key, params)``: shown one after another in the language."""

    __slots__ = ()


def t(key: str, lang: str = "en", **params: object) -> str:
    """The sentence ``key`` in ``lang`` (falling back to English), formatted with ``params`` (a ``Key`` or
    ``Sentences`` among them shown in ``lang`` too)."""
    text = TABLE.get(lang, TABLE["en"]).get(key) or TABLE["en"].get(key)
    if text is None:
        raise KeyError(f"no translation for {key!r}")
    if not params:
        return text
    shown = {k: t(v, lang) if isinstance(v, Key) else " ".join(t(sk, lang, **sp) for sk, sp in v)
             if isinstance(v, Sentences) else v for k, v in params.items()}
    return text.format(**shown)
