"""The translation table: every module has the same keys in English and Chinese, and every key the code uses exists."""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import lstm_core.i18n as i18n
from lstm_core.i18n import LANGUAGES, TABLE, t

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted(
    [p for folder in ("lstm_core", "pages", "ui") for p in (ROOT / folder).rglob("*.py")] + [ROOT / "app.py"]
)
MODULES = [importlib.import_module(f"lstm_core.i18n.{m.name}") for m in pkgutil.iter_modules(i18n.__path__)]
# {name} or {name:,} but not {{escaped}}; LaTeX groups such as W_{xi} count too, identically in both languages
PLACEHOLDER = re.compile(r"(?<!\{)\{([A-Za-z_]\w*)(?:[!:][^{}]*)?\}(?!\})")
# t("key", …), tr("key", …), LabError("key", …) with a plain string literal as the key
KEY_USE = re.compile(r"""\b(?:t|tr|LabError)\(\s*(["'])([A-Za-z0-9_]+)\1""")
# the same calls given keyword parameters, so their text gets str.format-ted
KEY_WITH_PARAMS = re.compile(r"""\b(?:tr|LabError)\(\s*(["'])([A-Za-z0-9_]+)\1\s*,\s*\*{0,2}\w+\s*[=)]|\bt\(\s*(["'])([A-Za-z0-9_]+)\3\s*,[^,()]+,\s*\*{0,2}\w+""")


def _source_keys(pattern: re.Pattern[str], group: int | tuple[int, ...]) -> set[tuple[str, str]]:
    groups = (group,) if isinstance(group, int) else group
    found = set()
    for path in SOURCES:
        for match in pattern.finditer(path.read_text(encoding="utf-8")):
            for g in groups:
                if match.group(g):
                    found.add((str(path.relative_to(ROOT)), match.group(g)))
    return found


class _Params(dict):
    """Format parameters that answer any identifier with 1 and refuse anything else (such as LaTeX's {t-1})."""

    def __missing__(self, key: str) -> int:
        if not key.isidentifier():
            raise KeyError(key)
        return 1


def test_every_module_is_merged() -> None:
    assert {m.__name__.rsplit(".", 1)[1] for m in MODULES} >= {"common", "data", "train", "gates", "learn"}
    assert set(TABLE) == set(LANGUAGES) == {"en", "zh"}
    assert sum(len(m.EN) for m in MODULES) == len(TABLE["en"])  # no key defined in two modules


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__.rsplit(".", 1)[1])
def test_module_has_identical_keys_in_both_languages(module) -> None:
    assert set(module.EN) == set(module.ZH), f"only in EN: {set(module.EN) - set(module.ZH)}, only in ZH: {set(module.ZH) - set(module.EN)}"


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__.rsplit(".", 1)[1])
def test_module_has_no_empty_strings(module) -> None:
    for lang, table in (("en", module.EN), ("zh", module.ZH)):
        empty = [k for k, v in table.items() if not isinstance(v, str) or not v.strip()]
        assert not empty, f"{lang}: {empty}"


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__.rsplit(".", 1)[1])
def test_placeholders_match_between_languages(module) -> None:
    for key in module.EN.keys() & module.ZH.keys():
        en, zh = set(PLACEHOLDER.findall(module.EN[key])), set(PLACEHOLDER.findall(module.ZH[key]))
        assert en == zh, f"{key}: EN has {sorted(en)}, ZH has {sorted(zh)}"


def test_chinese_strings_are_translated() -> None:
    """A ZH value equal to its EN value is fine for LaTeX, names and symbols, not for an English sentence."""
    words = re.compile(r"[A-Za-z]{4,}")
    for key, zh in TABLE["zh"].items():
        if zh == TABLE["en"][key]:
            prose = re.sub(r"\$\$.*?\$\$|\$[^$]*\$|`[^`]*`", "", zh, flags=re.S)
            leftover = [w for w in words.findall(prose) if w not in {"LSTM", "PyTorch", "Lab"}]
            assert len(leftover) < 3, f"{key} looks untranslated: {leftover[:5]}"


def test_source_scan_finds_the_calls() -> None:
    """Guards the regex itself: if it matched nothing, the next test would pass vacuously."""
    used = {key for _, key in _source_keys(KEY_USE, 2)}
    assert {"learn_title", "err_learn_size", "err_cfg_range"} <= used and len(used) > 30


def test_every_key_used_in_the_code_exists() -> None:
    missing = sorted((path, key) for path, key in _source_keys(KEY_USE, 2) if key not in TABLE["en"])
    assert not missing, f"keys used but not in the table: {missing}"


def test_keys_used_with_parameters_format_in_both_languages() -> None:
    used = {key for _, key in _source_keys(KEY_WITH_PARAMS, (2, 4))}
    assert {"learn_unit", "err_learn_size", "sidebar_dataset"} <= used
    for key in sorted(used & TABLE["en"].keys()):
        for lang in LANGUAGES:
            try:
                TABLE[lang][key].format_map(_Params())
            except (KeyError, ValueError, IndexError) as err:
                pytest.fail(f"{lang}:{key} cannot be formatted ({err!r}); escape literal braces as {{{{ }}}}")


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_lookup_formats_and_unknown_keys_fail(lang: str) -> None:
    assert t("learn_unit", lang, k=3).endswith("3")
    assert t("err_learn_too_long", lang, steps=13, limit=12).count("1") >= 2
    with pytest.raises(KeyError):
        t("no_such_key", lang)


def _bold_that_would_not_render(text: str) -> list[str]:
    """``**`` delimiters CommonMark would print as asterisks: a closer after punctuation with a letter right after it
    ("**真实训练的结果。**同样"), or an opener before punctuation with a letter right before it."""
    import re
    import unicodedata

    def punct(c: str) -> bool:
        return unicodedata.category(c)[0] in "PS"

    found = []
    for k, i in enumerate(m.start() for m in re.finditer(r"(?<!\*)\*\*(?!\*)", text)):
        before, after = (text[i - 1] if i else " "), (text[i + 2] if i + 2 < len(text) else " ")
        near, far = (before, after) if k % 2 else (after, before)  # a closer looks back, an opener ahead
        if near.isspace() or (punct(near) and not (far.isspace() or punct(far))):
            found.append(text[max(0, i - 10): i + 12])
    return found


def test_bold_renders_as_bold_in_both_languages():
    from lstm_core.i18n import TABLE

    assert _bold_that_would_not_render("**真实训练的结果。**同样") != []  # the check finds what Chinese Learn once showed
    assert _bold_that_would_not_render("**真实训练的结果**。同样") == []
    stray = {f"{lang}:{key}": found for lang, table in TABLE.items() for key, text in table.items()
             if (found := _bold_that_would_not_render(text))}
    assert stray == {}
