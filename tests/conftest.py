"""Shared fixtures: no network, a private download cache, price files (good and broken), the app, a real browser."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # plain `pytest` (not `python -m pytest`) does not put the repo on the path
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402
import torch  # noqa: E402
import yfinance  # noqa: E402
from browser import CHROMIUM, launch_chromium, streamlit_server  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

from tests.helpers import need_ray  # noqa: E402

torch.set_num_threads(1)  # as app.py and every worker train: the same in each test process whatever ran in it before

# module fixtures that take seconds (a trained run, a process that loads every hostile bundle, a private Ray cluster),
# by file: made in both test processes they cost 10-15 s of CPU each (measured with --durations=0), and two private
# clusters at once would double their memory. The tests that use one stay in one process.
KEEP_TOGETHER: dict[str, frozenset[str]] = {
    "tests/test_bundles_hostile.py": frozenset({"run", "measured"}),
    "tests/test_forecast_cli.py": frozenset({"bundle", "ran", "refused"}),
    "tests/test_cli.py": frozenset({"trained", "refused", "refused_before_training"}),
    "tests/test_tune.py": frozenset({"refused", "tune_refused"}),
    "tests/test_ray_failures.py": frozenset({"cluster"}),
}


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook, which reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Browser tests last: quick failures show first, and no AppTest runs beside a live Playwright loop.

    .ci/run's two test processes (pytest-xdist, ``--dist loadgroup``) take tests one by one, whatever their file:
    keeping each file's tests, or all the Ray tests, in one process was slower (paired runs of the non-browser part:
    390 s one by one, 400 s by file, 436 s with the Ray tests in one process). A module fixture may then be made in
    both processes; the tests that use one of the few that cost seconds stay together (``KEEP_TOGETHER``).
    """
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)
    for item in items:
        path = item.nodeid.split("::")[0]
        if KEEP_TOGETHER.get(path, frozenset()) & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.xdist_group(path))


# ---------------------------------------------------------------- isolation


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Downloads go to a fresh folder per test (LSTM_LAB_CACHE), never to ~/.cache/lstm-lab; workspaces likewise."""
    cache = tmp_path / "lstm-lab-cache"
    monkeypatch.setenv("LSTM_LAB_CACHE", str(cache))
    monkeypatch.setenv("LSTM_LAB_DATA", str(tmp_path / "lstm-lab-data"))
    return cache


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """yfinance refuses to run: a test that forgot to patch the download fails instead of going online.

    pytest.fail raises a BaseException, so load_yahoo's ``except Exception`` cannot turn it into a sentence.
    """

    def refuse(*args: object, **kwargs: object) -> None:
        pytest.fail("a test reached yfinance: patch lstm_core.data.sources.download_yahoo instead", pytrace=False)

    monkeypatch.setattr(yfinance, "Ticker", refuse)
    monkeypatch.setattr(yfinance, "download", refuse)


# ---------------------------------------------------------------- where jobs run

@pytest.fixture(scope="session")
def ray_backend() -> Iterator[object]:
    """One driver connected to the test cluster for the whole session."""
    from lstm_core.jobs.backends import backend_for

    backend = backend_for(need_ray())
    backend.connect()
    yield backend
    backend.close()


@pytest.fixture(params=["local", "ray"])
def backend(request: pytest.FixtureRequest) -> object:
    """Each backend in turn: worker processes of this machine, and the Ray cluster that .ci/run starts."""
    from lstm_core.jobs.backends import LocalBackend

    return LocalBackend() if request.param == "local" else request.getfixturevalue("ray_backend")


@pytest.fixture
def fresh_streamlit_cache() -> Iterator[None]:
    """st.cache_data is process-wide: one test's download must not answer the next test's."""
    st.cache_data.clear()
    yield
    st.cache_data.clear()


# ---------------------------------------------------------------- price data


def make_prices(n_days: int = 80, start: str = "2020-01-01", freq: str = "B", seed: int = 0) -> pd.DataFrame:
    """A tidy OHLCV frame of ``n_days`` bars whose numbers are easy to check (Close = 100 + day number)."""
    index = pd.date_range(start, periods=n_days, freq=freq, name="Date")
    close = 100.0 + np.arange(n_days)
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "Open": close - 0.5,
            "High": close + 1.0,
            "Low": close - 1.0,
            "Close": close,
            "Volume": rng.integers(1_000, 2_000, n_days).astype("float64"),
        },
        index=index,
    )


def to_csv_bytes(frame: pd.DataFrame, date_format: str = "%Y-%m-%d", sep: str = ",") -> bytes:
    """``frame`` as a user's CSV file (the index becomes a 'Date' column)."""
    return frame.to_csv(sep=sep, date_format=date_format, index_label="Date").encode()


@pytest.fixture
def prices() -> Callable[..., pd.DataFrame]:
    """Factory for price frames: ``prices(n_days=80, start=..., freq="B")``."""
    return make_prices


def _close_only(n_days: int) -> bytes:
    return to_csv_bytes(make_prices(n_days)[["Close"]])


# name -> (file name, content, LabError key). The same files are refused by load_csv and by the Data page.
BROKEN_FILES: dict[str, tuple[str, bytes, str]] = {
    "empty": ("empty.csv", b"", "err_empty_file"),
    "blank_lines": ("blank.csv", b"  \n\n \r\n", "err_empty_file"),
    "binary": ("noise.csv", bytes(range(256)) * 8, "err_not_csv"),
    "png": ("chart.png", b"\x89PNG\r\n\x1a\n" + bytes(64) + b"IHDR" + bytes(200), "err_not_csv"),
    "xlsx": ("prices.xlsx", b"PK\x03\x04\x14\x00\x06\x00" + bytes(300), "err_not_csv"),
    "json": ("prices.json", b'{"Date": ["2020-01-01"], "Close": [1.5]}', "err_not_csv"),
    "header_only": ("header.csv", b"Date,Open,High,Low,Close,Volume\n", "err_no_rows"),
    "no_date_column": ("nodate.csv", b"id,Close\n" + b"".join(b"%d,%d\n" % (i, 100 + i) for i in range(80)), "err_no_date_column"),
    "no_numeric_column": (
        "names.csv",
        b"Date,Name\n" + b"".join(b"2020-01-%02d,stock%d\n" % (d, d) for d in range(1, 29)) * 3,
        "err_no_numeric_column",
    ),
    "volume_only": ("vol.csv", to_csv_bytes(make_prices(80)[["Volume"]]), "err_no_numeric_column"),
    "too_few_rows": ("short.csv", _close_only(12), "err_too_few_rows"),
}


@pytest.fixture(params=list(BROKEN_FILES))
def broken_csv(request: pytest.FixtureRequest) -> tuple[str, bytes, str]:
    """Each broken file in turn: (file name, content, the LabError key it must raise)."""
    return BROKEN_FILES[request.param]


# ---------------------------------------------------------------- the app


@pytest.fixture
def open_app(fresh_streamlit_cache: None, monkeypatch: pytest.MonkeyPatch) -> Callable[..., AppTest]:
    """Factory: the real app run once under AppTest, in ``lang``, switched to ``page`` when given."""
    import importlib
    import pkgutil

    import ui
    import ui.text

    # Every ui module imported before lang is patched, so none keeps the patched function after the test
    # (a module first imported under a Chinese test's patch answered Chinese to every later test's format_func).
    modules = [importlib.import_module(f"ui.{m.name}") for m in pkgutil.iter_modules(ui.__path__)]
    original = ui.text.lang

    def _open(page: str | None = None, lang: str = "en") -> AppTest:
        # AppTest calls a widget's format_func in the test, outside any script run, where session state
        # is empty and tr() would answer in English; then .set_value() finds no match among Chinese labels
        for module in modules:
            if getattr(module, "lang", None) is original:
                monkeypatch.setattr(module, "lang", lambda: st.session_state.get("lang", lang))
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
        at.session_state["lang"] = lang
        at.run()
        if page is not None:
            at.switch_page(page).run()
        return at

    return _open


# ---------------------------------------------------------------- a real browser (tests marked `browser`)


@pytest.fixture(scope="session")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One `streamlit run app.py` for the whole session, on a free port, with a throwaway download cache."""
    with streamlit_server(cache_dir=tmp_path_factory.mktemp("server-cache")) as url:
        yield url


@pytest.fixture(scope="session")
def chromium() -> Iterator[object]:
    """Debian's headless Chromium driven by Playwright (skipped off CI when it is not installed)."""
    if not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} is missing (.ci/run installs Debian's chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        yield browser
        browser.close()


@pytest.fixture
def browser_page(chromium) -> Iterator[object]:
    """A fresh 1400x1000 tab (own cookies, so its own Streamlit session) for one test."""
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def train_page():
    """The Train page in AppTest, fresh; a job it started is stopped after the test."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"), default_timeout=60).run()
    at.switch_page("pages/train.py").run()
    assert not at.exception
    yield at
    if "job" in at.session_state:
        at.session_state["job"].stop()
