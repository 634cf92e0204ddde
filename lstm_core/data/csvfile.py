"""A visitor's CSV file as a Dataset: encoding, separator and decimal convention read from the file, within limits that do not trust it.

The file is read twice: a head of ``HEAD_ROWS`` rows, as text, to find the date and price columns and
the number convention; then only those columns of the whole file. Every cap is checked before the
work it guards, so a hostile upload costs at most one bounded parse.
"""

from __future__ import annotations

import codecs
import csv
import io
import math
import re
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from lstm_core.data.cleaning import tidy
from lstm_core.data.dataset import Dataset, Source
from lstm_core.errors import LabError

MAX_CSV_BYTES = 50 * 1024 * 1024  # matches server.maxUploadSize in .streamlit/config.toml
MAX_CSV_COLUMNS = 64  # a price file has a date and a handful of prices; 10,000 columns cost 49 s of CPU before this cap
MAX_CSV_ROWS = 1_000_000  # four thousand years of trading days: more is not a daily price file
HEAD_ROWS = 2000  # rows read first to choose columns, date format and decimal convention
_HEAD_BYTES = 65536  # the separator is chosen on this much of the file
_SEPARATORS = (",", ";", "\t", "|")
_CHUNK_ROWS = 100_000
MIXED_PARSE_MAX_ROWS = 2000  # rows no common format reads that still go to pandas' slow element-by-element parser  # the whole file is read this many rows at a time, keeping only the columns used

# Column names users' files use, lower-cased with spaces/underscores removed -> our name.
_COLUMN_ALIASES = {
    "open": "Open", "opening": "Open", "openprice": "Open",
    "high": "High", "highprice": "High", "max": "High",
    "low": "Low", "lowprice": "Low", "min": "Low",
    "close": "Close", "closing": "Close", "closeprice": "Close", "last": "Close",
    "price": "Close", "value": "Close", "closelast": "Close",
    "adjclose": "Adj Close", "adjustedclose": "Adj Close", "adjclosing": "Adj Close",
    "volume": "Volume", "vol": "Volume",
}  # fmt: skip
_DATE_NAMES = {"date", "datetime", "time", "timestamp", "day", "dt", "period", "日期", "时间"}
_DATE_FORMATS = (
    "%Y-%m-%d", "%Y/%m/%d", "%m/%d/%Y", "%d/%m/%Y", "%d.%m.%Y", "%Y%m%d", "%d-%b-%Y", "%b %d, %Y",
    "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M",  # intraday exports; without them a million stamps go to the slow parser
    "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M",  # ISO with a T (its zone is stripped first)
    "%Y-%m", "%b %Y", "%B %Y", "%d %b %Y", "%d %B %Y", "%B %d, %Y", "%b-%Y", "%b-%y",  # monthly series, month names
)  # fmt: skip

_UTC_OFFSET = r"(\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)\s*(?:Z|[+-]\d{2}:?\d{2})$"  # after a time of day, so 01-01-2020 keeps its year
# Decoration around a number that says nothing about its decimal mark: currency, percent, spaces
# (French and Swiss files group thousands with narrow/no-break spaces or apostrophes), signs.
_DECORATION = "[\\s\u00a0\u202f$€£¥%'+-]"  # no-break spaces as characters: pyarrow's regex engine has no \u escapes
# What a number's separators prove about the decimal mark. Thousands groups have exactly three
# digits after a 1-3 digit lead, so "1,234" and "1.234" alone prove nothing; everything else does.
_COMMA_DECIMAL = r"^(?:\d{1,3}(?:\.\d{3})+,\d+|\d{1,3}(?:\.\d{3}){2,}|\d+,\d+)$"  # 42,30 1.234,56 1.234.567
_POINT_DECIMAL = r"^(?:\d{1,3}(?:,\d{3})+\.\d+|\d{1,3}(?:,\d{3}){2,}|\d+\.\d+)$"  # 42.30 1,234.56 1,234,567
_AMBIGUOUS = r"^[1-9]\d{0,2}[.,]\d{3}$"  # 1,234 or 1.234: a thousand, or one and a bit


def load_csv(content: bytes, filename: str = "upload.csv") -> Dataset:
    """A user's CSV: finds the date and price columns by name, or one numeric value column."""
    check_csv_size(len(content))
    if not content.strip():
        raise LabError("err_empty_file", name=filename)
    _, max_columns, max_rows = _limits()
    content, encoding = _as_text_bytes(content, filename)
    separator, header_fields = _separator(content[:_HEAD_BYTES].decode(encoding, errors="ignore"))
    if header_fields > max_columns:  # before pandas sees the file: per-column work is what costs
        raise LabError("err_too_many_columns", name=filename, limit=max_columns)
    if len(content) > _HEAD_BYTES and max(content.count(b"\n", 0, _HEAD_BYTES), content.count(b"\r", 0, _HEAD_BYTES)) < 2:
        raise LabError("err_not_csv", name=filename)  # no header and first row in 64 KB: one giant quoted field, say

    head = _read(content, encoding, separator, filename, nrows=HEAD_ROWS)
    names = {col: _normalise(col) for col in head.columns}
    if head.empty:  # a header alone is a table without rows; anything else (JSON, prose) is no table at all
        known = _DATE_NAMES | _COLUMN_ALIASES.keys()
        raise LabError("err_no_rows" if any(n in known for n in names.values()) else "err_not_csv", name=filename)
    if head.shape[1] < 2:
        raise LabError("err_not_csv", name=filename)
    if head.shape[1] > max_columns:  # a header the sniffer saw only part of
        raise LabError("err_too_many_columns", name=filename, limit=max_columns)

    date_col = _find_date_column(head, names)
    if date_col is None:
        raise LabError("err_no_date_column", name=filename)
    columns = {}  # our name -> the file's column
    for col, norm in names.items():
        ours = _COLUMN_ALIASES.get(norm)
        if col != date_col and ours and ours not in columns:
            columns[ours] = col
    candidates = list(columns.values()) or [c for c in head.columns if c != date_col]
    decimal = _decimal_mark(head[candidates], separator, filename)
    value_column = ""
    if "Close" not in columns and "Adj Close" not in columns:
        numeric = [c for c in candidates if names[c] not in ("volume", "vol") and _to_number(head[c], decimal).notna().mean() > 0.9]
        if not numeric:
            raise LabError("err_no_numeric_column", name=filename)
        columns = {"Close": numeric[0]}
        value_column = str(numeric[0])

    table = _read_columns(content, encoding, separator, filename, [date_col, *columns.values()], max_rows)
    del content
    _check_decimal_mark(table[list(columns.values())], decimal, filename)  # rows after the head too
    dates = _parse_dates(table[date_col])
    if dates is None:
        raise LabError("err_no_date_column", name=filename)
    frame = pd.DataFrame({ours: _to_number(table[col], decimal) for ours, col in columns.items()})
    frame.index = pd.DatetimeIndex(dates.values)  # unreadable dates stay NaT here; tidy drops and counts them
    if frame.drop(columns="Volume", errors="ignore").notna().sum().sum() == 0:
        raise LabError("err_no_numeric_column", name=filename)
    frame, quality = tidy(frame)
    quality = replace(quality, value_column=value_column, decimal_comma=decimal == ",")
    stem = Path(filename).stem or "upload"
    return Dataset(name=f"{stem} (CSV)", source=Source.CSV, frame=frame, quality=quality, subject=stem)


# ---------------------------------------------------------------- bytes, encoding, separator


def _limits() -> tuple[int, int, int]:
    """Bytes, columns and rows allowed, read at each call (tests lower them on this module)."""
    return MAX_CSV_BYTES, MAX_CSV_COLUMNS, MAX_CSV_ROWS


def check_csv_size(n_bytes: int) -> None:
    """Refuse a file over MAX_CSV_BYTES, with its size in MB."""
    max_bytes = _limits()[0]
    if n_bytes > max_bytes:
        size_mb = math.ceil(n_bytes / 2**20 * 10) / 10  # rounded up, so it never reads as the limit itself
        raise LabError("err_file_too_big", size_mb=size_mb, limit_mb=max_bytes // 2**20)


def _as_text_bytes(content: bytes, filename: str) -> tuple[bytes, str]:
    """The file as bytes pandas can read, and their encoding: UTF-16 becomes UTF-8, a UTF-8 BOM goes."""
    utf16 = _utf16_codec(content[:4096])
    if utf16:
        try:
            text = content.decode(utf16)
        except UnicodeDecodeError as exc:
            raise LabError("err_not_csv", name=filename) from exc
        if "\x00" in text[:4096]:
            raise LabError("err_not_csv", name=filename)
        return text.encode("utf-8"), "utf-8"
    if b"\x00" in content[:4096]:  # binary: images, spreadsheets, archives
        raise LabError("err_not_csv", name=filename)
    if content.startswith(codecs.BOM_UTF8):
        content = content[len(codecs.BOM_UTF8) :]
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:  # every byte is a latin-1 character: old Excel exports read, if with odd accents
        return content, "latin-1"
    return content, "utf-8"


def _utf16_codec(head: bytes) -> str:
    """'utf-16' for a file that starts with a UTF-16 BOM, a byte order for BOM-less ASCII-range UTF-16, else ''."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    head = head[: len(head) // 2 * 2]
    even, odd = head[0::2], head[1::2]
    if len(head) >= 8 and odd.count(0) >= 0.9 * len(odd) and even.count(0) == 0:
        return "utf-16-le"  # "D\0a\0t\0e\0": text in the Latin range, low byte first
    if len(head) >= 8 and even.count(0) >= 0.9 * len(even) and odd.count(0) == 0:
        return "utf-16-be"
    return ""


def _separator(head: str) -> tuple[str, int]:
    """The separator that splits the header into the most fields and most rows into as many; and that count.

    Counting fields per line, rather than characters, keeps ";" files with decimal commas (``1;42,30``)
    from being split on the comma: their header has no comma at all.
    """
    lines = [line for line in head.splitlines()[:50] if line.strip()]
    best, best_rank, best_fields = ",", (False, 0), 0
    for separator in _SEPARATORS:
        try:
            counts = [len(row) for row in csv.reader(lines, delimiter=separator)]
        except csv.Error:  # an unclosed quote or a stray NUL: not this separator
            continue
        if not counts or counts[0] < 2:
            continue
        rows = counts[1:]
        consistent = sum(c == counts[0] for c in rows) >= 0.9 * len(rows)  # the head's last line may be cut off
        rank = (consistent, counts[0])
        if rank > best_rank:
            best, best_rank, best_fields = separator, rank, counts[0]
    return best, best_fields


def _read(content: bytes, encoding: str, separator: str, filename: str, **kwargs: object) -> pd.DataFrame:
    """Columns as text (numbers are converted once the decimal mark is known); a parse failure is a sentence."""
    try:
        table = pd.read_csv(
            io.BytesIO(content), sep=separator, encoding=encoding, dtype=str, skipinitialspace=True, **kwargs
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeError, ValueError) as exc:
        raise _parse_failure(exc, filename) from exc
    if not isinstance(table.index, pd.RangeIndex):  # pandas took the first column as an index: one field too many
        raise LabError("err_ragged_rows", name=filename, line=2, found=table.shape[1] + 1, expected=table.shape[1])
    return table


def _read_columns(
    content: bytes, encoding: str, separator: str, filename: str, columns: list[str], max_rows: int
) -> pd.DataFrame:
    """``columns`` of the whole file, a chunk at a time: only they are kept, yet every row is checked.

    ``usecols`` would be simpler, but pandas then drops a row's extra fields without a word, and
    ``42,30`` in a comma-separated file would silently become 42.
    """
    parts, rows = [], 0
    try:
        with pd.read_csv(
            io.BytesIO(content), sep=separator, encoding=encoding, dtype=str, skipinitialspace=True, chunksize=_CHUNK_ROWS
        ) as reader:
            for chunk in reader:
                rows += len(chunk)
                if rows > max_rows:  # stop reading: the rest of the file is not looked at
                    raise LabError("err_too_many_rows", name=filename, limit=f"{max_rows:,}")
                parts.append(chunk[columns])
    except LabError:
        raise
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeError, ValueError) as exc:
        raise _parse_failure(exc, filename) from exc
    return pd.concat(parts)


def _parse_failure(exc: Exception, filename: str) -> LabError:
    """The sentence for a file pandas could not parse: rows longer than the header get their own."""
    ragged = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
    if ragged:
        expected, line, found = map(int, ragged.groups())
        return LabError("err_ragged_rows", name=filename, line=line, found=found, expected=expected)
    return LabError("err_not_csv", name=filename)


def _normalise(name: str) -> str:
    return re.sub(r"[\s_\-.*/]", "", str(name)).lower()


# ---------------------------------------------------------------- dates


def _find_date_column(head: pd.DataFrame, names: dict[str, str]) -> str | None:
    """The column named like a date if it reads as dates, else the first column that does."""
    named = next((c for c, n in names.items() if n in _DATE_NAMES), None)
    if named is not None and _parse_dates(head[named]) is not None:
        return named
    for col in head.columns:
        sample = head[col].iloc[:200]  # enough to tell dates from prices; 64 columns of junk stay cheap
        numbers = pd.to_numeric(sample, errors="coerce")
        if numbers.notna().sum() == sample.notna().sum() > 0 and not str(col).lower().startswith("date"):
            continue  # 20200101 is a date only in a column that says so
        if _parse_dates(sample) is not None:
            return col
    return None


def _formats_for(text: pd.Series) -> tuple[str, ...]:
    """The formats to try: those pandas guesses from a few of the data's own stamps first (a form no list holds),
    then the common ones."""
    from pandas.tseries.api import guess_datetime_format

    guessed = []
    for stamp in text.iloc[:: max(1, len(text) // 5)].iloc[:5]:
        with warnings.catch_warnings():  # its hint about dayfirst would reach the command line's stderr
            warnings.simplefilter("ignore")
            fmt = guess_datetime_format(str(stamp))
        if fmt and fmt not in guessed and fmt not in _DATE_FORMATS:
            guessed.append(fmt)
    return (*guessed, *_DATE_FORMATS)


def _parse_dates(values: pd.Series) -> pd.Series | None:
    """Dates from strings in any of the common formats, or None if under 90% of them parse.

    Linear in the rows however the formats are mixed: the next ``HEAD_ROWS`` rows not yet read choose the format that
    reads most of them, which then parses every row still unread in one vectorised pass; this repeats per block
    until nothing is left or no format reads the next block, so a file that switches from ISO to dd.mm.yyyy halfway
    costs two passes. Ties go to the earlier format in ``_DATE_FORMATS``. Only a small remainder goes to pandas'
    element-by-element ``mixed`` parser, which is slow and reads 01.02.2020 month first.
    """
    # keep the local wall-clock date: exports like Yahoo's mix -05:00 and -04:00 across daylight saving.
    # Arrow's regex engine strips a million offsets in a tenth of a second; pandas falls back to Python for \1
    stripped = pa.array(values.astype("str").str.strip().array)
    text = pd.Series(pd.array(pc.replace_substring_regex(stripped, _UTC_OFFSET, r"\1"), dtype="str"), index=values.index)
    text = text.reset_index(drop=True)
    parsed = pd.Series(pd.NaT, index=text.index, dtype="datetime64[us]")  # years 1 to 9999 fit: tidy judges them
    unread = text.notna() & (text.str.len() > 0)
    formats = _formats_for(text[unread])
    for _ in formats:  # each pass retires its format: no row left unread reads with it
        pending = text[unread & parsed.isna()]
        if pending.empty:
            break
        block = pending.iloc[:HEAD_ROWS]
        scores = [pd.to_datetime(block, format=fmt, errors="coerce").notna().sum() for fmt in formats]
        best = int(np.argmax(scores))
        if scores[best] == 0:
            break
        parsed.loc[pending.index] = pd.to_datetime(pending, format=formats[best], errors="coerce").astype(parsed.dtype)
    left = text[unread & parsed.isna()]
    if 0 < len(left) <= MIXED_PARSE_MAX_ROWS:
        try:
            parsed.loc[left.index] = pd.to_datetime(left, format="mixed", errors="coerce").astype(parsed.dtype)
        except (ValueError, OverflowError):  # e.g. zoned and naive stamps together: these rows stay unread
            pass
    parsed.index = values.index
    return parsed if parsed.notna().mean() >= 0.9 else None


# ---------------------------------------------------------------- numbers


def _bare_numbers(values: pd.Series) -> pd.Series:
    """Values stripped of currency, percent, spaces and signs: what is left of a number is digits and marks."""
    return values.dropna().astype("string").str.replace(_DECORATION, "", regex=True)


def _decimal_mark(head: pd.DataFrame, separator: str, filename: str) -> str:
    """'.' or ',' as the file's numbers prove it; a file that proves both, or neither where it matters, is refused."""
    bare = pd.concat([_bare_numbers(head[c]) for c in head.columns])
    comma = _proving(bare, ",")
    point = _proving(bare, ".")
    if len(comma) and len(point):
        raise LabError("err_mixed_decimal_marks", name=filename, example=f"{comma.iloc[0]} / {point.iloc[0]}")
    if len(comma):
        return ","
    if len(point) or separator == ",":  # a comma-separated file writes 1,234 (in quotes) only as a thousand
        return "."
    ambiguous = bare[bare.str.fullmatch(_AMBIGUOUS)]
    if len(ambiguous):
        raise LabError("err_ambiguous_decimal_mark", name=filename, example=ambiguous.iloc[0])
    return "."  # whole numbers only


def _proving(bare: pd.Series, decimal: str) -> pd.Series:
    """The values that can only be read with ``decimal`` as the decimal mark."""
    pattern = _COMMA_DECIMAL if decimal == "," else _POINT_DECIMAL
    return bare[bare.str.fullmatch(pattern) & ~bare.str.fullmatch(_AMBIGUOUS)]


def _check_decimal_mark(table: pd.DataFrame, decimal: str, filename: str) -> None:
    """Refuse a file whose later rows contradict the decimal mark its head proved (or the comma-separated default)."""
    other = "." if decimal == "," else ","
    for col in table.columns:
        values = table[col]
        contradicting = _proving(_bare_numbers(values[values.str.contains(other, regex=False, na=False)]), other)
        if len(contradicting):
            raise LabError("err_mixed_decimal_marks", name=filename, example=contradicting.iloc[0])


def _to_number(values: pd.Series, decimal: str = ".") -> pd.Series:
    """Text to float64 under the file's decimal mark: the other mark groups thousands and is dropped."""
    text = values.astype("str")
    if decimal == ",":
        text = text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    else:
        text = text.str.replace(",", "", regex=False)
    try:  # clean numbers: Arrow's parser reads a million in milliseconds, ten times pandas' speed
        numbers = pc.cast(pa.array(text.array), pa.float64()).to_numpy(zero_copy_only=False)
        return pd.Series(numbers, index=values.index, dtype="float64")
    except pa.ArrowInvalid:  # currency signs, spaces, words: strip the decoration, and what still fails is missing
        cleaned = text.str.replace(_DECORATION.replace("-", ""), "", regex=True)
        return pd.to_numeric(cleaned, errors="coerce").astype("float64")
