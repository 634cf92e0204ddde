"""Where studies live: one URL for a journal file (by default one per study), SQLite or any SQLAlchemy database;
secrets masked wherever a URL is shown; a damaged journal said in one sentence; heartbeats that let a dead worker's
trial be marked failed."""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import optuna
from optuna.storages.journal import JournalFileBackend, JournalFileSymlinkLock
from optuna.trial import TrialState

from lstm_core.errors import LabError
from lstm_core.server_settings import setting, spec

HEARTBEAT_S_DEFAULT = spec("tune_heartbeat_s").default  # a live worker touches its running trial this often ...
GRACE_FACTOR = 3  # ... and a trial untouched for this many beats belongs to a dead worker
# a journal's lock is held for one append (milliseconds; reads take none): one whose journal has not changed for this
# long belongs to a worker that was killed mid-append, and is broken. Optuna's own 30 s stalled every other worker of a
# study that long (measured: a SIGKILLed Ray worker held up the rest of a study for 30.0 s); much less would break the
# lock of a live writer whose append is stuck in a slow disk's fsync (a journal shared over NFS), which then fails
LOCK_GRACE_S = 15
TABLE_RACE_TRIES = 5
_HEARTBEAT_ATTR = "lstm_lab:heartbeat"  # a system attr: not among the trial's user-visible attributes


def default_journal(study: str) -> Path:
    """The journal file of ``study`` when no storage is named: one file per study, so a torn append touches one.

    ``<data dir>/tune/<the name's letters and digits>-<8 hex digits of its hash>.journal``: readable, and two names
    that slug alike ("a b", "a-b") still get files of their own.
    """
    from lstm_core.store.workspace import data_dir

    slug = re.sub(r"[^A-Za-z0-9]+", "-", study).strip("-")[:40] or "study"
    digest = hashlib.sha256(study.encode("utf-8")).hexdigest()[:8]
    return data_dir() / "tune" / f"{slug}-{digest}.journal"


def is_journal(url: str | None) -> bool:
    """Whether ``url`` names a journal file (no URL: the study's default one) rather than a database."""
    return not url or url.startswith("journal:") or "://" not in url


def journal_path(url: str | None, study: str) -> Path | None:
    """The journal file that holds ``study`` under ``url``; None for a database."""
    if not is_journal(url):
        return None
    return Path(url.removeprefix("journal:")) if url else default_journal(study)


def storage_file(url: str | None, study: str) -> Path | None:
    """The file on one machine's disk that holds ``study`` under ``url`` (its journal, or a SQLite database); None
    for a database server, which every machine reaches by its address."""
    path = journal_path(url, study)
    if path is not None or not url.startswith("sqlite:"):
        return path
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        database = make_url(url).database
    except (ArgumentError, ValueError):
        return None  # open_storage says what is wrong with it
    return Path(database) if database and database != ":memory:" else None


def storage_text(url: str | None, study: str) -> str:
    """Where ``study`` lives, as the command line prints it: the journal's path, or the URL with secrets masked."""
    path = journal_path(url, study)
    return str(path) if path is not None else mask_url(url)


# query keys whose values are or may hold a secret: password, sslpassword, passfile, a libpq dsn / conninfo string
# (which can carry "password=..."), tokens and keys; hiding a harmless one (sslkey's path) costs nothing
_SECRET_KEY = r"[\w.%-]*(?:pass|pwd|secret|token|dsn|conninfo|credential|key)[\w.%-]*"
_SECRET_VALUE = re.compile(rf"(?i)(?P<key>{_SECRET_KEY})(?P<eq>\s*=\s*|%3D)(?P<value>'[^']*'|\"[^\"]*\"|[^\s&;#'\"]*)")
# scheme://user:password@ : the password runs to the token's last "@" (a password may hold "@", "/" or "?")
_USERINFO = re.compile(r"(?P<head>(?:[A-Za-z][A-Za-z0-9+.-]*)?://[^:@/\s]*):[^\s]*@")


def mask_url(text: str | None) -> str:
    """``text`` (a storage URL, or a driver's message that may quote one) with every secret replaced by ``***``: the
    password after ``user:``, and the value of every password-like key (``password=``, ``sslpassword=``, ``dsn=``
    ...). What we print, show and log; it never raises, however malformed the URL."""
    if not text:
        return ""
    masked = _USERINFO.sub(lambda m: f"{m['head']}:***@", text)
    masked = _SECRET_VALUE.sub(lambda m: f"{m['key']}{m['eq']}***", masked)
    head, hash_sign, _ = masked.partition("#")  # a fragment reaches no server and may hold anything
    return head + (hash_sign and "#***")


def heartbeat_s() -> int:
    return setting("tune_heartbeat_s")


class StudyJournal(JournalFileBackend):
    """Optuna's journal file, which says in one sentence that it is damaged instead of failing deep in its replay.

    Reading, a line that is not JSON (a write cut off mid-file, bytes that are not text) is a LabError naming the
    study and the file. Writing, a last line without its newline is a write that was cut off: appending to it would
    bury the tear mid-file (and make Optuna lose the new line), so that too is refused. Several processes on one
    machine take turns through a symlink lock, Optuna's default.
    """

    def __init__(self, path: Path, study: str) -> None:
        self.path, self.study = path, study
        self.lock = JournalFileSymlinkLock(str(path), grace_period=LOCK_GRACE_S)
        super().__init__(str(path), self.lock)

    def damaged(self) -> LabError:
        return LabError("err_tune_journal_damaged", study=self.study, file=str(self.path))

    def read_logs(self, log_number_from: int) -> Iterator[dict[str, Any]]:
        logs = super().read_logs(log_number_from)
        while True:
            try:
                log = next(logs)
            except StopIteration:
                return
            except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, or Optuna's "Invalid log format."
                raise self.damaged() from exc
            if not isinstance(log, dict) or log.get("op_code") not in _JOURNAL_OPS:  # JSON, but not a journal's
                raise self.damaged()
            yield log

    def append_logs(self, logs: list[dict[str, Any]]) -> None:
        text = "\n".join(json.dumps(log, separators=(",", ":")) for log in logs) + "\n"
        self.lock.acquire()
        try:
            with open(self.path, "ab+") as f:  # appends, and can read the last byte
                if f.seek(0, os.SEEK_END) > 0:
                    f.seek(-1, os.SEEK_END)
                    if f.read(1) != b"\n":  # under the lock no write is half done: this one was cut off
                        raise self.damaged()
                f.write(text.encode("utf-8"))
                f.flush()
                os.fsync(f.fileno())
        finally:
            self.lock.release()


def _journal_ops() -> frozenset[int]:
    from optuna.storages.journal._storage import JournalOperation  # Optuna's replay asserts on any other code

    return frozenset(op.value for op in JournalOperation)


_JOURNAL_OPS = _journal_ops()


def _storage_errors() -> tuple[type[BaseException], ...]:
    from sqlalchemy.exc import SQLAlchemyError

    return SQLAlchemyError, optuna.exceptions.StorageInternalError


STORAGE_ERRORS = _storage_errors()  # what a database storage raises when it fails: the server, the network, the driver


def open_storage(url: str | None, study: str, workers: int = 1) -> optuna.storages.BaseStorage:
    """The storage of ``study`` that ``url`` names: its own journal file (no URL), another journal file (a path),
    ``sqlite:///`` (one worker only) or a SQLAlchemy URL; LabError when it cannot be opened or read."""
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    path = journal_path(url, study)
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            return optuna.storages.JournalStorage(StudyJournal(path, study))
        except OSError as exc:
            raise LabError("err_tune_journal_unwritable", study=study, file=str(path),
                           detail=exc.strerror or type(exc).__name__) from exc
    if url.startswith("sqlite:") and workers > 1:
        raise LabError("err_tune_sqlite_workers", workers=workers)
    try:
        return _rdb_storage(url)
    except (ArgumentError, NoSuchModuleError, ValueError, ImportError) as exc:
        # SQLAlchemy's parser raises ValueError on a bad port or host ("host:x", "[::1"), Optuna ImportError when
        # the URL names a driver that is not installed (mysql://)
        raise LabError("err_tune_bad_storage", url=mask_url(url)) from exc
    except STORAGE_ERRORS as exc:
        raise unreachable(url, exc) from exc


def unreachable(url: str | None, exc: BaseException) -> LabError:
    """The sentence for a database that failed (when opened, or later mid-study), its secrets masked."""
    detail = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or [type(exc).__name__])[0][:200]
    # the driver's message may quote the URL, or the connection string it made of it
    return LabError("err_tune_storage_unreachable", url=mask_url(url), detail=mask_url(detail))


def _rdb_storage(url: str) -> optuna.storages.RDBStorage:
    """Optuna's RDB storage with heartbeats; creating its tables is retried when another worker creates them too."""
    from sqlalchemy.exc import IntegrityError, ProgrammingError

    beat = heartbeat_s()
    for attempt in range(TABLE_RACE_TRIES):
        try:
            with warnings.catch_warnings():  # heartbeats are "experimental" in Optuna, and tested here
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return optuna.storages.RDBStorage(
                    url, heartbeat_interval=beat, grace_period=beat * GRACE_FACTOR,
                    engine_kwargs={"pool_pre_ping": True} if not url.startswith("sqlite:") else None,
                )
        except (IntegrityError, ProgrammingError):
            # machines that start together on an empty database race to create its tables; the loser finds
            # them made a moment later
            if attempt == TABLE_RACE_TRIES - 1:
                raise
            time.sleep(0.2 + random.random())
    raise AssertionError("unreachable")


def has_heartbeat(storage: optuna.storages.BaseStorage) -> bool:
    """Whether Optuna itself keeps heartbeats in ``storage`` (its RDB storage does; the journal does not)."""
    from optuna.storages._heartbeat import is_heartbeat_enabled

    return is_heartbeat_enabled(storage)


def fail_stale_trials(study: optuna.Study) -> None:
    """Mark failed every running trial whose worker stopped beating its heartbeat (it died)."""
    storage = study._storage
    if has_heartbeat(storage):  # an RDB storage: Optuna keeps the heartbeats
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            optuna.storages.fail_stale_trials(study)
        return
    grace = heartbeat_s() * GRACE_FACTOR
    now = time.time()
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        beat = trial.system_attrs.get(_HEARTBEAT_ATTR)
        started = trial.datetime_start.timestamp() if trial.datetime_start else now
        if now - (beat if beat is not None else started) > grace:
            try:
                storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
            except (RuntimeError, optuna.exceptions.UpdateFinishedTrialError):
                pass  # another worker marked it first


class JournalHeartbeat:
    """A thread that touches one running trial every few seconds (the journal storage keeps no heartbeat itself)."""

    def __init__(self, study: optuna.Study, trial_id: int) -> None:
        self.storage, self.trial_id = study._storage, trial_id
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._beat, daemon=True, name="tune-heartbeat")

    def _beat(self) -> None:
        while True:
            try:
                self.storage.set_trial_system_attr(self.trial_id, _HEARTBEAT_ATTR, time.time())
            except (RuntimeError, optuna.exceptions.UpdateFinishedTrialError):
                return  # the trial has ended
            except LabError:
                return  # its journal is damaged: the trial's own next write says so
            if self.done.wait(heartbeat_s()):
                return

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.done.set()
        self.thread.join(timeout=heartbeat_s() + 1)
