"""The session's words: translation into its language, names shown literally, and a user's mistake as one sentence.

One rule for every sentence with a name in it (a file, a column, a ticker, a study, a bundle's dataset): ``tr`` escapes
each string it fills in, so a name shows as the characters it is wherever Streamlit renders Markdown (text, captions,
alerts, headings, widget labels, help, progress text). Only Markdown the app wrote itself passes as it is, marked by
wrapping it in ``Markdown``. ``tr_text`` is for places that show text literally (table cells, select options).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import streamlit as st

from lstm_core.errors import LabError
from lstm_core.i18n import Key, t
from ui.session import session


def lang() -> str:
    """The language chosen in the sidebar ('en' or 'zh')."""
    return session.lang


class Markdown(str):
    """Markdown the app wrote on purpose: ``tr`` fills it into a sentence as it is."""


def tr(key: str, **params: object) -> str:
    """``key`` in the session's language, for an element that renders Markdown: every string in ``params`` is shown
    literally (``plain``) unless it is ``Markdown``; numbers keep their format specs."""
    return t(key, lang(), **{k: _literal(v) for k, v in params.items()})


def tr_text(key: str, **params: object) -> str:
    """``key`` in the session's language, for an element that shows text as it is (table cells, select options)."""
    return t(key, lang(), **params)


def file_uploader(label_key: str, key: str, *, limit_mb: int, types: list[str] | None = None, **kwargs: Any) -> Any:
    """``st.file_uploader`` whose drop zone says its own words ("Upload", "50MB per file") in the session's language.

    Streamlit draws them in English whatever the app's language and offers no way to translate them; in another
    language a style scoped to this uploader's key (``.st-key-<key>``) hides them and draws the translation instead.
    """
    upload = st.file_uploader(tr(label_key), type=types, key=key, max_upload_size=limit_mb, **kwargs)
    if lang() != "en":
        limit = tr_text("uploader_limit", mb=limit_mb) + "".join(f" • {t.upper()}" for t in types or [])
        st.html(dropzone_style(key, tr_text("uploader_button"), limit))
    return upload


def dropzone_style(key: str, button: str, limit: str) -> str:
    """A ``<style>`` that shows ``button`` and ``limit`` in place of Streamlit's words in uploader ``key``'s drop zone."""
    zone = f".st-key-{key} [data-testid='stFileUploaderDropzone']"
    shown = (f"{zone} button [data-testid='stMarkdownContainer'] p",
             f"{zone} [data-testid='stFileUploaderDropzoneInstructions'] span")
    rules = [f"{', '.join(shown)} {{ font-size: 0; }}"]
    rules += [f"{sel}::after {{ content: {_css_string(text)}; font-size: 0.875rem; }}"
              for sel, text in zip(shown, (button, limit), strict=True)]
    return "<style>" + " ".join(rules) + "</style>"


def _css_string(text: str) -> str:
    """``text`` as a CSS string literal that cannot end the string or the style element."""
    return '"' + "".join(c if c.isalnum() or c in " .,•·()" or ord(c) > 127 else f"\\{ord(c):x} " for c in text) + '"'


def _literal(value: object) -> object:
    return plain(value) if isinstance(value, str) and not isinstance(value, (Markdown, Key)) else value


# What can start Markdown inside a line (emphasis, code, links and images, HTML, $LaTeX$, tables, headings,
# Streamlit's :colour[...] directives and :icons:, autolinks http://, www. and a@b, entities, "--"), each
# escaped with the backslash CommonMark allows before any punctuation; ordinary names pass unchanged
_MARKDOWN_INLINE = re.compile(r"[\\`*_~\[\]<>$|#:@]|&(?=#?\w+;)|-(?=-)|(?<![\w.])(?i:www)\.")
_MARKDOWN_LINE_START = re.compile(r"^(\d{0,9})([-+.)])(?= |$)")  # "- x", "+ x", "1. x", "1) x" start a list


def plain(text: object) -> str:
    """``text`` shown literally where Streamlit renders Markdown: names from files, bundles and URLs."""
    flat = " ".join(str(text).split())  # no line breaks: nothing can start a block on a later line
    escaped = _MARKDOWN_INLINE.sub(lambda m: m[0][:-1] + "\\." if m[0].endswith(".") else "\\" + m[0], flat)
    return _MARKDOWN_LINE_START.sub(lambda m: m[1] + "\\" + m[2] if m[1] or m[2] in "-+" else m[0], escaped)


def say(err: LabError) -> str:
    """``err``'s sentence in the session's language, its names shown literally (for any Markdown element)."""
    return tr(err.key, **err.params)


def show_error(err: LabError) -> None:
    """A user's mistake as one translated sentence, never a traceback; names in it are shown literally."""
    st.error(say(err), icon=":material/error:")


def attempt(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any | None:
    """Call ``fn``; on LabError show its sentence and return None, so the caller keeps what it had."""
    try:
        return fn(*args, **kwargs)
    except LabError as err:
        show_error(err)
        return None
