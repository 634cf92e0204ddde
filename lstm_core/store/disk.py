"""The server's disk, shared fairly: everything under the data dir and the Yahoo cache counts, in the blocks it
occupies, against ``$LSTM_LAB_DATA_MB``; the workspaces made from one client address count together against
``$LSTM_LAB_ADDRESS_MB``, so that no visitor can push everyone else's runs out.

Layout under the data dir (``$LSTM_LAB_DATA``, default ``~/.local/share/lstm-lab``):
``workspaces/<id>/`` (run folders, ``.used``: the last use the app recorded, ``.owner``: a keyed tag of the client
address that made it, ``.expired``: the tombstone left when its runs were deleted for room), ``tune/`` (Optuna
journals) and the server's key. The Yahoo cache (``lstm_core.data.sources.cache_dir()``) counts too, wherever it is.

Counting: each file and folder by its allocated blocks (``st_blocks``), as ``du`` does: a folder of small files costs
its blocks, not its bytes. The workspaces are walked once per process (``DiskLedger``), then each one is counted again
when the app changes it, so a save costs the walk of one workspace, not of them all. Downloads and journals are listed
when room is needed.

Making room, in this order: tombstones, then idle workspaces and journals untouched for a day (least recently used
first), then the oldest downloads. A workspace is idle when no live session has it open and it was not used in the
last IN_USE_GRACE_S. A client address over its own share expires its own idle workspaces first and is refused when
they are not enough; it never expires anyone else's. Tombstones, empty workspaces and journals untouched for
KEEP_DAYS are removed by ``maintain`` (the app calls it every hour).

Last use is a number the app writes into ``.used`` when it opens or saves a workspace, never a file time: atime is
off on many mounts, and a copy or a backup rewrites mtimes. Cache files and journals are written by one writer, so
their mtime is their last write; it orders them among themselves only.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import threading
import time
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

from lstm_core.errors import LabError
from lstm_core.server_settings import setting, spec

DEFAULT_DATA_MB = spec("data_mb").default
DEFAULT_ADDRESS_MB = spec("address_mb").default  # a quarter of the default budget: one class behind one address fits many times over
WORKSPACES = "workspaces"  # the folder of workspaces under the data dir
TUNE = "tune"  # the folder of study journals under the data dir
USED_FILE = ".used"  # in a workspace folder: time.time_ns() when the app last opened or saved it
OWNER_FILE = ".owner"  # in a workspace folder: the keyed tag of the client address that made it
EXPIRED_FILE = ".expired"  # in a workspace folder: the tombstone (when its runs were deleted for room)
MARKERS = frozenset({USED_FILE, OWNER_FILE, EXPIRED_FILE})
LEFTOVER_PREFIXES = (".tmp-", ".old-")  # what a crash mid-save leaves in a workspace (and the key's creation, at top)
CACHE_LEFTOVER_SUFFIX = ".part"  # a download cut off mid-write
IN_USE_GRACE_S = 300.0  # a workspace opened or saved this recently is in use, whatever the live sessions say
JOURNAL_IDLE_S = 86400.0  # a journal written to within a day may be a running study's: never deleted for room
KEEP_DAYS = 30  # tombstones, empty workspaces and untouched journals older than this are removed by maintain()
MAINTAIN_EVERY_S = 3600.0
SMALL_FILE_BYTES = 4096  # what a file of a few bytes occupies on most file systems (a tombstone, say)
_MB = 1 << 20
_DAY_NS = 86400 * 10**9

# Saves (and the expiries that make room for them) take turns within this process: the check and the write must
# not interleave. One server process owns a data dir; the CLI never writes workspaces.
SAVE_LOCK = threading.RLock()


def data_dir() -> Path:
    """Where the app keeps what must outlive a browser session."""
    return setting("data") or Path.home() / ".local" / "share" / "lstm-lab"




def data_budget_bytes() -> int:
    """``$LSTM_LAB_DATA_MB`` in bytes; LabError when it is not a whole number >= 1."""
    return setting("data_mb") * _MB


def address_budget_bytes() -> int:
    """``$LSTM_LAB_ADDRESS_MB`` in bytes: what the workspaces of one client address may hold together."""
    return setting("address_mb") * _MB


def allocated(stat: os.stat_result) -> int:
    """The bytes a file or folder occupies on disk (its blocks), as ``du`` counts them."""
    blocks = getattr(stat, "st_blocks", None)
    if blocks is None:  # a platform without blocks: whole 4 KB pages
        return -(-stat.st_size // 4096) * 4096
    return blocks * 512


def folder_estimate(file_sizes: Collection[int]) -> int:
    """The bytes a new folder of files of ``file_sizes`` will occupy: its own block and each file in whole blocks."""
    return SMALL_FILE_BYTES + sum(-(-size // SMALL_FILE_BYTES) * SMALL_FILE_BYTES for size in file_sizes)


def tree_bytes(path: str | Path, skip: Collection[str] = ()) -> int:
    """Allocated bytes of ``path`` and everything below it (symlinks are not followed; paths in ``skip`` are left
    out)."""
    try:
        total = allocated(os.lstat(path))
    except (FileNotFoundError, NotADirectoryError):
        return 0
    stack = [str(path)]
    while stack:
        try:
            listing = os.scandir(stack.pop())
        except (FileNotFoundError, NotADirectoryError):
            continue
        with listing:
            for entry in listing:
                if entry.path in skip:
                    continue
                try:
                    total += allocated(entry.stat(follow_symlinks=False))
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
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
        when = time.time_ns() if now_ns is None else now_ns
        _write_atomically(workspace_root / USED_FILE, str(when))
        for ledger in _ledgers_of(workspace_root):
            ledger.note_use(workspace_root.name, when)


def last_used_ns(workspace_root: Path) -> int:
    """The last use the app recorded; 0 for a workspace saved before uses were recorded (it expires first)."""
    return _read_int(workspace_root / USED_FILE)


def owner_of(workspace_root: Path) -> str | None:
    """The tag of the client address that made this workspace; None for one made before owners were recorded."""
    try:
        text = (workspace_root / OWNER_FILE).read_text(encoding="ascii").strip()
    except (FileNotFoundError, NotADirectoryError, UnicodeDecodeError):
        return None
    return text[:64] or None


def set_owner(workspace_root: Path, owner: str) -> None:
    """Record who made a new workspace (once: a link opened from elsewhere leaves it as it was)."""
    if not (workspace_root / OWNER_FILE).exists():
        _write_atomically(workspace_root / OWNER_FILE, owner)


def expired_on(workspace_root: Path) -> str | None:
    """The day (ISO, UTC) this workspace's runs were deleted for room, or None when they were not."""
    try:
        recorded = (workspace_root / EXPIRED_FILE).read_text(encoding="ascii").strip()
    except (FileNotFoundError, NotADirectoryError, UnicodeDecodeError):
        return None
    return recorded[:10] or "?"


def _expired_ns(workspace_root: Path) -> int | None:
    day = expired_on(workspace_root)
    if day is None:
        return None
    try:
        return int(dt.datetime.fromisoformat(day).replace(tzinfo=dt.UTC).timestamp() * 1e9)
    except ValueError:
        return 0


def clear_tombstone(workspace_root: Path) -> None:
    """A run was saved again in an expired workspace: it is an ordinary one again."""
    (workspace_root / EXPIRED_FILE).unlink(missing_ok=True)


def expire(workspace_root: Path, now: dt.datetime | None = None) -> int:
    """Delete every run of a workspace, keeping only a tombstone that says when (and its owner's tag); returns the
    bytes freed."""
    before = tree_bytes(workspace_root)
    when = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).isoformat(timespec="seconds")
    _write_atomically(workspace_root / EXPIRED_FILE, when)  # first: a crash below still leaves the owner a sentence
    for entry in list(workspace_root.iterdir()):
        if entry.name in (EXPIRED_FILE, OWNER_FILE):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
    return max(before - tree_bytes(workspace_root), 0)


def _remove(path: Path) -> int:
    """Delete a folder or a file whole; the bytes freed."""
    size = tree_bytes(path)
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
    return size


def write_marker(path: Path, text: str) -> None:
    """A small file written whole or not at all."""
    _write_atomically(path, text)


def _write_atomically(path: Path, text: str) -> None:
    partial = path.with_name(f".tmp-{path.name.lstrip('.')}-{os.getpid()}-{threading.get_ident()}")
    partial.write_text(text, encoding="ascii")
    partial.replace(path)


@dataclass(frozen=True)
class WorkspaceUse:
    """One workspace on disk: what it occupies, what it holds, who made it and when the app last used it."""

    id: str
    root: Path
    bytes: int  # its folder and everything in it, tombstone and crash leftovers included
    removable_bytes: int  # what expiring it would free (all but its folder, tombstone and owner's tag)
    last_used_ns: int
    owner: str | None = None
    expired_ns: int | None = None  # when its runs were deleted for room: a tombstone
    has_content: bool = True  # runs, a kept dataset or leftovers: more than its markers

    @property
    def is_tombstone(self) -> bool:
        return self.expired_ns is not None and not self.has_content


@dataclass(frozen=True)
class CacheFile:
    path: Path
    bytes: int
    written_ns: int  # its mtime: a cache file is written once, by one download


@dataclass(frozen=True)
class Journal:
    path: Path
    bytes: int
    written_ns: int  # its mtime: a study appends to it as it runs


@dataclass(frozen=True)
class Usage:
    """What the data dir and the Yahoo cache occupy, split by what the budget may delete."""

    workspaces: tuple[WorkspaceUse, ...]
    cache_files: tuple[CacheFile, ...]
    other_bytes: int  # the key, folders, anything else under the data dir: never deleted
    journals: tuple[Journal, ...] = ()

    @property
    def total_bytes(self) -> int:
        return (sum(w.bytes for w in self.workspaces) + sum(f.bytes for f in self.cache_files)
                + sum(j.bytes for j in self.journals) + self.other_bytes)

    def owner_bytes(self, owner: str) -> int:
        return sum(w.bytes for w in self.workspaces if w.owner == owner)


@dataclass(frozen=True)
class Freed:
    """What making room did: the workspaces expired (their ids), the cache files and journals deleted, and the bytes."""

    workspaces: tuple[str, ...] = ()
    cache_files: int = 0
    bytes: int = 0
    journals: int = 0
    tombstones: int = 0


@dataclass(frozen=True)
class Swept:
    """Crash leftovers removed when the server started."""

    count: int
    bytes: int


def _count_workspace(root: Path) -> WorkspaceUse:
    """One workspace, walked."""
    total, removable, content, tombstone = _alloc(root), 0, False, False
    for entry in _entries(root):
        size = tree_bytes(entry.path)
        total += size
        if entry.name in (OWNER_FILE, EXPIRED_FILE):  # what expiring it keeps
            tombstone |= entry.name == EXPIRED_FILE
            continue
        removable += size
        content |= entry.name != USED_FILE
    if not tombstone:  # expiring it writes one
        removable = max(removable - SMALL_FILE_BYTES, 0)
    return WorkspaceUse(root.name, root, total, removable, last_used_ns(root), owner_of(root), _expired_ns(root),
                        content)


def _alloc(path: Path) -> int:
    try:
        return allocated(os.lstat(path))
    except (FileNotFoundError, NotADirectoryError):
        return 0


@dataclass(eq=False)
class DiskLedger:
    """The workspaces of one data dir as last counted: walked once, then each counted again when the app changes it."""

    data: Path
    _workspaces: dict[str, WorkspaceUse] | None = None
    _lock: threading.RLock = field(default_factory=threading.RLock)
    walks: int = 0  # how many times every workspace was walked (once per process, unless ``rebuild`` is asked)

    def workspaces(self) -> dict[str, WorkspaceUse]:
        with self._lock:
            if self._workspaces is None:
                self.rebuild()
            return dict(self._workspaces or {})

    def rebuild(self) -> None:
        """Walk every workspace afresh."""
        with self._lock:
            found = {}
            for entry in _entries(self.data / WORKSPACES):
                if entry.is_dir(follow_symlinks=False):
                    found[entry.name] = _count_workspace(Path(entry.path))
            self._workspaces, self.walks = found, self.walks + 1

    def refresh(self, root: Path) -> None:
        """Count one workspace again (after the app wrote, pruned or expired it); forget it once its folder is gone."""
        with self._lock:
            if self._workspaces is None:
                return  # counted when first asked
            if root.is_dir():
                self._workspaces[root.name] = _count_workspace(root)
            else:
                self._workspaces.pop(root.name, None)

    def note_use(self, workspace_id: str, when_ns: int) -> None:
        with self._lock:
            if self._workspaces is not None and workspace_id in self._workspaces:
                use = self._workspaces[workspace_id]
                self._workspaces[workspace_id] = WorkspaceUse(use.id, use.root, use.bytes, use.removable_bytes, when_ns,
                                                              use.owner, use.expired_ns, use.has_content)


_ledgers: dict[str, DiskLedger] = {}


def ledger_for(data: Path) -> DiskLedger:
    """The process's ledger of data dir ``data``."""
    with SAVE_LOCK:
        key = os.path.abspath(data)
        if key not in _ledgers:
            _ledgers[key] = DiskLedger(data)
        return _ledgers[key]


def forget_counts() -> None:
    """Count every data dir afresh at its next look, as a restarted server does (files changed behind its back)."""
    with SAVE_LOCK:
        _ledgers.clear()


def _ledgers_of(workspace_root: Path) -> list[DiskLedger]:
    ledger = _ledgers.get(os.path.abspath(workspace_root.parent.parent))
    return [ledger] if ledger is not None else []


def refresh(workspace_root: Path) -> None:
    """The app changed this workspace: count it again wherever it is counted."""
    for ledger in _ledgers_of(workspace_root):
        ledger.refresh(workspace_root)


@dataclass(frozen=True)
class DiskBudget:
    """The most the data dir and the Yahoo cache may hold together, the share of one client address, and how room is
    made."""

    data: Path
    cache: Path
    limit_bytes: int
    address_limit_bytes: int | None = None

    @classmethod
    def from_env(cls, base: Path | None = None) -> DiskBudget:
        """The server's budget: ``$LSTM_LAB_DATA_MB`` (and ``$LSTM_LAB_ADDRESS_MB`` per client address) over ``base``
        (the data dir) and the Yahoo cache dir."""
        from lstm_core.data.sources import cache_dir

        return cls(base or data_dir(), cache_dir(), data_budget_bytes(), address_budget_bytes())

    @property
    def ledger(self) -> DiskLedger:
        return ledger_for(self.data)

    def usage(self) -> Usage:
        """The workspaces as the ledger counts them, and the downloads, journals and other files as they are now."""
        workspaces = tuple(self.ledger.workspaces().values())
        files = []
        cache_inside = _is_within(self.cache, self.data)
        for entry in _entries(self.cache):
            if entry.is_file(follow_symlinks=False):
                try:
                    stat = entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue
                files.append(CacheFile(Path(entry.path), allocated(stat), stat.st_mtime_ns))
        journals = []
        for entry in _entries(self.data / TUNE):
            if entry.is_file(follow_symlinks=False) and entry.name.endswith(".journal"):
                try:
                    stat = entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue
                journals.append(Journal(Path(entry.path), allocated(stat), stat.st_mtime_ns))
        # the rest: the data dir's own folders and files beside workspaces/ (the key), the cache's folders
        other = _alloc(self.data) + _alloc(self.data / WORKSPACES)
        other += sum(tree_bytes(e.path) for e in _entries(self.data) if e.name != WORKSPACES)
        other += 0 if cache_inside else tree_bytes(self.cache)
        other -= sum(f.bytes for f in files) + sum(j.bytes for j in journals)
        return Usage(workspaces, tuple(files), max(other, 0), tuple(journals))

    def make_room(self, needed_bytes: int, in_use: Collection[str] = (), now_ns: int | None = None,
                  workspaces: bool = True, owner: str | None = None) -> Freed:
        """Delete until ``needed_bytes`` more fit, for a save by client ``owner``: within that owner's share (its own
        idle workspaces only), then within the server's budget (tombstones, then idle workspaces and old journals,
        least recently used first, then the oldest cache files). Nothing is deleted when even that would not be
        enough: LabError ``err_disk_address_full`` or ``err_disk_full``.

        A workspace is idle when it is not in ``in_use`` (the app's live sessions, the saving one among them) and was
        not used within IN_USE_GRACE_S. With ``workspaces=False`` only cache files go (room for a download never costs
        a run).
        """
        with SAVE_LOCK:
            usage = self.usage()
            now_ns = time.time_ns() if now_ns is None else now_ns
            grace_ns = int(IN_USE_GRACE_S * 1e9)

            def idle(w: WorkspaceUse) -> bool:
                return workspaces and w.id not in in_use and now_ns - w.last_used_ns >= grace_ns

            plan: dict[str, WorkspaceUse] = {}  # id -> workspace to expire (or remove, for a tombstone)
            planned = 0
            if owner is not None and self.address_limit_bytes is not None and workspaces:
                over_mine = usage.owner_bytes(owner) + needed_bytes - self.address_limit_bytes
                for w in sorted((w for w in usage.workspaces if w.owner == owner and idle(w)),
                                key=lambda w: (not w.is_tombstone, w.last_used_ns, w.id)):
                    if planned >= over_mine:
                        break
                    plan[w.id] = w
                    planned += w.bytes if w.is_tombstone else w.removable_bytes
                if planned < over_mine:
                    raise LabError("err_disk_address_full", limit_mb=self.address_limit_bytes // _MB)
            over = usage.total_bytes + needed_bytes - self.limit_bytes
            files: list[CacheFile] = []
            journals: list[Journal] = []
            if planned < over and workspaces:
                for w in sorted((w for w in usage.workspaces if w.is_tombstone and w.id not in plan and idle(w)),
                                key=lambda w: (w.expired_ns or 0, w.id)):
                    if planned >= over:
                        break
                    plan[w.id] = w
                    planned += w.bytes
                candidates: list[tuple[int, str, WorkspaceUse | Journal]] = [
                    (w.last_used_ns, w.id, w) for w in usage.workspaces
                    if w.id not in plan and idle(w) and w.removable_bytes > 0 and not w.is_tombstone]
                candidates += [(j.written_ns, j.path.name, j) for j in usage.journals
                               if now_ns - j.written_ns >= int(JOURNAL_IDLE_S * 1e9)]
                for _, _, item in sorted(candidates, key=lambda c: (c[0], c[1])):
                    if planned >= over:
                        break
                    if isinstance(item, Journal):
                        journals.append(item)
                        planned += item.bytes
                    else:
                        plan[item.id] = item
                        planned += item.removable_bytes
            for f in sorted(usage.cache_files, key=lambda f: (f.written_ns, f.path.name)):
                if planned >= over:
                    break
                files.append(f)
                planned += f.bytes
            if planned < over:
                raise LabError("err_disk_full", limit_mb=self.limit_bytes // _MB)
            freed, expired, tombstones = 0, [], 0
            for w in plan.values():
                if w.is_tombstone:
                    freed += _remove(w.root)
                    tombstones += 1
                else:
                    freed += expire(w.root)
                    expired.append(w.id)
                self.ledger.refresh(w.root)
            for item in (*files, *journals):
                freed += _remove(item.path)
            return Freed(tuple(expired), len(files), freed, len(journals), tombstones)

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

    def maintain(self, now_ns: int | None = None, in_use: Collection[str] = ()) -> Freed:
        """Remove what has outlived its use: tombstones, workspaces that hold nothing, and journals untouched for
        KEEP_DAYS (a workspace open in a live session stays)."""
        now_ns = time.time_ns() if now_ns is None else now_ns
        old_ns = now_ns - KEEP_DAYS * _DAY_NS
        with SAVE_LOCK:
            usage = self.usage()
            freed = tombstones = journals = 0
            for w in usage.workspaces:
                stale = (w.expired_ns or 0) < old_ns if w.is_tombstone else (not w.has_content and w.last_used_ns < old_ns)
                if stale and w.id not in in_use:
                    freed += _remove(w.root)
                    self.ledger.refresh(w.root)
                    tombstones += 1
            for j in usage.journals:
                if j.written_ns < old_ns:
                    freed += _remove(j.path)
                    journals += 1
            return Freed((), 0, freed, journals, tombstones)


def _is_within(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


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
            size += _remove(path)
            count += 1
        for folder in folders:
            refresh(folder)
    return Swept(count, size)


def _entries(folder: Path) -> list[os.DirEntry]:
    try:
        with os.scandir(folder) as listing:
            return list(listing)
    except (FileNotFoundError, NotADirectoryError):
        return []
