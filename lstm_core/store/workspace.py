"""A visitor's runs on the server's disk: one folder per workspace, named by an id only the server can issue and only
its URL holds.

Layout: ``<data dir>/workspaces/<workspace id>/<run id>/`` with a bundle's four files and ``.seq``, the run's place
in the order of saves. The data dir is ``$LSTM_LAB_DATA`` or ``~/.local/share/lstm-lab``. Nothing lists the
workspaces: knowing the id is the only way in. An id is 128 random bits and a 64-bit HMAC-SHA256 tag of them under
the server's key (``<data dir>/server.key``, made on first use, mode 0600), base64url: 32 characters. The server
recognises the ids it issued without keeping a list, and refuses any other (a folder made before ids were signed
still opens: only its owner knows its name). Both ids are checked against a strict pattern before they become a path.
Each workspace keeps at most ``$LSTM_LAB_WORKSPACE_MB`` (default 200) and ``max_runs`` runs; saving beyond that
deletes the oldest. It also keeps the dataset its visitor last loaded, in ``.dataset/`` (``dataset.json``, and
``data.csv`` unless it is a bundled sample or a task, made again from their names), so that a refresh or a server
restart shows the data the runs were trained on: a file of up to DATASET_ALLOWANCE_BYTES at once, a larger one only
once a run is trained on it (the run's own ``data.csv`` then serves; until then it stays in the tab), so that uploads
alone cannot fill the server. All workspaces share the server's disk budget, and those made from one client address
their share of it (``lstm_core.store.disk``): a workspace records a keyed tag of the address that made it, never the
address.

Local mode (``LSTM_LAB_LOCAL=1``, for someone running the app on their own computer) also lets the app open
bundle folders the command line wrote with ``--out``; a hosted server never sets it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import shutil
import threading
import weakref
from collections.abc import Callable, Collection
from dataclasses import asdict, dataclass, fields
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import pandas as pd

from lstm_core.data import DataQuality, Dataset, Source, load_sample, load_source, tidy
from lstm_core.data.dataset import frame_fingerprint
from lstm_core.errors import LabError
from lstm_core.runs.bundle import LOCAL_LIMITS, bundle_members, load_bundle, parse_data_csv
from lstm_core.runs.run import Run
from lstm_core.runs.schema import BUNDLE_FILES, RUN_ID
from lstm_core.server_settings import setting, spec
from lstm_core.store import disk
from lstm_core.store.disk import WORKSPACES, DiskBudget, data_dir  # data_dir: callers import it from here too

if TYPE_CHECKING:
    from lstm_core.basket.data import Basket
    from lstm_core.basket.run import SavedBasket

WORKSPACE_ID = re.compile(r"[A-Za-z0-9_-]{32}")  # 24 bytes in base64url, no padding
ID_RANDOM_BYTES, ID_TAG_BYTES = 16, 8
KEY_FILE = "server.key"
KEY_BYTES = 32
SEQUENCE_FILE = ".seq"  # in each run folder: its place in the workspace's order of saves (1, 2, ...)
TRAINING_FILE = ".training"  # in a workspace: when a job it is waiting for started
# room a save needs beyond the bundle, on disk: the run's .seq, and the workspace's folder, .used and .owner (a new one)
MARKER_BYTES = 4 * disk.SMALL_FILE_BYTES
DEFAULT_WORKSPACE_MB = spec("workspace_mb").default
MAX_LOCAL_BUNDLES = 200  # bundle folders listed from one local folder
DATASET_DIR = ".dataset"  # not a run id: run listings pass it by; expiry and the disk budget count it
DATASET_JSON = "dataset.json"
BASKET_DIR = ".basket"  # the latest basket run's bundle: not a run id either, and counted like the dataset
MAX_DATASET_JSON = 64 * 1024
DATASET_ALLOWANCE_BYTES = 1 << 20  # a dataset this small is kept at once; a larger one with the first run trained on it
LOCAL_ADDRESS = "local"  # the client address of a visitor on this machine (Streamlit gives none)
_MB = 1 << 20

_keys: dict[Path, bytes] = {}
_keys_lock = threading.Lock()
# runs opened from workspaces, by a hash of their run.json (which holds every other file's checksum): one object for the
# same files, while some session holds it
_opened: weakref.WeakValueDictionary[str, Run] = weakref.WeakValueDictionary()
_opened_lock = threading.Lock()
T = TypeVar("T")
# basket runs opened from workspaces, by a hash of their basket.json, newest last: scored again once, not per session
_opened_baskets: dict[str, tuple[SavedBasket, Basket]] = {}
MAX_OPENED_BASKETS = 8


def workspace_cap_bytes() -> int:
    """``$LSTM_LAB_WORKSPACE_MB`` in bytes; LabError when it is not a whole number >= 1."""
    return setting("workspace_mb") * _MB


def is_local() -> bool:
    """True only where whoever runs the server said so: ``LSTM_LAB_LOCAL=1``."""
    return bool(setting("local"))


def server_key(base: Path | None = None) -> bytes:
    """The key that signs workspace ids, made with ``secrets`` on first use; LabError when it cannot be kept."""
    path = (base or data_dir()) / KEY_FILE
    with _keys_lock:
        if path in _keys:
            return _keys[path]
        try:
            if not path.exists():
                _create_key(path)
            key = path.read_bytes()
        except OSError as exc:
            raise LabError("err_ws_key") from exc
        if len(key) < KEY_BYTES:
            raise LabError("err_ws_key")
        _keys[path] = key
        return key


def _create_key(path: Path) -> None:
    """Write a new key where none is, whole or not at all, even with another server process doing the same."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    partial = path.with_name(f".tmp-key-{secrets.token_hex(6)}")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as out:
            out.write(secrets.token_bytes(KEY_BYTES))
        os.link(partial, path)  # never replaces a key another process made first: its ids stay valid
    except FileExistsError:
        pass
    finally:
        partial.unlink(missing_ok=True)


def _tag(key: bytes, random_part: bytes) -> bytes:
    return hmac.new(key, random_part, hashlib.sha256).digest()[:ID_TAG_BYTES]


def owner_tag(address: str | None, base: Path | None = None) -> str:
    """The tag a workspace records for the client address that made it: keyed, so the address itself is not kept."""
    text = (address or LOCAL_ADDRESS).strip().lower()[:100]
    return hmac.new(server_key(base), b"owner:" + text.encode(), hashlib.sha256).hexdigest()[:32]


def new_workspace_id(base: Path | None = None) -> str:
    """A fresh id this server will recognise: 16 random bytes and their 8-byte tag, 32 base64url characters."""
    random_part = secrets.token_bytes(ID_RANDOM_BYTES)
    return base64.urlsafe_b64encode(random_part + _tag(server_key(base), random_part)).decode("ascii")


def is_workspace_id(text: object) -> bool:
    """The shape of an id (32 base64url characters): safe to become a path; says nothing of who made it."""
    return isinstance(text, str) and WORKSPACE_ID.fullmatch(text) is not None


def issued_here(workspace_id: str, base: Path | None = None) -> bool:
    """True when this server's key signed ``workspace_id``."""
    if not is_workspace_id(workspace_id):
        return False
    raw = base64.urlsafe_b64decode(workspace_id)
    random_part, tag = raw[:ID_RANDOM_BYTES], raw[ID_RANDOM_BYTES:]
    return hmac.compare_digest(tag, _tag(server_key(base), random_part))


def check_workspace_id(workspace_id: object, base: Path | None = None) -> str:
    """``workspace_id`` when this server may open it; LabError ``err_ws_bad_id`` (malformed) or ``err_ws_not_issued``."""
    if not is_workspace_id(workspace_id):
        raise LabError("err_ws_bad_id")
    if issued_here(workspace_id, base) or ((base or data_dir()) / WORKSPACES / workspace_id).is_dir():
        return workspace_id  # the second case: a workspace saved before ids were signed
    raise LabError("err_ws_not_issued")


@dataclass(frozen=True)
class Saved:
    """What saving a run did: the runs deleted to stay within the caps."""

    run_id: str
    pruned: tuple[str, ...]


class DatasetKept(StrEnum):
    """What keeping a dataset with its workspace did."""

    KEPT = "kept"  # its file (or its name) is on disk now
    WITH_RUN = "with_run"  # too big to keep alone: kept once a run is trained on it


@dataclass(frozen=True)
class DatasetSaved:
    kept: DatasetKept
    csv_bytes: int  # its data as a file (0 for a sample or a task, kept by name)


@dataclass(frozen=True)
class Workspace:
    """One visitor's folder of run bundles, capped in bytes and in runs, within the server's disk budget (if any)."""

    id: str
    root: Path
    cap_bytes: int
    max_runs: int
    budget: DiskBudget | None = None
    visitor: str | None = None  # the owner tag of the client saving into it (``owner_tag``)

    @classmethod
    def open(cls, workspace_id: str, max_runs: int, base: Path | None = None, address: str | None = None) -> Workspace:
        """The workspace ``workspace_id`` (its folder is made on the first save), under the server's disk budget, for a
        visitor at client ``address`` (None: this machine).

        LabError for an id that is malformed or not issued here, or for a wrong setting in the environment.
        """
        base = base or data_dir()
        check_workspace_id(workspace_id, base)
        return cls(workspace_id, base / WORKSPACES / workspace_id, workspace_cap_bytes(), max_runs,
                   DiskBudget.from_env(base), owner_tag(address, base))

    @property
    def owner(self) -> str | None:
        """Whose share its files count against: the address that made it, else the one saving into it now."""
        return disk.owner_of(self.root) or self.visitor

    def _make_room(self, needed_bytes: int, in_use: Collection[str]) -> None:
        if self.budget is not None:
            self.budget.make_room(needed_bytes, in_use={self.id, *in_use}, owner=self.owner)

    def _written(self) -> None:
        """After every change to its folder: its owner recorded, its last use, and its size counted again."""
        if self.visitor is not None and self.root.is_dir():
            disk.set_owner(self.root, self.visitor)
        disk.touch(self.root)
        disk.refresh(self.root)

    def touch(self) -> None:
        """Record a use (the app calls it when a session opens the workspace): the least recently used expire first."""
        disk.touch(self.root)

    def expired_on(self) -> str | None:
        """The day its runs were deleted to make room on the server, or None."""
        return disk.expired_on(self.root)

    # ---- a run training for it: said on the next visit if it never finished (the server restarted meanwhile)

    def note_training(self, started: str) -> None:
        """A job started for this workspace at ``started`` (ISO time); the folder is made if it has none yet."""
        with disk.SAVE_LOCK:
            self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
            disk.write_marker(self.root / TRAINING_FILE, started[:32])
            self._written()

    def training_over(self) -> None:
        """Its job ended (done, failed or stopped): nothing to say next time."""
        (self.root / TRAINING_FILE).unlink(missing_ok=True)

    def unfinished_training(self) -> str | None:
        """When a job started that never reported its end (ISO time), or None."""
        try:
            return (self.root / TRAINING_FILE).read_text(encoding="ascii").strip()[:32] or "?"
        except (FileNotFoundError, NotADirectoryError, UnicodeDecodeError):
            return None

    def _run_dir(self, run_id: str) -> Path:
        if not RUN_ID.fullmatch(run_id):  # bundles' ids passed the same pattern; this guards every other caller
            raise LabError("err_bundle_field", field="run_id")
        return self.root / run_id

    def run_ids(self) -> list[str]:
        """Saved runs, oldest first: in the order they were saved (their recorded sequence numbers).

        Folders saved before sequences were recorded come first, by name. Saves in one process take turns
        (``disk.SAVE_LOCK``); two server processes saving into one workspace at once could record the same number,
        and then the name decides.
        """
        return [name for name, _ in sorted(self._sequences().items(), key=lambda item: (item[1], item[0]))]

    def _sequences(self) -> dict[str, int]:
        """Each saved run's sequence number (0 where none was recorded)."""
        if not self.root.is_dir():
            return {}
        found = {}
        for entry in self.root.iterdir():
            if RUN_ID.fullmatch(entry.name) and entry.is_dir() and not entry.is_symlink():
                try:
                    text = (entry / SEQUENCE_FILE).read_text(encoding="ascii")
                except FileNotFoundError:
                    if not entry.is_dir():  # pruned by another tab of the same workspace just now
                        continue
                    text = ""
                found[entry.name] = int(text) if text.isascii() and text.isdigit() else 0
        return found

    def run_bytes(self, run_id: str) -> int:
        folder = self._run_dir(run_id)
        return sum(f.stat().st_size for f in folder.iterdir() if f.is_file()) if folder.is_dir() else 0

    def size_bytes(self) -> int:
        return sum(self.run_bytes(run_id) for run_id in self.run_ids()) + self.dataset_bytes() + self.basket_bytes()

    # ---- the workspace's dataset

    def dataset_bytes(self) -> int:
        folder = self.root / DATASET_DIR
        return sum(f.stat().st_size for f in folder.iterdir() if f.is_file()) if folder.is_dir() else 0

    def save_dataset(self, dataset: Dataset, in_use: Collection[str] = ()) -> DatasetSaved:
        """Keep ``dataset`` as the workspace's (replacing the one kept before); a sample or a task is kept by name.

        A file of more than DATASET_ALLOWANCE_BYTES is recorded by its description alone and kept once a run is trained
        on it (``DatasetKept.WITH_RUN``). Within the workspace's cap (its oldest runs go to make room) and the server's
        budget; LabError when the data alone is bigger than the cap or than a bundle's data.csv may be, or the budget
        cannot make room.
        """
        meta = _dataset_meta(dataset)
        members = {}
        if dataset.source not in KEPT_BY_SPEC:
            members["data.csv"] = dataset.frame.to_csv(index_label="Date").encode()
        csv_bytes = sum(len(blob) for blob in members.values())
        if csv_bytes > self.cap_bytes or csv_bytes > LOCAL_LIMITS.max_csv_bytes:
            raise LabError("err_ws_dataset_too_big", size_mb=round(csv_bytes / _MB, 1),
                           limit_mb=min(self.cap_bytes, LOCAL_LIMITS.max_csv_bytes) // _MB)
        kept = DatasetKept.KEPT
        if csv_bytes > DATASET_ALLOWANCE_BYTES:  # uploads alone must not fill the server: kept with its first run
            meta["fingerprint"], members, kept = dataset.fingerprint, {}, DatasetKept.WITH_RUN
        members[DATASET_JSON] = json.dumps(meta).encode()
        with disk.SAVE_LOCK:
            growth = disk.folder_estimate([len(blob) for blob in members.values()])
            self._make_room(max(growth - disk.tree_bytes(self.root / DATASET_DIR), 0) + MARKER_BYTES, in_use)
            self._write_folder(self.root / DATASET_DIR, members)
            self._prune(keep="")
            self._written()
        return DatasetSaved(kept, csv_bytes)

    def _keep_dataset_with(self, run: Run) -> None:
        """A dataset waiting for a run to be kept with (save_dataset's WITH_RUN): when ``run`` was trained on it, the
        run's data.csv is its file from now on."""
        path = self.root / DATASET_DIR / DATASET_JSON
        try:
            meta = json.loads(path.read_bytes()[:MAX_DATASET_JSON])
        except (OSError, ValueError):
            return
        if not isinstance(meta, dict) or "fingerprint" not in meta or meta.get("in_run"):
            return
        if meta["fingerprint"] == frame_fingerprint(run.frame):
            meta["in_run"] = run.run_id
            self._write_folder(self.root / DATASET_DIR, {DATASET_JSON: json.dumps(meta).encode()})

    def load_dataset(self) -> Dataset | None:
        """The dataset kept with the workspace; else the one its newest run was trained on; None when it has neither.

        LabError when the kept one cannot be read (a damaged file), or was too big to keep without a run and none was
        trained on it: the caller says so rather than switch silently.
        """
        folder = self.root / DATASET_DIR
        if (folder / DATASET_JSON).is_file():
            return _read_dataset(folder, self.root)
        ids = self.run_ids()
        if not ids:
            return None
        run_json = json.loads((self._run_dir(ids[-1]) / "run.json").read_bytes()[:LOCAL_LIMITS.max_json_bytes])
        frame = parse_data_csv((self._run_dir(ids[-1]) / "data.csv").read_bytes(), LOCAL_LIMITS)
        return _dataset_from_name(str(run_json.get("dataset", ids[-1]))[:200], frame)

    def save(self, run: Run, in_use: Collection[str] = ()) -> Saved:
        """Write ``run`` (replacing a run with its id), then delete the oldest others beyond the caps.

        Under a disk budget, room is made first: idle workspaces other than this one and ``in_use`` (those open in
        live sessions) may expire. LabError when the run alone exceeds the cap or the budget cannot make room;
        OSError when the disk refuses.
        """
        members = bundle_members(run)
        size = sum(len(blob) for blob in members.values())
        too_big = (size > self.cap_bytes or len(members["data.csv"]) > LOCAL_LIMITS.max_csv_bytes
                   or len(members["weights.safetensors"]) > LOCAL_LIMITS.max_weights_bytes)
        if too_big:  # what is saved must load again under LOCAL_LIMITS
            raise LabError("err_ws_run_too_big", size_mb=round(size / _MB, 1), limit_mb=self.cap_bytes // _MB)
        with disk.SAVE_LOCK:
            self._make_room(self._growth(run.run_id, size, disk.folder_estimate([len(b) for b in members.values()])),
                            in_use)
            self._write(run.run_id, members)
            self._keep_dataset_with(run)
            pruned = tuple(self._prune(keep=run.run_id))
            self._written()
        return Saved(run.run_id, pruned)

    def _growth(self, run_id: str, size: int, on_disk: int) -> int:
        """Bytes on disk the data dir gains once ``run_id`` (``size`` bytes of files, ``on_disk`` in blocks) is saved
        and the caps are applied again."""
        order = [i for i in self.run_ids() if i != run_id] + [run_id]
        sizes = {i: self.run_bytes(i) for i in order[:-1]} | {run_id: size}
        leaving = [run_id, *self._prune_plan(order, sizes, keep=run_id)]  # replaced, then pruned by the caps
        freed = sum(disk.tree_bytes(self._run_dir(i)) for i in leaving)
        return max(on_disk + MARKER_BYTES - freed, 0)

    def _write(self, run_id: str, members: dict[str, bytes]) -> None:
        # inside the staging folder: the run appears under its id with its place in the order already recorded
        sequence = str(max(self._sequences().values(), default=0) + 1).encode("ascii")
        self._write_folder(self._run_dir(run_id), {**members, SEQUENCE_FILE: sequence})

    def _write_folder(self, target: Path, members: dict[str, bytes]) -> None:
        """``members`` as the files of folder ``target``, replacing it whole: a crash leaves the old one or the new."""
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        disk.clear_tombstone(self.root)
        staging = self.root / f".tmp-{secrets.token_hex(6)}"  # a crash mid-write leaves no half folder under its name
        staging.mkdir(mode=0o700)
        try:
            for name, blob in members.items():
                (staging / name).write_bytes(blob)
            if target.exists():
                old = self.root / f".old-{secrets.token_hex(6)}"
                target.rename(old)
                shutil.rmtree(old, ignore_errors=True)
            staging.rename(target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _prune_plan(self, order: list[str], sizes: dict[str, int], keep: str, basket: int | None = None) -> list[str]:
        """The oldest runs of ``order`` (oldest first) to delete so that the rest, the dataset and the basket run (its
        bytes on disk, or ``basket`` for one about to replace it) fit both caps."""
        basket = self.basket_bytes() if basket is None else basket
        total, pruned = sum(sizes.values()) + self.dataset_bytes() + basket, []
        for run_id in order:
            if len(order) - len(pruned) <= self.max_runs and total <= self.cap_bytes:
                break
            if run_id != keep:
                pruned.append(run_id)
                total -= sizes[run_id]
        return pruned

    def _prune(self, keep: str) -> list[str]:
        ids = self.run_ids()
        pruned = self._prune_plan(ids, {run_id: self.run_bytes(run_id) for run_id in ids}, keep)
        for run_id in pruned:
            self.delete(run_id)
        return pruned

    def delete(self, run_id: str) -> None:
        shutil.rmtree(self._run_dir(run_id), ignore_errors=True)
        disk.refresh(self.root)

    def load(self, run_id: str) -> Run:
        """One saved run, with the scores this server computed (not re-scored: only the server writes here).

        The same files saved in several workspaces (a run a class shared) open as one ``Run`` while any session holds
        it, so what pages make from it (its baselines' forecasts, the Forecast page's report) is made once.
        """
        folder = self._run_dir(run_id)
        return _open_once(folder / "run.json", _opened, lambda run, _record: _files_match(folder, run),
                          lambda: load_bundle(folder, limits=LOCAL_LIMITS, rescore=False))

    # ---- the latest basket run (lstm_core.basket): one bundle, replaced by the next

    def basket_bytes(self) -> int:
        folder = self.root / BASKET_DIR
        if not folder.is_dir() or folder.is_symlink():
            return 0
        return sum(f.lstat().st_size for f in folder.iterdir() if f.is_file() and not f.is_symlink())

    def save_basket(self, saved: SavedBasket, basket: Basket, in_use: Collection[str] = ()) -> tuple[str, ...]:
        """Keep a basket run's bundle as the workspace's basket run (replacing the one before), so that a refresh or
        a restart brings it back; the ids of the runs deleted to make room. Within the workspace's cap (its oldest
        runs go first) and the server's budget; LabError when the bundle alone is bigger than the cap or than a bundle
        may be to load again (its files, or the cost of scoring it again); OSError when the disk refuses."""
        from lstm_core.basket.bundle import RECORD, basket_members, check_scoring_cost

        members = basket_members(saved, basket)
        size = sum(len(blob) for blob in members.values())
        limits = {".csv": LOCAL_LIMITS.max_csv_bytes, ".safetensors": LOCAL_LIMITS.max_weights_bytes,
                  RECORD: LOCAL_LIMITS.max_json_bytes}
        too_big = size > self.cap_bytes or any(len(blob) > limit for name, blob in members.items()
                                               for suffix, limit in limits.items() if name.endswith(suffix))
        if too_big:
            raise LabError("err_ws_run_too_big", size_mb=round(size / _MB, 1), limit_mb=self.cap_bytes // _MB)
        check_scoring_cost([ds.frame for ds in basket.datasets], saved.config, LOCAL_LIMITS)
        with disk.SAVE_LOCK:
            on_disk = disk.folder_estimate([len(blob) for blob in members.values()])
            order = self.run_ids()
            sizes = {run_id: self.run_bytes(run_id) for run_id in order}
            freed = sum(disk.tree_bytes(self._run_dir(run_id))  # the runs the caps will delete once it is written
                        for run_id in self._prune_plan(order, sizes, keep="", basket=size))
            growth = on_disk - disk.tree_bytes(self.root / BASKET_DIR) - freed
            self._make_room(max(growth, 0) + MARKER_BYTES, in_use)
            self._write_folder(self.root / BASKET_DIR, members)
            pruned = tuple(self._prune(keep=""))
            self._written()
        return pruned

    def load_basket(self) -> tuple[SavedBasket, Basket] | None:
        """The kept basket run, scored again from its bundle (lstm_core.basket.bundle) the first time these files are
        read on this server, then the same objects while they are unchanged (a refresh, another session); None when it
        has none, LabError when its files are damaged."""
        from lstm_core.basket.bundle import RECORD, load_basket_bundle

        folder = self.root / BASKET_DIR
        if not folder.is_dir() or folder.is_symlink():
            return None
        return _open_once(folder / RECORD, _opened_baskets, lambda _kept, record: _basket_files_match(folder, record),
                          lambda: load_basket_bundle(folder, LOCAL_LIMITS), most=MAX_OPENED_BASKETS)

    def load_all(self) -> tuple[list[Run], list[LabError]]:
        """Every saved run, oldest first, and a sentence for each one that could not be opened."""
        runs, problems = [], []
        for run_id in self.run_ids()[-self.max_runs :]:
            try:
                runs.append(self.load(run_id))
            except LabError as err:
                problems.append(err)
        return runs, problems


_NAME_SUFFIXES = {Source.SAMPLE: " (sample)", Source.CSV: " (CSV)", Source.YAHOO: " (Yahoo)"}  # as the loaders name them
_QUALITY_TYPES = {f.name: f.type for f in fields(DataQuality)}


KEPT_BY_SPEC = frozenset({Source.SAMPLE, Source.TASK})  # made again from a name or a spec: no file to keep


def _dataset_meta(dataset: Dataset) -> dict[str, object]:
    return {"name": dataset.name, "source": str(dataset.source), "subject": dataset.subject, "seed": dataset.seed,
            "from_cache": dataset.from_cache, "quality": asdict(dataset.quality),
            "task": dataset.task.source if dataset.task is not None else None}


def _read_dataset(folder: Path, root: Path) -> Dataset:
    """The dataset a workspace kept; LabError ``err_ws_dataset`` when its files are not what ``save_dataset`` wrote,
    ``err_ws_dataset_not_kept`` when it waited for a run that was never trained on it (or has been deleted since)."""
    try:
        meta = json.loads((folder / DATASET_JSON).read_bytes()[:MAX_DATASET_JSON])
        source, subject = Source(meta["source"]), str(meta["subject"])
        if source == Source.SAMPLE:
            return load_sample(subject)
        if source == Source.TASK:  # a task is drawn again from its spec, bounded like any other
            return load_source(str(meta["task"]))
        csv = folder / "data.csv"
        if "fingerprint" in meta:  # kept with the run trained on it
            run_id = str(meta.get("in_run") or "")
            csv = root / run_id / "data.csv" if RUN_ID.fullmatch(run_id) else folder / "missing"
            if not csv.is_file():
                raise LabError("err_ws_dataset_not_kept", name=str(meta["name"])[:200],
                               limit_mb=DATASET_ALLOWANCE_BYTES // _MB)
        frame = parse_data_csv(csv.read_bytes(), LOCAL_LIMITS)
        quality = {k: tuple(v) if k == "columns_dropped" else v for k, v in meta["quality"].items() if k in _QUALITY_TYPES}
        return Dataset(name=str(meta["name"])[:200], source=source, frame=frame, quality=DataQuality(**quality),
                       from_cache=bool(meta["from_cache"]), subject=subject[:200], seed=int(meta["seed"]))
    except LabError as err:
        if err.key == "err_ws_dataset_not_kept":
            raise
        raise LabError("err_ws_dataset") from err
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise LabError("err_ws_dataset") from exc


def _dataset_from_name(name: str, frame: pd.DataFrame) -> Dataset | None:
    """A run's data as a dataset, named as the run names it (workspaces saved before datasets were kept); None for a
    memory task's, whose spec only a kept dataset records."""
    if "Answer" in frame.columns:
        return None
    # a synthetic series has no suffix: its title is its name
    source, subject = next(((src, name[: -len(suffix)]) for src, suffix in _NAME_SUFFIXES.items()
                            if name.endswith(suffix)), (Source.SYNTHETIC, ""))
    if source == Source.SAMPLE:
        try:
            return load_sample(subject)
        except LabError:  # a sample this server does not bundle: the run's own copy
            pass
    frame, quality = tidy(frame)
    return Dataset(name=name, source=source, frame=frame, quality=quality, subject=subject)


def _open_once(record_path: Path, opened, matches: Callable[[T, bytes], bool], load: Callable[[], T],
               most: int | None = None) -> T:
    """What ``load()`` opens from a bundle folder, once per server for the same files: kept in ``opened`` by the hash
    of its record file (which holds every other file's checksum) and given again while ``matches`` says the files are
    still those (a damaged copy is opened, and refused, as itself); at most ``most`` kept, the oldest dropped."""
    try:
        record = record_path.read_bytes()[: LOCAL_LIMITS.max_json_bytes + 1]
        digest = hashlib.sha256(record).hexdigest()
    except OSError:
        record, digest = b"", None  # load() says what is wrong
    if digest is not None:
        with _opened_lock:
            found = opened.get(digest)
        if found is not None and matches(found, record):
            return found
    found = load()
    if digest is not None:
        with _opened_lock:
            found = opened.setdefault(digest, found)
            while most is not None and len(opened) > most:
                opened.pop(next(iter(opened)))  # the oldest opened
    return found


def _basket_files_match(folder: Path, record: bytes) -> bool:
    """The files in ``folder`` are the ones its basket.json ``record`` names, by their SHA-256 (a damaged copy is
    opened, and refused, as itself)."""
    try:
        meta = json.loads(record)
        expected = {**meta["sha256"], **{item["file"]: item["sha256"] for item in meta["series"]}}
        return all(not (folder / name).is_symlink()
                   and hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest
                   for name, digest in expected.items())
    except (OSError, ValueError, KeyError, TypeError):
        return False


def _files_match(folder: Path, run: Run) -> bool:
    """The bundle files in ``folder`` are the ones ``run`` was opened from (a few ms: a damaged copy is opened, and
    refused, as itself)."""
    expected = bundle_members(run)
    try:
        return all(len(blob) == (folder / name).stat().st_size and (folder / name).read_bytes() == blob
                   for name, blob in expected.items() if name != "run.json")
    except OSError:
        return False


def local_bundles(folder: str | Path) -> list[Path]:
    """Bundle folders at ``folder`` itself or one level below it, in name order, at most MAX_LOCAL_BUNDLES (local mode).

    Name order, not file times: the command line's folders are named by whoever ran it, a copy or an unzip resets
    their times, and the list must not change order between two reruns of the page.
    """
    root = Path(folder).expanduser()
    if not root.is_dir():
        return []
    if all((root / name).is_file() for name in BUNDLE_FILES):
        return [root]
    found = []
    for entry in sorted(root.iterdir()):
        if entry.is_dir() and (entry / "run.json").is_file():
            found.append(entry)
            if len(found) >= MAX_LOCAL_BUNDLES:
                break
    return found
