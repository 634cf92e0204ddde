"""Tests of lstm_core.data: bundled samples, CSV parsing and refusals, cleaning, synthetic series, Yahoo (patched)."""

from __future__ import annotations

import random
import re
import string
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import make_prices, to_csv_bytes
from curl_cffi.requests.exceptions import ConnectionError as CurlConnectionError
from yfinance.exceptions import YFPricesMissingError, YFRateLimitError, YFTzMissingError

from lstm_core import data
from lstm_core.errors import LabError
from lstm_core.i18n import TABLE
from lstm_core.i18n import data as data_strings

OHLCV = ["Open", "High", "Low", "Close", "Volume"]


def assert_tidy(ds: data.Dataset) -> None:
    """What every loader promises: sorted unique dates, float columns, no holes, enough rows."""
    frame = ds.frame
    assert isinstance(frame.index, pd.DatetimeIndex) and frame.index.tz is None
    assert frame.index.is_monotonic_increasing and not frame.index.has_duplicates
    assert list(frame.columns) == [c for c in OHLCV if c in frame.columns] and "Close" in frame.columns
    assert all(dtype == np.float64 for dtype in frame.dtypes)
    assert np.isfinite(frame.to_numpy()).all()
    assert len(frame) == ds.quality.rows >= data.MIN_ROWS
    assert (ds.quality.start, ds.quality.end) == (f"{frame.index[0]:%Y-%m-%d}", f"{frame.index[-1]:%Y-%m-%d}")


# ---------------------------------------------------------------- bundled samples


@pytest.mark.parametrize(
    ("ticker", "rows", "start", "end", "adjusted"),
    [("MSFT", 7983, "1986-03-13", "2017-11-10", False), ("NVDA", 4012, "1999-01-22", "2014-12-31", True),
     ("SP500", 5031, "1999-01-04", "2018-12-31", False), ("NASDAQ", 5031, "1999-01-04", "2018-12-31", False),
     ("ORCL", 5036, "1995-01-03", "2014-12-31", True), ("YHOO", 4713, "1996-04-12", "2014-12-31", False)],
)
def test_bundled_sample_matches_its_file(ticker: str, rows: int, start: str, end: str, adjusted: bool) -> None:
    ds = data.load_sample(ticker.lower())
    assert_tidy(ds)
    assert (ds.name, ds.source, ds.from_cache) == (f"{ticker} (sample)", "sample", False)
    assert list(ds.frame.columns) == OHLCV and ds.has_ohlc and ds.all_positive
    q = ds.quality
    assert (q.rows, q.start, q.end, q.adjusted) == (rows, start, end, adjusted)
    assert (q.missing_filled, q.missing_dropped, q.duplicates_removed, q.was_unsorted) == (0, 0, 0, False)
    assert q.gap_threshold_days == 4 and q.largest_gap_days == 7  # daily bars; the longest market closure is a week

    raw = pd.read_csv(next(data.SAMPLES_DIR.glob(f"{ticker}_*_daily.csv")), index_col="Date", parse_dates=["Date"])
    close = raw["Adj Close"] if adjusted else raw["Close"]
    np.testing.assert_allclose(ds.frame["Close"].to_numpy(), close.to_numpy(), rtol=0)
    factor = close / raw["Close"]
    np.testing.assert_allclose(ds.frame["Open"].to_numpy(), (raw["Open"] * factor).to_numpy(), rtol=1e-12)


def test_sample_list_and_unknown_sample() -> None:
    assert data.list_samples() == ["MSFT", "NVDA", "SP500", "NASDAQ", "GOOG", "ORCL", "YHOO"]  # the default first
    assert data.load_sample("MSFT").frame["Close"].iloc[-1] == pytest.approx(83.87)
    with pytest.raises(LabError) as err:
        data.load_sample("AAPL")
    assert err.value.key == "err_unknown_sample"
    assert str(err.value) == "There is no bundled sample called 'AAPL'. Available: MSFT, NVDA, SP500, NASDAQ, GOOG, ORCL, YHOO."


# ---------------------------------------------------------------- CSV files people have


def _nasdaq_export(frame: pd.DataFrame) -> bytes:
    """Nasdaq.com's download: newest first, 'Close/Last', dollar signs, US dates."""
    lines = ["Date,Close/Last,Volume,Open,High,Low"]
    for day, row in frame.iloc[::-1].iterrows():
        lines.append(f"{day:%m/%d/%Y},${row.Close:.2f},{row.Volume:.0f},${row.Open:.2f},${row.High:.2f},${row.Low:.2f}")
    return "\n".join(lines).encode()


def _renamed(frame: pd.DataFrame, names: dict[str, str], **kwargs: str) -> bytes:
    return to_csv_bytes(frame.rename(columns=names), **kwargs)


GOOD_CSVS = {
    "iso_ohlcv": (lambda f: to_csv_bytes(f), OHLCV),
    "us_dates_semicolons": (lambda f: to_csv_bytes(f, "%m/%d/%Y", ";"), OHLCV),
    "dotted_dates_tabs": (lambda f: to_csv_bytes(f, "%d.%m.%Y", "\t"), OHLCV),
    "day_first_slashes": (lambda f: to_csv_bytes(f, "%d/%m/%Y"), OHLCV),
    "compact_dates": (lambda f: to_csv_bytes(f, "%Y%m%d"), OHLCV),
    "month_names": (lambda f: to_csv_bytes(f, "%b %d, %Y"), OHLCV),
    "lower_case": (lambda f: _renamed(f, {c: c.lower() for c in OHLCV}), OHLCV),
    "price_only": (lambda f: to_csv_bytes(f[["Close"]].rename(columns={"Close": "PRICE"})).replace(b"Date", b"DATE"), ["Close"]),
    "nasdaq": (_nasdaq_export, OHLCV),
    "bom_crlf": (lambda f: b"\xef\xbb\xbf" + to_csv_bytes(f).replace(b"\n", b"\r\n"), OHLCV),
    "latin1_extra_text": (lambda f: to_csv_bytes(f.assign(Note="café")).decode().encode("latin-1"), OHLCV),
}


@pytest.mark.parametrize("kind", list(GOOD_CSVS))
def test_csv_finds_dates_and_prices_by_name(kind: str) -> None:
    build, columns = GOOD_CSVS[kind]
    frame = make_prices(80)
    ds = data.load_csv(build(frame), f"{kind}.csv")
    assert_tidy(ds)
    assert (ds.name, ds.source) == (f"{kind} (CSV)", "csv")
    assert list(ds.frame.columns) == columns
    assert (ds.quality.rows, ds.quality.start, ds.quality.end) == (80, "2020-01-01", "2020-04-21")
    np.testing.assert_allclose(ds.frame["Close"].to_numpy(), np.arange(100.0, 180.0))
    if "Volume" in columns:
        np.testing.assert_allclose(ds.frame["Volume"].to_numpy(), frame["Volume"].to_numpy())


def test_csv_single_value_column_is_the_series() -> None:
    frame = make_prices(60)[["Close"]].rename(columns={"Close": "temperature"})
    content = frame.assign(station=7).to_csv(index_label="when", date_format="%d/%m/%Y", sep=";").encode()
    ds = data.load_csv(content, "weather.csv")
    assert list(ds.frame.columns) == ["Close"] and not ds.has_ohlc
    assert ds.quality.value_column == "temperature"
    assert ("q_value_column", {"column": "temperature"}) in data.quality_findings(ds.quality)
    np.testing.assert_allclose(ds.frame["Close"].to_numpy(), np.arange(100.0, 160.0))


def test_csv_adj_close_rescales_open_high_low_and_volume() -> None:
    frame = make_prices(80).assign(**{"Adj Close": lambda f: f["Close"] / 2})
    ds = data.load_csv(to_csv_bytes(frame), "yahoo_download.csv")
    assert ds.quality.adjusted
    np.testing.assert_allclose(ds.frame["Close"].to_numpy(), frame["Close"].to_numpy() / 2)
    np.testing.assert_allclose(ds.frame["Open"].to_numpy(), frame["Open"].to_numpy() / 2)
    np.testing.assert_allclose(ds.frame["Volume"].to_numpy(), frame["Volume"].to_numpy() * 2)
    assert ds.quality.volume_adjusted and data.quality_findings(ds.quality) == [("q_adjusted_volume", {})]
    without_volume = data.load_csv(to_csv_bytes(frame.drop(columns="Volume")), "no_volume.csv")
    assert without_volume.quality.adjusted and not without_volume.quality.volume_adjusted
    assert data.quality_findings(without_volume.quality) == [("q_adjusted", {})]


def test_broken_csv_is_refused_with_one_sentence(broken_csv: tuple[str, bytes, str]) -> None:
    name, content, key = broken_csv
    with pytest.raises(LabError) as err:
        data.load_csv(content, name)
    assert err.value.key == key
    for lang in TABLE:
        sentence = err.value.message(lang)
        assert "\n" not in sentence and "Traceback" not in sentence and "{" not in sentence
        assert sentence.endswith((".", "。"))


def test_file_over_the_upload_limit_is_refused_before_parsing() -> None:
    with pytest.raises(LabError) as err:
        data.load_csv(b"x" * (data.MAX_CSV_BYTES + 1), "huge.csv")
    assert err.value.key == "err_file_too_big"
    assert str(err.value) == "The file is 50.1 MB; the limit is 50 MB. Upload a shorter period."
    with pytest.raises(LabError) as err:  # exactly at the limit: refused for what it is, not for its size
        data.load_csv(b"x" * data.MAX_CSV_BYTES, "at_limit.csv")
    assert err.value.key != "err_file_too_big"


def test_too_few_rows_says_how_many() -> None:
    with pytest.raises(LabError) as err:
        data.load_csv(to_csv_bytes(make_prices(data.MIN_ROWS - 1)), "short.csv")
    assert (err.value.key, err.value.params) == ("err_too_few_rows", {"rows": 49, "minimum": 50})
    assert data.load_csv(to_csv_bytes(make_prices(data.MIN_ROWS)), "just_enough.csv").quality.rows == 50


# ---------------------------------------------------------------- number conventions and encodings


def _european(value: float, decimals: int, thousands: bool = False) -> str:
    """``value`` as a German spreadsheet writes it: 1.234,56 (dot groups thousands, comma marks decimals)."""
    text = f"{value:,.{decimals}f}" if thousands else f"{value:.{decimals}f}"
    return text.replace(",", "_").replace(".", ",").replace("_", ".")


def _decimal_comma_file(frame: pd.DataFrame, date_format: str = "%Y-%m-%d", thousands: bool = False) -> bytes:
    lines = ["Date;Open;High;Low;Close;Volume"]
    for day, row in frame.iterrows():
        prices = ";".join(_european(row[c], 6, thousands) for c in ("Open", "High", "Low", "Close"))
        lines.append(f"{day:{date_format}};{prices};{_european(row.Volume, 0, thousands)}")
    return "\n".join(lines).encode()


def _odd_prices(n_days: int = 80) -> pd.DataFrame:
    """Prices whose digits give a misread away: Close = 42.303135 + day / 1000, Volume in the millions."""
    frame = make_prices(n_days)
    close = 42.303135 + np.arange(n_days) / 1000
    return frame.assign(Open=close - 0.5, High=close + 1.25, Low=close - 1.75, Close=close, Volume=frame["Volume"] * 1000)


CONVENTIONS = {
    "semicolon_decimal_comma": (_decimal_comma_file, 1.0, True),
    "dotted_thousands_and_dates": (lambda f: _decimal_comma_file(f.assign(**{c: f[c] * 100 for c in ("Open", "High", "Low", "Close")}), "%d.%m.%Y", thousands=True), 100.0, True),
    "quoted_decimal_comma": (lambda f: "\n".join(["Date,Open,High,Low,Close,Volume"] + [f'{d:%Y-%m-%d},' + ",".join(f'"{_european(r[c], 6)}"' for c in ("Open", "High", "Low", "Close")) + f",{r.Volume:.0f}" for d, r in f.iterrows()]).encode(), 1.0, True),
    "quoted_us_thousands": (lambda f: "\n".join(["Date,Open,High,Low,Close,Volume"] + [f'{d:%Y-%m-%d},' + ",".join(f'"{r[c] * 100:,.6f}"' for c in ("Open", "High", "Low", "Close")) + f',"{r.Volume:,.0f}"' for d, r in f.iterrows()]).encode(), 100.0, False),
}  # fmt: skip


@pytest.mark.parametrize("kind", list(CONVENTIONS))
def test_decimal_convention_is_read_from_the_numbers(kind: str) -> None:
    build, scale, comma = CONVENTIONS[kind]
    frame = _odd_prices()
    ds = data.load_csv(build(frame), f"{kind}.csv")
    assert_tidy(ds)
    assert list(ds.frame.columns) == OHLCV and ds.quality.decimal_comma is comma
    assert ds.frame["Close"].iloc[0] == pytest.approx(42.303135 * scale, rel=1e-12)
    for column in ("Open", "High", "Low", "Close"):
        np.testing.assert_allclose(ds.frame[column].to_numpy(), frame[column].to_numpy() * scale, rtol=1e-12)
    np.testing.assert_array_equal(ds.frame["Volume"].to_numpy(), frame["Volume"].to_numpy())
    assert (ds.quality.start, ds.quality.end, ds.quality.rows) == ("2020-01-01", "2020-04-21", 80)
    assert (("q_decimal_comma", {}) in data.quality_findings(ds.quality)) is comma


def test_the_issue_file_reads_42_303135_not_42_million() -> None:
    content = b"Date;Open;High;Low;Close;Volume\n" + b"".join(
        b"2020-%02d-%02d;41,803135;43,553135;40,553135;42,303135;1234567\n" % (1 + i // 28, 1 + i % 28) for i in range(60)
    )
    ds = data.load_csv(content, "issue.csv")
    assert ds.frame.iloc[0].to_dict() == {"Open": 41.803135, "High": 43.553135, "Low": 40.553135, "Close": 42.303135, "Volume": 1234567.0}


def test_no_break_spaces_and_narrow_spaces_group_thousands() -> None:
    days = make_prices(60).index
    rows = [f"{d:%d/%m/%Y};1\u202f234,5{i % 10};2\u00a0000\u00a0000" for i, d in enumerate(days)]
    ds = data.load_csv(("Date;Close;Volume\n" + "\n".join(rows)).encode(), "french.csv")
    np.testing.assert_array_equal(ds.frame["Close"].to_numpy()[:3], [1234.50, 1234.51, 1234.52])
    assert (ds.frame["Volume"] == 2_000_000.0).all()


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-16-le+bom", "utf-16-be+bom", "utf-8-sig"])
def test_utf16_and_utf8_bom_files_load(encoding: str) -> None:
    codec, _, bom = encoding.partition("+")
    frame = _odd_prices()
    content = to_csv_bytes(frame.assign(Note="日期 café")).decode().encode(codec)
    if bom:
        content = ("\ufeff").encode(codec) + content
    assert (content[:2] in (b"\xff\xfe", b"\xfe\xff")) is (codec == "utf-16" or bool(bom))  # Python's utf-16 writes one
    ds = data.load_csv(content, f"{encoding}.csv")
    assert_tidy(ds)
    assert ds.frame["Close"].iloc[0] == 42.303135 and ds.quality.rows == 80
    np.testing.assert_array_equal(ds.frame["Volume"].to_numpy(), frame["Volume"].to_numpy())


@pytest.mark.parametrize(
    ("content", "key", "params"),
    [
        (b"Date;Close\n" + b"".join(b"2020-%02d-%02d;42,%d\n" % (1 + i // 28, 1 + i % 28, 10 + i) for i in range(60)) + b"2020-04-01;42.5\n",
         "err_mixed_decimal_marks", {"example": "42,10 / 42.5"}),
        (b"Date;Close\n" + b"".join(b"2020-%02d-%02d;1.%03d\n" % (1 + i // 28, 1 + i % 28, 100 + i) for i in range(60)),
         "err_ambiguous_decimal_mark", {"example": "1.100"}),
        (b"Date,Close\n" + b"".join(b"2020-%02d-%02d,42,%d\n" % (1 + i // 28, 1 + i % 28, 10 + i) for i in range(60)),
         "err_ragged_rows", {"line": 2, "found": 3, "expected": 2}),
        (b"Date,Close\n" + b"".join(b"2020-%02d-%02d,42.%d\n" % (1 + i // 28, 1 + i % 28, 10 + i) for i in range(60)) + b"2020-04-01,42,5\n",
         "err_ragged_rows", {"line": 62, "found": 3, "expected": 2}),
        (b"Date,Close\n" + b"".join(b"9999-%02d-%02d,%d\n" % (1 + i // 28, 1 + i % 28, i) for i in range(84)),
         "err_dates_out_of_range", {"n": 84, "example": "9999-01-01", "rows": 0, "minimum": 50}),
    ],
    ids=["mixed_marks", "ambiguous_thousands", "comma_splits_numbers", "late_comma_splits_numbers", "year_9999"],
)  # fmt: skip
def test_numbers_that_could_be_misread_are_refused(content: bytes, key: str, params: dict[str, object]) -> None:
    with pytest.raises(LabError) as err:
        data.load_csv(content, "prices.csv")
    assert (err.value.key, err.value.params) == (key, {"name": "prices.csv", **params} if key != "err_dates_out_of_range" else params)
    for lang in TABLE:
        sentence = err.value.message(lang)
        assert "\n" not in sentence and "{" not in sentence and sentence.endswith((".", "。"))


def test_decimal_marks_changing_after_the_head_are_refused() -> None:
    days = make_prices(data.csvfile.HEAD_ROWS + 100).index
    rows = [f"{d:%Y-%m-%d};{i},5" for i, d in enumerate(days)]
    rows[-1] = f"{days[-1]:%Y-%m-%d};1.5"  # one row far past the head writes a decimal point
    with pytest.raises(LabError) as err:
        data.load_csv(("Date;Close\n" + "\n".join(rows)).encode(), "late.csv")
    assert (err.value.key, err.value.params) == ("err_mixed_decimal_marks", {"name": "late.csv", "example": "1.5"})
    rows[-1] = f"{days[-1]:%Y-%m-%d};1.234,5"  # a thousands dot agrees with decimal commas
    assert data.load_csv(("Date;Close\n" + "\n".join(rows)).encode(), "late.csv").frame["Close"].iloc[-1] == 1234.5


def test_a_few_rows_in_year_9999_are_dropped_and_counted() -> None:
    frame = make_prices(80).reset_index()
    frame["Date"] = frame["Date"].dt.strftime("%Y-%m-%d")
    frame.loc[[3, 4], "Date"] = ["9999-01-01", "2201-06-30"]
    ds = data.load_csv(frame.to_csv(index=False).encode(), "typos.csv")
    assert (ds.quality.rows, ds.quality.bad_dates_dropped, ds.quality.end) == (78, 2, "2020-04-21")


# ---------------------------------------------------------------- limits that do not trust the file


def test_columns_are_capped_before_any_per_column_work() -> None:
    columns = data.MAX_CSV_COLUMNS
    at_limit = make_prices(60).assign(**{f"extra{i}": 1.5 for i in range(columns - 6)})
    assert data.load_csv(to_csv_bytes(at_limit), "wide.csv").quality.rows == 60  # 64 columns with the date
    with pytest.raises(LabError) as err:
        data.load_csv(to_csv_bytes(at_limit.assign(one_more=2.5)), "wider.csv")
    assert (err.value.key, str(err.value)) == (
        "err_too_many_columns", "'wider.csv' has more than 64 columns: keep the date and price columns and upload it again."
    )


def test_rows_are_capped_with_a_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(data.csvfile, "MAX_CSV_ROWS", 250_000)
    monkeypatch.setattr(data.csvfile, "_CHUNK_ROWS", 1_000)
    days = pd.date_range("1900-01-01", periods=250_001, freq="h")
    content = ("Date,Close\n" + "".join(f"{d:%Y-%m-%d %H:%M},{i % 97}.25\n" for i, d in enumerate(days))).encode()
    with pytest.raises(LabError) as err:
        data.load_csv(content, "minutes.csv")
    assert (err.value.key, err.value.params) == ("err_too_many_rows", {"name": "minutes.csv", "limit": "250,000"})
    assert str(err.value) == "'minutes.csv' has more than 250,000 rows, the most a file may have: upload a shorter period or weekly bars."
    assert data.load_csv(content[: content.rindex(b"\n1928")], "minutes.csv").quality.rows == 250_000


def _hostile_files(folder: Path) -> dict[str, Path]:
    """Uploads built to cost time or memory; each within the 50 MB byte cap."""
    def write(name: str, text: str) -> Path:
        path = folder / name
        path.write_text(text)
        assert path.stat().st_size <= data.MAX_CSV_BYTES
        return path

    junk_row = ",".join(["xy"] * 64) + "\n"
    days = pd.date_range("1900-01-01", periods=data.MAX_CSV_ROWS - 1, freq="h").strftime("%Y-%m-%d %H:%M")
    return {
        "10000_columns_1_row": write("wide.csv", ",".join(f"c{i}" for i in range(10_000)) + "\n" + ",".join("x" * 10_000) + "\n"),
        "64_columns_of_junk": write("junk.csv", "Date," + ",".join(f"c{i}" for i in range(63)) + "\n" + junk_row * (49 * 2**20 // len(junk_row))),
        "3_million_rows": write("long.csv", "Date,Close\n" + "2020-01-01,1.5\n" * 3_000_000),
        "one_49_MB_field": write("quote.csv", 'Date,Close\n2020-01-01,"' + "a" * (49 * 2**20) + '"\n'),
        "a_million_real_rows": write("million.csv", "Date,Close\n" + "".join(f"{d},{i % 9973}.{i % 89:02d}\n" for i, d in enumerate(days))),
    }  # fmt: skip


HOSTILE = {  # what each file gets, and the most CPU seconds and MB of peak memory it may cost
    "10000_columns_1_row": ("err_too_many_columns", 0.5, 50),
    "64_columns_of_junk": ("err_no_date_column", 3.0, 300),
    "3_million_rows": ("err_too_many_rows", 3.0, 300),
    "one_49_MB_field": ("err_not_csv", 0.5, 150),
    "a_million_real_rows": ("loaded 999999", 6.0, 500),
}

_MEASURE = """
import re, sys, time
from lstm_core import data
from lstm_core.errors import LabError

def status_kb(field):
    return int(re.search(field + r":\\s+(\\d+) kB", open("/proc/self/status").read()).group(1))

content = open(sys.argv[1], "rb").read()
open("/proc/self/clear_refs", "w").write("5")  # Linux: the high-water mark restarts from what is resident now
before = status_kb("VmRSS")
started = time.process_time()
try:
    outcome = f"loaded {data.load_csv(content, 'upload.csv').quality.rows}"
except LabError as err:
    outcome = err.key
print(outcome, time.process_time() - started, (status_kb("VmHWM") - before) / 1024)
"""


@pytest.fixture(scope="module")
def hostile_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return _hostile_files(tmp_path_factory.mktemp("hostile"))


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_files_cost_bounded_time_and_memory(name: str, hostile_files: dict[str, Path]) -> None:
    """Each in a fresh interpreter; the peak is Linux's resident high-water mark (VmHWM), reset just before the call."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(hostile_files[name])], cwd=Path(data.__file__).parents[2],
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    *outcome, cpu_s, peak_mb = done.stdout.split()
    expected, max_cpu_s, max_peak_mb = HOSTILE[name]
    assert " ".join(outcome) == expected
    assert float(cpu_s) < max_cpu_s and float(peak_mb) < max_peak_mb, (cpu_s, peak_mb)


# ---------------------------------------------------------------- fixed and reported, not refused


def _with_cells(frame: pd.DataFrame, cells: dict[tuple[int, str], str]) -> bytes:
    text = frame.astype(object)
    for (row, col), value in cells.items():
        text.iloc[row, text.columns.get_loc(col)] = value
    return to_csv_bytes(text)


def test_duplicate_dates_keep_the_last_row_and_are_counted() -> None:
    frame = make_prices(80)
    repeats = frame.iloc[10:15].assign(Close=lambda f: f["Close"] + 1000)
    ds = data.load_csv(to_csv_bytes(pd.concat([frame, repeats])), "dups.csv")
    assert_tidy(ds)
    assert (ds.quality.rows, ds.quality.duplicates_removed, ds.quality.was_unsorted) == (80, 5, True)
    np.testing.assert_allclose(ds.frame["Close"].iloc[10:15].to_numpy(), np.arange(1110.0, 1115.0))
    assert ("q_duplicates", {"n": 5}) in data.quality_findings(ds.quality)


def test_unsorted_dates_are_sorted_and_reported() -> None:
    ds = data.load_csv(to_csv_bytes(make_prices(80).sample(frac=1.0, random_state=3)), "shuffled.csv")
    assert_tidy(ds)
    assert ds.quality.was_unsorted and ds.quality.duplicates_removed == 0
    np.testing.assert_allclose(ds.frame["Close"].to_numpy(), np.arange(100.0, 180.0))
    assert data.quality_findings(ds.quality) == [("q_unsorted", {})]


def test_missing_and_infinite_values_are_filled_forward_and_counted() -> None:
    frame = make_prices(80)
    cells = {(5, "Close"): "", (6, "Close"): "inf", (20, "High"): "NaN", (40, "Volume"): "-inf"}
    cells |= {(30, c): "" for c in OHLCV}  # one row with nothing in it
    ds = data.load_csv(_with_cells(frame, cells), "holes.csv")
    assert_tidy(ds)
    q = ds.quality
    assert (q.rows, q.missing_filled, q.missing_dropped) == (79, 4, 1)
    assert ds.frame["Close"].iloc[5] == ds.frame["Close"].iloc[6] == 104.0  # day 4's close carried forward
    assert ds.frame["High"].iloc[20] == frame["High"].iloc[19]
    assert ("q_missing", {"filled": 4, "dropped": 1}) in data.quality_findings(q)


def test_leading_rows_without_a_price_are_dropped() -> None:
    ds = data.load_csv(_with_cells(make_prices(80), {(i, "Close"): "" for i in range(3)}), "late_start.csv")
    assert (ds.quality.rows, ds.quality.missing_dropped, ds.quality.missing_filled) == (77, 3, 0)
    assert ds.quality.start == "2020-01-06"


def test_unreadable_and_impossible_dates_are_dropped_and_counted() -> None:
    frame = make_prices(80).reset_index()
    frame["Date"] = frame["Date"].dt.strftime("%Y-%m-%d")
    frame.loc[7, "Date"], frame.loc[8, "Date"] = "2020-13-45", "0001-01-01"
    ds = data.load_csv(frame.to_csv(index=False).encode(), "typos.csv")
    assert_tidy(ds)
    assert (ds.quality.rows, ds.quality.bad_dates_dropped) == (78, 2)
    assert ("q_bad_dates", {"n": 2}) in data.quality_findings(ds.quality)


def test_mostly_empty_column_is_left_out_not_invented() -> None:
    frame = make_prices(80)
    ds = data.load_csv(_with_cells(frame, {(i, "Volume"): "" for i in range(0, 80, 3)} | {(i, "Volume"): "" for i in range(1, 80, 3)}), "v.csv")
    assert list(ds.frame.columns) == ["Open", "High", "Low", "Close"]
    assert ds.quality.columns_dropped == ("Volume",) and ds.quality.missing_filled == 0


def test_timestamps_with_changing_utc_offsets_keep_the_local_date() -> None:
    days = pd.bdate_range("2020-02-03", periods=60)  # spans the US switch to daylight saving on 8 March
    lines = ["Date,Close"] + [f"{d:%Y-%m-%d} 00:00:00{'-05:00' if d < pd.Timestamp('2020-03-09') else '-04:00'},{i + 1}" for i, d in enumerate(days)]
    ds = data.load_csv("\n".join(lines).encode(), "yfinance_to_csv.csv")
    assert list(ds.frame.index) == list(days)


def test_non_positive_prices_are_counted_not_refused() -> None:
    frame = pd.DataFrame({"Close": np.arange(-5.0, 75.0)}, index=pd.bdate_range("2020-01-01", periods=80, name="Date"))
    ds = data.load_csv(to_csv_bytes(frame), "spread.csv")
    assert ds.quality.nonpositive_prices == 6 and not ds.all_positive


@pytest.mark.parametrize(
    ("freq", "drop", "threshold", "gaps", "largest"),
    [("D", slice(0, 0), 4, 0, 1), ("D", slice(30, 40), 4, 1, 11), ("W-MON", slice(0, 0), 14, 0, 7), ("W-MON", slice(30, 32), 14, 1, 21)],
)
def test_gaps_are_measured_against_the_bar_interval(freq: str, drop: slice, threshold: int, gaps: int, largest: int) -> None:
    frame = make_prices(90, freq=freq)
    frame = frame.drop(frame.index[drop])
    _, q = data.tidy(frame)
    assert (q.gap_threshold_days, q.gaps, q.largest_gap_days) == (threshold, gaps, largest)


def test_clean_series_has_no_findings() -> None:
    assert data.quality_findings(data.load_synthetic("sine", 200).quality) == []


def test_fuzzed_files_raise_only_lab_errors() -> None:
    """Randomly damaged copies of a good file: each loads tidy or is refused with a sentence, never a crash."""
    rng = random.Random(7)
    base = to_csv_bytes(make_prices(120)).decode()
    tokens = [",", ";", "\t", '"', "\n", "NaN", "inf", "1e400", "x", "2020-13-45", "0001-01-01", "", "\x00", "+05:00", "$", "1,000"]
    outcomes: dict[str, int] = {}
    for _ in range(300):
        text = list(base)
        for _ in range(rng.randint(1, 25)):
            pos = rng.randrange(len(text))
            action = rng.random()
            if action < 0.4:
                text.insert(pos, rng.choice(tokens))
            elif action < 0.7:
                del text[pos : pos + rng.randint(1, 20)]
            else:
                text[pos] = rng.choice(tokens + list(string.printable))
        try:
            assert_tidy(data.load_csv("".join(text).encode(), "fuzz.csv"))
            outcomes["loaded"] = outcomes.get("loaded", 0) + 1
        except LabError as err:
            outcomes[err.key] = outcomes.get(err.key, 0) + 1
    assert outcomes.get("loaded", 0) >= 30 and sum(outcomes.values()) == 300


# ---------------------------------------------------------------- synthetic


@pytest.mark.parametrize("kind", data.SYNTHETIC_KINDS)
@pytest.mark.parametrize("seed", [0, 11])
def test_synthetic_series_are_seeded_business_day_series(kind: str, seed: int) -> None:
    ds = data.load_synthetic(kind, 300, seed)
    assert_tidy(ds)
    assert (ds.name, ds.source, list(ds.frame.columns)) == (f"synthetic {kind} (seed {seed})", "synthetic", ["Close"])
    assert ds.frame.index[0] == pd.Timestamp("2015-01-01") and (ds.frame.index.day_of_week < 5).all()
    assert ds.frame.equals(data.load_synthetic(kind, 300, seed).frame)
    assert not np.allclose(ds.frame["Close"], data.load_synthetic(kind, 300, seed + 1).frame["Close"])
    assert ds.all_positive


def test_sine_has_a_50_day_period() -> None:
    close = data.load_synthetic("sine", 1000, seed=0, noise=0.5).frame["Close"].to_numpy()
    spectrum = np.abs(np.fft.rfft(close - close.mean()))
    assert spectrum.argmax() == 1000 // 50
    clean = data.load_synthetic("sine", 1000, seed=0, noise=0.0).frame["Close"].to_numpy()
    np.testing.assert_allclose(clean, 100 + 10 * np.sin(2 * np.pi * np.arange(1000) / 50), rtol=0, atol=1e-12)


def test_random_walk_log_returns_have_the_stated_drift_and_volatility() -> None:
    log_returns = np.diff(np.log(data.load_synthetic("random_walk", 20_000, seed=1).frame["Close"].to_numpy()))
    assert log_returns.std() == pytest.approx(0.015, rel=0.03)
    assert abs(log_returns.mean() - 0.0003) < 4 * 0.015 / np.sqrt(len(log_returns))


def test_ar2_coefficients_are_recovered_by_least_squares() -> None:
    x = data.load_synthetic("ar2", 20_000, seed=2).frame["Close"].to_numpy() - 100
    design = np.column_stack([x[1:-1], x[:-2]])  # [x(t-1), x(t-2)] predicts x(t)
    phi, *_ = np.linalg.lstsq(design, x[2:], rcond=None)
    np.testing.assert_allclose(phi, [0.6, 0.3], atol=0.03)


@pytest.mark.parametrize(("kind", "n_days", "key"), [("garch", 300, "err_unknown_synthetic"), ("sine", 49, "err_too_few_rows")])
def test_synthetic_bad_settings(kind: str, n_days: int, key: str) -> None:
    with pytest.raises(LabError) as err:
        data.load_synthetic(kind, n_days)
    assert err.value.key == key


# ---------------------------------------------------------------- Yahoo Finance, download patched


class FakeYahoo:
    """Stands in for download_yahoo: answers from a script of frames and exceptions, records every call."""

    def __init__(self) -> None:
        self.answers: list[pd.DataFrame | BaseException] = []
        self.calls: list[tuple[str, str, str, str]] = []

    def __call__(self, ticker: str, start: str, end: str, interval: str) -> pd.DataFrame:
        self.calls.append((ticker, start, end, interval))
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, BaseException):
            raise answer
        return answer


def yahoo_frame(n_days: int = 120, freq: str = "B") -> pd.DataFrame:
    """What yfinance's history() returns: New York midnight stamps, OHLCV."""
    return make_prices(n_days, freq=freq).tz_localize("America/New_York")


@pytest.fixture
def yahoo(monkeypatch: pytest.MonkeyPatch) -> FakeYahoo:
    fake = FakeYahoo()
    monkeypatch.setattr(data.sources, "download_yahoo", fake)
    return fake


def test_download_is_cached_on_disk_then_served_offline(yahoo: FakeYahoo, isolated_cache: Path) -> None:
    yahoo.answers = [yahoo_frame(120)]
    fresh = data.load_yahoo("msft", "2020-01-01", "2020-07-01")
    assert_tidy(fresh)
    assert (fresh.name, fresh.source, fresh.from_cache, fresh.quality.rows) == ("MSFT (Yahoo)", "yahoo", False, 120)
    assert yahoo.calls == [("MSFT", "2020-01-01", "2020-07-01", "1d")]
    saved = isolated_cache / "yahoo" / "MSFT_1d_2020-01-01_2020-07-01.csv"
    assert saved.is_file() and data.cached_copies("MSFT") == [saved]

    yahoo.answers = [OSError("network is unreachable")]
    again = data.load_yahoo("MSFT", "2020-01-01", "2020-07-01")
    assert len(yahoo.calls) == 1  # the same request never went to the network again
    assert again.from_cache and again.name == "MSFT (Yahoo, saved copy)"
    pd.testing.assert_frame_equal(again.frame, fresh.frame, check_freq=False)


@pytest.mark.parametrize(
    "answer",
    [YFPricesMissingError("XYZQ", "(1d 2020-01-01 -> 2020-07-01)"), YFTzMissingError("XYZQ"), pd.DataFrame()],
    ids=["prices_missing", "tz_missing", "empty_frame"],
)
def test_unknown_ticker(yahoo: FakeYahoo, answer: object) -> None:
    yahoo.answers = [answer]
    with pytest.raises(LabError) as err:
        data.load_yahoo("XYZQ", "2020-01-01", "2020-07-01")
    assert err.value.key == "err_yahoo_no_prices"
    assert str(err.value) == "No prices for 'XYZQ': check the ticker symbol and the dates."
    assert not data.cached_copies("XYZQ")


@pytest.mark.parametrize(
    ("failure", "key"),
    [
        (OSError("no route to host"), "err_yahoo_offline"),
        (CurlConnectionError("curl: (6) Could not resolve host: query2.finance.yahoo.com"), "err_yahoo_offline"),
        (YFRateLimitError(), "err_yahoo_rate_limited"),
    ],
    ids=["oserror", "curl_offline", "rate_limit"],
)
def test_offline_or_throttled_with_and_without_a_saved_copy(yahoo: FakeYahoo, failure: Exception, key: str) -> None:
    yahoo.answers = [failure]
    with pytest.raises(LabError) as err:
        data.load_yahoo("MSFT", "2021-01-01", "2021-07-01")
    assert (err.value.key, err.value.params) == (key, {"ticker": "MSFT", "saved": 0})
    with pytest.raises(LabError):  # no copy: the fallback has nothing to offer either
        data.load_yahoo("MSFT", "2021-01-01", "2021-07-01", offline_fallback=True)

    yahoo.answers = [yahoo_frame(120)]
    earlier = data.load_yahoo("MSFT", "2020-01-01", "2020-07-01")  # a different period, saved earlier
    yahoo.answers = [failure]
    with pytest.raises(LabError) as err:
        data.load_yahoo("MSFT", "2021-01-01", "2021-07-01")
    assert (err.value.key, err.value.params["saved"]) == (f"{key}_saved", 1)
    assert "saved on disk" in str(err.value)
    fallback = data.load_yahoo("MSFT", "2021-01-01", "2021-07-01", offline_fallback=True)
    assert fallback.from_cache and fallback.quality.rows == earlier.quality.rows == 120


@pytest.mark.parametrize(
    ("ticker", "start", "end", "interval", "key"),
    [
        ("MS FT", "2020-01-01", "2020-07-01", "1d", "err_bad_ticker"),
        ("", "2020-01-01", "2020-07-01", "1d", "err_empty_ticker"),
        ("MSFT", "2020-07-01", "2020-01-01", "1d", "err_bad_dates"),
        ("MSFT", "2020-01-01", "not a date", "1d", "err_bad_dates"),
        ("MSFT", "2020-01-01", "2020-07-01", "1h", "err_bad_interval"),
    ],
)
def test_bad_requests_never_reach_the_network(yahoo: FakeYahoo, ticker: str, start: str, end: str, interval: str, key: str) -> None:
    with pytest.raises(LabError) as err:
        data.load_yahoo(ticker, start, end, interval)
    assert err.value.key == key and yahoo.calls == []


def test_too_short_download_is_refused_and_not_saved(yahoo: FakeYahoo) -> None:
    yahoo.answers = [yahoo_frame(20)]
    with pytest.raises(LabError) as err:
        data.load_yahoo("MSFT", "2020-01-01", "2020-02-01")
    assert (err.value.key, err.value.params["rows"]) == ("err_too_few_rows", 20)
    assert data.cached_copies("MSFT") == []


def test_weekly_bars(yahoo: FakeYahoo) -> None:
    yahoo.answers = [yahoo_frame(100, freq="W-MON")]
    ds = data.load_yahoo("^GSPC", "2018-01-01", "2020-01-01", "1wk")
    assert yahoo.calls == [("^GSPC", "2018-01-01", "2020-01-01", "1wk")]
    assert (ds.quality.rows, ds.quality.gap_threshold_days, ds.quality.gaps) == (100, 14, 0)
    assert data.cached_copies("^GSPC", "1wk") and not data.cached_copies("^GSPC", "1d")


def test_corrupt_saved_copy_is_replaced_by_a_new_download(yahoo: FakeYahoo, isolated_cache: Path) -> None:
    saved = isolated_cache / "yahoo" / "MSFT_1d_2020-01-01_2020-07-01.csv"
    saved.parent.mkdir(parents=True)
    saved.write_text("this is not what we wrote\n")
    yahoo.answers = [yahoo_frame(120)]
    ds = data.load_yahoo("MSFT", "2020-01-01", "2020-07-01")
    assert not ds.from_cache and len(yahoo.calls) == 1
    assert saved.read_text().startswith("Date,Open,High,Low,Close,Volume")


def test_cache_location_and_clearing(yahoo: FakeYahoo, isolated_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert data.cache_dir() == isolated_cache / "yahoo"
    yahoo.answers = [yahoo_frame(120)]
    data.load_yahoo("MSFT", "2020-01-01", "2020-07-01")
    data.load_yahoo("NVDA", "2020-01-01", "2020-07-01")
    assert data.clear_cache() == 2 and data.cached_copies("MSFT") == []
    monkeypatch.delenv("LSTM_LAB_CACHE")
    monkeypatch.setenv("HOME", str(isolated_cache / "home"))
    assert data.cache_dir() == isolated_cache / "home" / ".cache" / "lstm-lab" / "yahoo"


def test_download_yahoo_asks_yfinance_for_adjusted_bars(monkeypatch: pytest.MonkeyPatch) -> None:
    import yfinance

    asked: dict[str, object] = {}

    class FakeTicker:
        def __init__(self, symbol: str) -> None:
            asked["symbol"] = symbol

        def history(self, **kwargs: object) -> pd.DataFrame:
            asked.update(kwargs)
            return yahoo_frame(60)

    monkeypatch.setattr(yfinance, "Ticker", FakeTicker)
    # set, not monkeypatched: yfinance's config object cannot delete a setting it did not have yet, and
    # download_yahoo leaves it False in every process anyway
    yfinance.config.debug.hide_exceptions = True
    raw = data.download_yahoo("MSFT", "2020-01-01", "2020-04-01", "1wk")
    assert len(raw) == 60
    assert asked == {
        "symbol": "MSFT", "start": "2020-01-01", "end": "2020-04-01", "interval": "1wk",
        "auto_adjust": True, "actions": False,
    }  # fmt: skip
    assert yfinance.config.debug.hide_exceptions is False  # offline must not read as "possibly delisted"


# ---------------------------------------------------------------- command-line sources


def test_load_source(yahoo: FakeYahoo, tmp_path: Path) -> None:
    assert data.load_source("sample:NVDA").name == "NVDA (sample)"
    assert data.load_source("synthetic:ar2").name == "synthetic ar2 (seed 0)"
    csv = tmp_path / "mine.csv"
    csv.write_bytes(to_csv_bytes(make_prices(70)))
    assert data.load_source(str(csv)).quality.rows == 70
    yahoo.answers = [yahoo_frame(300)]
    assert data.load_source("yahoo:msft").name == "MSFT (Yahoo)"
    with pytest.raises(LabError) as err:
        data.load_source("nowhere:at all")
    assert err.value.key == "err_bad_source"


# ---------------------------------------------------------------- sentences


def test_every_error_and_finding_has_both_languages_with_the_same_placeholders() -> None:
    source = "".join(path.read_text() for path in sorted(Path(data.__file__).parent.glob("*.py")))  # the whole package
    keys = set(re.findall(r'LabError\(\s*"(\w+)"', source)) | set(re.findall(r'\("(q_\w+)", \{', source))
    keys |= {f"{k}_saved" for k in ("err_yahoo_offline", "err_yahoo_rate_limited")}
    assert len(keys) >= 30
    for key in keys:
        assert key in TABLE["en"] and key in TABLE["zh"], key
    for key, english in data_strings.EN.items():
        assert set(re.findall(r"\{(\w+)", english)) == set(re.findall(r"\{(\w+)", data_strings.ZH[key])), key


@pytest.mark.parametrize(
    ("load", "english", "chinese"),
    [
        (lambda: data.load_sample("nvda"), "NVDA (sample)", "NVDA（内置样本）"),
        (lambda: data.load_csv(to_csv_bytes(make_prices(60)), "my prices.csv"), "my prices (CSV)", "my prices（CSV）"),
        (lambda: data.load_synthetic("random_walk", 100, seed=4), "Random walk (synthetic, seed 4)", "随机游走（合成序列，种子 4）"),
    ],
    ids=["sample", "csv", "synthetic"],
)
def test_dataset_title_is_translated_and_name_stays_stable(load, english: str, chinese: str) -> None:
    ds = load()
    assert (ds.title("en"), ds.title("zh")) == (english, chinese)
    assert ds.name in {"NVDA (sample)", "my prices (CSV)", "synthetic random_walk (seed 4)"}  # runs are filed under it


def test_yahoo_titles(yahoo: FakeYahoo) -> None:
    yahoo.answers = [yahoo_frame(120)]
    fresh = data.load_yahoo("MSFT", "2020-01-01", "2020-07-01")
    saved = data.load_yahoo("MSFT", "2020-01-01", "2020-07-01")
    assert (fresh.title("zh"), saved.title("en")) == ("MSFT（雅虎财经）", "MSFT (Yahoo, saved copy)")



def test_column_names_and_sample_origins_have_both_languages() -> None:
    for column in ("Date", *data.FRAME_COLUMNS):  # the data preview's headers
        assert TABLE["en"][f"col_{column}"] == column and TABLE["zh"][f"col_{column}"] != column
    assert set(data.SAMPLE_ORIGINS) == set(data.list_samples())
    for ticker, url in data.SAMPLE_ORIGINS.items():
        assert url.startswith("https://") and " " not in url
        assert ticker in TABLE["en"][f"sample_origin_{ticker}"] and ticker in TABLE["zh"][f"sample_origin_{ticker}"]


def test_dates_that_change_format_halfway_are_read_as_written_in_one_pass_per_format(monkeypatch):
    """The reported upload: half ISO, half dd.mm.yyyy. pandas' ``mixed`` parser read 03.02.2001 as March 2nd (5,424
    of 99,000 dates wrong) and element by element; each block's format now parses every row still unread at once."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    from csv_dates import mixed_dates_csv

    content, dates = mixed_dates_csv(0.5)
    calls = []
    real = pd.to_datetime

    def counted(values, *args, **kwargs):
        calls.append((kwargs.get("format"), len(values)))
        return real(values, *args, **kwargs)

    monkeypatch.setattr(pd, "to_datetime", counted)
    loaded = data.load_csv(content, "mixed.csv")
    assert loaded.frame.index.equals(pd.DatetimeIndex(dates, name=loaded.frame.index.name))
    assert loaded.quality.bad_dates_dropped == 0 and not loaded.quality.was_unsorted
    whole = [fmt for fmt, n in calls if n >= len(dates) // 2]  # passes over half the rows or more
    assert "mixed" not in {fmt for fmt, _ in calls}
    assert whole.count("%Y-%m-%d") == 1 and whole.count("%d.%m.%Y") == 1 and len(whole) == 2


_MONTHS = pd.date_range("1749-01-01", periods=2820, freq="MS")  # a monthly series older than any stock
_DAYS = pd.bdate_range("2000-01-03", periods=2600)


@pytest.mark.parametrize(("header", "stamps", "first"), [
    (",Value", [m.strftime("%b %Y") for m in _MONTHS], "1749-01-01"),  # an unnamed index column: "Jan 1749"
    ("Date,Close", [m.strftime("%Y-%m") for m in _MONTHS], "1749-01-01"),  # year-month
    ("Date,Close", [m.strftime("%B %Y") for m in _MONTHS], "1749-01-01"),  # a month's name, no day
    ("Date,Close", [d.strftime("%d %B %Y") for d in _DAYS], "2000-01-03"),  # a month's name with a day
    ("Date,Close", [d.strftime("%Y-%m-%dT%H:%M:%S") + "+02:00" for d in _DAYS], "2000-01-03"),  # ISO, a T and a zone
])
def test_the_dates_real_files_use_read_whole_and_in_order(header, stamps, first):
    """A monthly file dated "Jan 1749" once read as having no date column, and rows before 1800 were dropped."""
    values = np.abs(np.sin(np.arange(len(stamps)) / 30)) * 100 + 1
    text = header + "\n" + "".join(f"{s},{v:.3f}\n" for s, v in zip(stamps, values, strict=True))
    ds = data.load_csv(text.encode(), "dated.csv")
    assert len(ds.frame) == len(stamps) and ds.frame.index.is_monotonic_increasing
    assert ds.frame.index[0] == pd.Timestamp(first) and ds.quality.bad_dates_dropped == 0
    np.testing.assert_allclose(ds.frame["Close"].to_numpy(), np.round(values, 3))


def test_guessing_a_date_format_says_nothing_on_stderr():
    """pandas' guess warns about day-first dates; on the command line that would be a second line on stderr."""
    import warnings

    text = "Date,Close\n" + "".join(f"{d.strftime('%d.%m.%Y')},{100 + k}\n" for k, d in enumerate(_DAYS[:300]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = data.load_csv(text.encode(), "dayfirst.csv")
    assert len(ds.frame) == 300 and ds.frame.index[12] == _DAYS[12]
