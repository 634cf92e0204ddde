"""The server's settings: every ``LSTM_LAB_*`` environment variable, in one table, and the only module that reads them.

Whoever runs the app or the command line sets these (a teacher setting up a class reads them in docs/settings.md,
which ``python -m lstm_core.server_settings`` writes from this table; a test keeps the two the same). ``app.py`` and the
command line read them all at start (``problems``) and say each wrong value in one sentence; the code that needs one
asks for it by name (``setting``), each read checked against the table's type and range.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

from lstm_core.errors import LabError

PREFIX = "LSTM_LAB_"


@dataclass(frozen=True)
class Spec:
    """One setting's row: its variable, type, default, range and one line of help."""

    env: str
    kind: type  # int, float, str, Path or bool
    default: object  # None: unset (the help says what that means)
    help: str
    low: float | None = None
    high: float | None = None
    error_key: str | None = None  # a sentence of its own (what happens instead), else err_server_setting

    @property
    def rule(self) -> str:
        """What a value must be, as the sentence and the table say it."""
        if self.kind is bool:
            return "1 (on) or unset"
        if self.kind in (int, float):
            what = "a whole number" if self.kind is int else "a number"
            if self.low is not None and self.high is not None:
                return f"{what} from {_shown(self.low)} to {_shown(self.high)}"
            return f"{what} of at least {_shown(self.low)}" if self.low is not None else what
        return "a path" if self.kind is Path else "text"

    def parse(self, raw: str | None) -> object:
        """The value of ``raw`` (None or blank: the default); LabError when it breaks the rule."""
        text = (raw or "").strip()
        if not text:
            return self.default
        if self.kind is bool:
            if text not in ("0", "1"):
                raise self._wrong(text)
            return text == "1"
        if self.kind is Path:
            return Path(text).expanduser()
        if self.kind is str:
            return text
        try:
            value = int(text) if self.kind is int else float(text)
        except ValueError:
            raise self._wrong(text) from None
        if not math.isfinite(value) or (self.low is not None and value < self.low) or (
                self.high is not None and value > self.high):
            raise self._wrong(text)
        return value

    def _wrong(self, text: str, plain: bool = False) -> LabError:
        if plain:  # the command line: no tab, no default to fall back on
            return LabError("err_server_setting_cli", name=self.env, rule=self.rule, value=text[:40])
        if self.error_key:
            return LabError(self.error_key, value=text[:20])
        return LabError("err_server_setting", name=self.env, rule=self.rule, value=text[:40])


def _shown(number: float) -> str:
    return f"{int(number):,}" if float(number).is_integer() else f"{number:g}"


def _row(env: str, kind: type, default: object, help: str, **rest: object) -> object:
    return field(default=default, metadata={"spec": Spec(PREFIX + env, kind, default, help, **rest)})


@dataclass(frozen=True)
class ServerSettings:
    """Every setting, with its default; ``from_env`` reads them."""

    data: Path | None = _row("DATA", Path, None, "Folder for what outlives a browser session (workspaces, their runs, "
                             "tuning journals, the key that signs workspace ids); unset: ~/.local/share/lstm-lab.")
    data_mb: int = _row("DATA_MB", int, 2048, "Disk the data folder may occupy (as du counts it); the workspaces idle "
                        "longest are expired first to make room.", low=1, error_key="err_disk_env")
    address_mb: int = _row("ADDRESS_MB", int, 512, "Disk the workspaces made from one client address may occupy "
                           "together, so that no visitor can push everyone else's runs out.", low=1,
                           error_key="err_disk_address_env")
    workspace_mb: int = _row("WORKSPACE_MB", int, 200, "Disk one workspace (one visitor's runs) may occupy; its oldest "
                             "runs go first.", low=1, error_key="err_ws_env")
    local: bool = _row("LOCAL", bool, False, "1 on your own computer: the app may also open files by their path "
                       "on this machine. Never on a shared server.")
    cache: Path | None = _row("CACHE", Path, None, "Folder for downloaded prices; unset: ~/.cache/lstm-lab.")
    max_jobs: int | None = _row("MAX_JOBS", int, None, "Training jobs at once across all visitors; unset: the Ray "
                                "cluster's CPUs, or 2 on this machine.", low=1, high=256)
    max_job_mb: int = _row("MAX_JOB_MB", int, 700, "Estimated peak memory one job may have; larger settings are "
                           "refused before they start.", low=64, high=1_000_000)
    max_job_s: float = _row("MAX_JOB_S", float, 1800.0, "Wall time after which a job stops, keeping its best weights.",
                            low=1, high=7 * 86400)
    train_nice: int = _row("TRAIN_NICE", int, 10, "Niceness of the worker processes that train, so that pages stay "
                           "quick beside them.", low=0, high=19)
    torch_threads: int = _row("TORCH_THREADS", int, 1, "Threads the app's own process gives torch (a page's forward "
                              "passes); jobs train on one thread each.", low=1, high=256)
    owner_grace_s: float = _row("OWNER_GRACE_S", float, 180.0, "Seconds a job waits for its closed tab to come back "
                                "before it gives up its place.", low=0, high=86400)
    ray_address: str | None = _row("RAY_ADDRESS", str, None, "host:port of a running Ray cluster to train on (see "
                                   "docs/scaling.md); unset: jobs train on this machine.")
    tune_storage: str | None = _row("TUNE_STORAGE", str, None, "Where the Tune page keeps its studies: a database URL "
                                    "every machine reaches (postgresql+psycopg://...) or a journal file; unset: a "
                                    "journal in the workspace.")
    tune_heartbeat_s: int = _row("TUNE_HEARTBEAT_S", int, 10, "How often a tuning worker says it is alive; a trial "
                                 "silent for several beats is failed and its place given to another.", low=1, high=3600)

    @classmethod
    def specs(cls) -> tuple[Spec, ...]:
        """The table's rows, in order."""
        return tuple(f.metadata["spec"] for f in fields(cls))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ServerSettings:
        """Every setting from ``environ`` (default: this process's); LabError at the first wrong value."""
        env = os.environ if environ is None else environ
        return cls(**{f.name: f.metadata["spec"].parse(env.get(f.metadata["spec"].env)) for f in fields(cls)})


_BY_ENV = {spec.env: spec for spec in ServerSettings.specs()}
_BY_NAME = {f.name: f.metadata["spec"] for f in fields(ServerSettings)}


def spec(name: str) -> Spec:
    """A setting's row, by field name (``max_jobs``) or variable (``LSTM_LAB_MAX_JOBS``)."""
    return _BY_NAME.get(name) or _BY_ENV[name]


def setting(name: str, environ: Mapping[str, str] | None = None) -> object:
    """One setting's value now, by field name or variable. A wrong value gives the default (``problems`` said it at
    start), except for a setting with a sentence of its own, which raises it: its caller says what happens instead."""
    row = spec(name)
    try:
        return row.parse((os.environ if environ is None else environ).get(row.env))
    except LabError:
        if row.error_key:
            raise
        return row.default


def problems(environ: Mapping[str, str] | None = None, plain: bool = False) -> list[LabError]:
    """Every setting set wrong, each as its sentence (``plain``: as the command line says it, which refuses to start);
    also any ``LSTM_LAB_*`` variable the table does not know (a typo would otherwise be ignored)."""
    env = os.environ if environ is None else environ
    found = []
    for row in ServerSettings.specs():
        try:
            row.parse(env.get(row.env))
        except LabError as err:
            found.append(row._wrong(env.get(row.env, "").strip(), plain=True) if plain else err)
    known = {*_BY_ENV, *TEST_ONLY}
    found += [LabError("err_server_setting_unknown", name=name[:60]) for name in sorted(env)
              if name.startswith(PREFIX) and name not in known]
    return found


def as_set(*names: str, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The variables of settings ``names`` that are set, as set (for a process elsewhere, e.g. a Ray driver)."""
    env = os.environ if environ is None else environ
    return {spec(n).env: env[spec(n).env] for n in names if spec(n).env in env}


# variables the test suite sets for itself: never a server's setting
TEST_ONLY = ("LSTM_LAB_SCREENSHOTS", "LSTM_LAB_TEST_RAY_ADDRESS", "LSTM_LAB_TEST_PG_URL")


def markdown() -> str:
    """docs/settings.md: the table, as a page."""
    lines = [
        "# Server settings",
        "",
        "Every setting of the app's server and of the command line, set as environment variables before",
        "`streamlit run app.py` or `python -m lstm_core`. Written by `python -m lstm_core.server_settings > docs/settings.md`",
        "from `lstm_core/server_settings.py` (a test checks that they agree). A wrong value is said in one sentence at start.",
        "Back to the [README](../README.md).",
        "",
        "| Variable | Value | Default | What it does |",
        "|---|---|---|---|",
    ]
    for row in ServerSettings.specs():
        default = "unset" if row.default is None else ("unset (off)" if row.kind is bool else f"{row.default:g}"
                                                       if isinstance(row.default, float) else str(row.default))
        lines.append(f"| `{row.env}` | {row.rule} | {default} | {row.help} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
