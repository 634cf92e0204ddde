"""The server's disk budget: everything under the data dir and the Yahoo cache counts, and a save that would go past
``$LSTM_LAB_DATA_MB`` first expires the least recently used idle workspaces, then the oldest downloads.

Layout under the data dir (``$LSTM_LAB_DATA``, default ``~/.local/share/lstm-lab``):
``workspaces/<id>/`` (run folders, ``.used``: the last use the app recorded, ``.expired``: the tombstone left when
its runs were deleted for room), ``tune/`` (Optuna journals: counted, never deleted: a study may be running) and
the server's key. The Yahoo cache (``lstm_core.data.sources.cache_dir()``) counts too, wherever it is.

Last use is a number the app writes into ``.used`` when it opens or saves a workspace, never a file time: atime is
off on many mounts, and a copy or a backup rewrites mtimes. Cache files are written once, so their mtime is their
download time; it orders them among themselves only.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import threading
import time
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from lstm_core.errors import LabError

DEFAULT_DATA_MB = 2048
WORKSPACES = "workspaces"  # the folder of workspaces under the data dir
USED_FILE = ".used"  # in a workspace folder: time.time_ns() when the app last opened or saved it
EXPIRED_FILE = ".expired"  # in a workspace folder: the tombstone (when its runs were deleted for room)
MARKERS = frozenset({USED_FILE, EXPIRED_FILE})
LEFTOVER_PREFIXES = (".tmp-", ".old-")  # what a crash mid-save leaves in a workspace (and the key's creation, at top)
CACHE_LEFTOVER_SUFFIX = ".part"  # a download cut off mid-write
IN_USE_GRACE_S = 300.0  # a workspace opened or saved this recently is in use, whatever the live sessions say
_MB = 1 << 20
_TOMBSTONE_BYTES = len(dt.datetime(2000, 1, 1, tzinfo=dt.UTC).isoformat(timespec="seconds"))

# Saves (and the expiries that make room for them) take turns within this process: the check and the write must
# not interleave. One server process owns a data dir; the CLI never writes workspaces.
SAVE_LOCK = threading.RLock()


def data_dir() -> Path:
    """Where the app keeps what must outlive a browser session."""
    return Path(os.environ.get("LSTM_LAB_DATA") or Path.home() / ".local" / "share" / "lstm-lab")


def data_budget_bytes() -> int:
    """``$LSTM_LAB_DATA_MB`` in bytes; LabError when it is not a whole number >= 1."""
    raw = os.environ.get("LSTM_LAB_DATA_MB", "").strip() or str(DEFAULT_DATA_MB)
    if not raw.isascii() or not raw.isdigit() or int(raw) < 1:
        raise LabError("err_disk_env", value=raw[:20])
    return int(raw) * _MB


def tree_bytes(path: str | Path, skip: Collection[str] = ()) -> int:
    """Bytes of the regular files below ``path`` (symlinks are not followed; paths in ``skip`` are left out)."""
    total, stack = 0, [str(path)]
    while stack:
        try:
            listing = os.scandir(stack.pop())
        except (FileNotFoundError, NotADirectoryError):
            continue
        with listing:
            for entry in listing:
                try:
                    if entry.is_dir(follow_symlinks=False):
                        if entry.path not in skip:
                            stack.append(entry.path)
                    elif entry.is_file(follow_symlinks=False):
                        total += entry.stat(follow_symlinks=False).st_size
                except FileNotFoundError:  # deleted while we looked: it no longer counts
                    continue
    return total


def _read_int(path: Path) -> int:
    try:
        text = path.read_text(encoding="ascii").strip()
    except (FileNotFoundError, NotADirectoryError, UnicodeDecodeError):
        return 0
    return int(text) if text.isascii() and text.isdigit() else 0


def touch(workspace_root: Path, now_ns: int | None = None) -> None:
    """Record that the app used this workspace now; nothing for a workspace that has no folder (never saved)."""
    if workspace_root.is_dir():
        _write_atomically(workspace_root / USED_FILE, str(time.time_ns() if now_ns is None else now_ns))


def last_used_ns(workspace_root: Path) -> int:
    """The last use the app recorded; 0 for a workspace saved before uses were recorded (it expires first)."""
    return _read_int(workspace_root / USED_FILE)


def expired_on(workspace_root: Path) -> str | None:
    """The day (ISO, UTC) this workspace's runs were deleted for room, or None when they were not."""
    try:
        recorded = (workspace_root / EXPIRED_FILE).read_text(encoding="ascii").strip()
    except (FileNotFoundError, NotADirectoryError, UnicodeDecodeError):
        return None
    return recorded[:10] or "?"


def clear_tombstone(workspace_root: Path) -> None:
    """A run was saved again in an expired workspace: it is an ordinary one again."""
    (workspace_root / EXPIRED_FILE).unlink(missing_ok=True)


def expire(workspace_root: Path, now: dt.datetime | None = None) -> int:
    """Delete every run of a workspace, keeping only a tombstone that says when; returns the bytes deleted."""
    when = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).isoformat(timespec="seconds")
    _write_atomically(workspace_root / EXPIRED_FILE, when)  # first: a crash below still leaves the owner a sentence
    freed = 0
    for entry in list(workspace_root.iterdir()):
        if entry.name == EXPIRED_FILE:
            continue
        if entry.is_dir() and not entry.is_symlink():
            freed += tree_bytes(entry)
            shutil.rmtree(entry, ignore_errors=True)
        else:
            freed += entry.lstat().st_size
            entry.unlink(missing_ok=True)
    return freed


def _write_atomically(path: Path, text: str) -> None:
    partial = path.with_name(f".tmp-{path.name.lstrip('.')}-{os.getpid()}-{threading.get_ident()}")
    partial.write_text(text, encoding="ascii")
    partial.replace(path)


@dataclass(frozen=True)
class WorkspaceUse:
    """One workspace on disk: what it takes and when the app last used it."""

    id: str
    root: Path
    bytes: int  # everything in its folder, tombstone and crash leftovers included
    removable_bytes: int  # what expiring it would delete (all but its markers)
    last_used_ns: int


@dataclass(frozen=True)
class CacheFile:
    path: Path
    bytes: int
    written_ns: int  # its mtime: a cache file is written once, by one download


@dataclass(frozen=True)
class Usage:
    """What the data dir and the Yahoo cache hold, split by what the budget may delete."""

    workspaces: tuple[WorkspaceUse, ...]
    cache_files: tuple[CacheFile, ...]
    other_bytes: int  # tune journals, the server's key, anything else under the data dir: never deleted

    @property
    def total_bytes(self) -> int:
        return (sum(w.bytes for w in self.workspaces) + sum(f.bytes for f in self.cache_files) + self.other_bytes)


@dataclass(frozen=True)
class Freed:
    """What making room did: the workspaces expired (their ids), the cache files deleted, and the bytes."""

    workspaces: tuple[str, ...] = ()
    cache_files: int = 0
    bytes: int = 0


@dataclass(frozen=True)
class Swept:
    """Crash leftovers removed when the server started."""

    count: int
    bytes: int


@dataclass(frozen=True)
class DiskBudget:
    """The most the data dir and the Yahoo cache may hold together, and how room is made."""

    data: Path
    cache: Path
    limit_bytes: int

    @classmethod
    def from_env(cls, base: Path | None = None) -> DiskBudget:
        """The server's budget: ``$LSTM_LAB_DATA_MB`` over ``base`` (the data dir) and the Yahoo cache dir."""
        from lstm_core.data.sources import cache_dir

        return cls(base or data_dir(), cache_dir(), data_budget_bytes())

    def usage(self) -> Usage:
        """Walk the data dir and the cache once (every file counts, crash leftovers too)."""
        workspaces_dir = self.data / WORKSPACES
        found = []
        for entry in _entries(workspaces_dir):
            if entry.is_dir(follow_symlinks=False):
                root = Path(entry.path)
                total = tree_bytes(root)
                markers = sum(_size(root / name) for name in MARKERS)
                found.append(WorkspaceUse(entry.name, root, total, total - markers, last_used_ns(root)))
        files = []
        for entry in _entries(self.cache):
            if entry.is_file(follow_symlinks=False):
                try:
                    stat = entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue
                files.append(CacheFile(Path(entry.path), stat.st_size, stat.st_mtime_ns))
        workspace_total = sum(w.bytes for w in found)
        other = tree_bytes(self.data, skip={str(self.cache)}) - workspace_total
        other += tree_bytes(self.cache) - sum(f.bytes for f in files)  # sub-folders of the cache: counted, kept
        return Usage(tuple(found), tuple(files), max(other, 0))

    def make_room(self, needed_bytes: int, in_use: Collection[str] = (), now_ns: int | None = None,
                  workspaces: bool = True) -> Freed:
        """Delete until ``needed_bytes`` more fit: idle workspaces, least recently used first, then the oldest cache
        files. Nothing is deleted when even that would not be enough: LabError ``err_disk_full``.

        A workspace is idle when it is not in ``in_use`` (the app's live sessions) and was not used within
        IN_USE_GRACE_S. With ``workspaces=False`` only cache files go (room for a download never costs a run).
        """
        with SAVE_LOCK:
            usage = self.usage()
            over = usage.total_bytes + needed_bytes - self.limit_bytes
            if over <= 0:
                return Freed()
            now_ns = time.time_ns() if now_ns is None else now_ns
            grace_ns = int(IN_USE_GRACE_S * 1e9)
            idle = sorted(
                (w for w in usage.workspaces if workspaces and w.id not in in_use
                 and now_ns - w.last_used_ns >= grace_ns and w.removable_bytes > _TOMBSTONE_BYTES),
                key=lambda w: (w.last_used_ns, w.id),
            )
            plan_ws, plan_files, planned = [], [], 0
            for w in idle:
                if planned >= over:
                    break
                plan_ws.append(w)
                planned += w.removable_bytes - _TOMBSTONE_BYTES
            for f in sorted(usage.cache_files, key=lambda f: (f.written_ns, f.path.name)):
                if planned >= over:
                    break
                plan_files.append(f)
                planned += f.bytes
            if planned < over:
                raise LabError("err_disk_full", limit_mb=self.limit_bytes // _MB)
            freed = sum(expire(w.root) for w in plan_ws)
            for f in plan_files:
                f.path.unlink(missing_ok=True)
                freed += f.bytes
            return Freed(tuple(w.id for w in plan_ws), len(plan_files), freed)

    def trim_cache(self) -> Freed:
        """After a download: the oldest cache files go until the budget holds (never a workspace); whatever fits."""
        try:
            return self.make_room(0, workspaces=False)
        except LabError:  # workspaces and journals alone fill the budget: the cache keeps nothing
            with SAVE_LOCK:
                files = self.usage().cache_files
                for f in files:
                    f.path.unlink(missing_ok=True)
                return Freed((), len(files), sum(f.bytes for f in files))


def sweep_leftovers(data: Path, cache: Path) -> Swept:
    """Remove what a crash mid-write left: ``.tmp-*``/``.old-*`` in workspaces and at the top of the data dir ``data``,
    ``*.part`` downloads in ``cache``. Call it once, when the server starts: a save in progress leaves the same names.
    """
    count = size = 0
    with SAVE_LOCK:
        folders = [Path(e.path) for e in _entries(data / WORKSPACES) if e.is_dir(follow_symlinks=False)]
        candidates = [Path(e.path) for root in (data, *folders) for e in _entries(root)
                      if e.name.startswith(LEFTOVER_PREFIXES)]
        candidates += [Path(e.path) for e in _entries(cache) if e.name.endswith(CACHE_LEFTOVER_SUFFIX)]
        for path in candidates:
            if path.is_dir() and not path.is_symlink():
                size += tree_bytes(path)
                shutil.rmtree(path, ignore_errors=True)
            else:
                size += _size(path)
                path.unlink(missing_ok=True)
            count += 1
    return Swept(count, size)


def _entries(folder: Path) -> list[os.DirEntry]:
    try:
        with os.scandir(folder) as listing:
            return list(listing)
    except (FileNotFoundError, NotADirectoryError):
        return []


def _size(path: Path) -> int:
    try:
        return path.lstat().st_size
    except (FileNotFoundError, NotADirectoryError):
        return 0
