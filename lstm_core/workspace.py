"""A visitor's runs on the server's disk: one folder per workspace, named by an unguessable id that only its URL holds.

Layout: ``<data dir>/workspaces/<workspace id>/<run id>/`` with a bundle's four files. The data dir is
``$LSTM_LAB_DATA`` or ``~/.local/share/lstm-lab``. Nothing lists the workspaces: knowing the id (from
``secrets.token_urlsafe``, 192 random bits) is the only way in, and both ids are checked against a strict
pattern before they become a path. Each workspace keeps at most ``$LSTM_LAB_WORKSPACE_MB`` (default 200) and
``max_runs`` runs; saving beyond that deletes the oldest.

Local mode (``LSTM_LAB_LOCAL=1``, for someone running the app on their own computer) also lets the app open
bundle folders the command line wrote with ``--out``; a hosted server never sets it.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

from lstm_core.bundle_schema import BUNDLE_FILES, RUN_ID
from lstm_core.bundles import LOCAL_LIMITS, bundle_members, load_bundle
from lstm_core.errors import LabError
from lstm_core.runs import Run

WORKSPACE_ID = re.compile(r"[A-Za-z0-9_-]{32}")  # what secrets.token_urlsafe(24) makes
SEQUENCE_FILE = ".seq"  # in each run folder: its place in the workspace's order of saves (1, 2, ...)
DEFAULT_WORKSPACE_MB = 200
MAX_LOCAL_BUNDLES = 200  # bundle folders listed from one local folder
_MB = 1 << 20


def data_dir() -> Path:
    """Where the app keeps what must outlive a browser session."""
    return Path(os.environ.get("LSTM_LAB_DATA") or Path.home() / ".local" / "share" / "lstm-lab")


def workspace_cap_bytes() -> int:
    """``$LSTM_LAB_WORKSPACE_MB`` in bytes; LabError when it is not a whole number >= 1."""
    raw = os.environ.get("LSTM_LAB_WORKSPACE_MB", "").strip() or str(DEFAULT_WORKSPACE_MB)
    if not raw.isdigit() or int(raw) < 1:
        raise LabError("err_ws_env", value=raw[:20])
    return int(raw) * _MB


def is_local() -> bool:
    """True only where whoever runs the server said so: ``LSTM_LAB_LOCAL=1``."""
    return os.environ.get("LSTM_LAB_LOCAL") == "1"


def new_workspace_id() -> str:
    return secrets.token_urlsafe(24)


def is_workspace_id(text: object) -> bool:
    return isinstance(text, str) and WORKSPACE_ID.fullmatch(text) is not None


@dataclass(frozen=True)
class Saved:
    """What saving a run did: the runs deleted to stay within the caps."""

    run_id: str
    pruned: tuple[str, ...]


@dataclass(frozen=True)
class Workspace:
    """One visitor's folder of run bundles, capped in bytes and in runs."""

    id: str
    root: Path
    cap_bytes: int
    max_runs: int

    @classmethod
    def open(cls, workspace_id: str, max_runs: int, base: Path | None = None) -> Workspace:
        """The workspace ``workspace_id`` (its folder is made on the first save); LabError for a malformed id."""
        if not is_workspace_id(workspace_id):
            raise LabError("err_ws_bad_id")
        return cls(workspace_id, (base or data_dir()) / "workspaces" / workspace_id, workspace_cap_bytes(), max_runs)

    def _run_dir(self, run_id: str) -> Path:
        if not RUN_ID.fullmatch(run_id):  # bundles' ids passed the same pattern; this guards every other caller
            raise LabError("err_bundle_field", field="run_id")
        return self.root / run_id

    def run_ids(self) -> list[str]:
        """Saved runs, oldest first: in the order they were saved (their recorded sequence numbers).

        Folders saved before sequences were recorded come first, by name; two tabs saving at the same moment may
        record the same number, and then the name decides.
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
        return sum(self.run_bytes(run_id) for run_id in self.run_ids())

    def save(self, run: Run) -> Saved:
        """Write ``run`` (replacing a run with its id), then delete the oldest others beyond the caps.

        LabError when the run alone exceeds the cap; OSError when the disk refuses.
        """
        members = bundle_members(run)
        size = sum(len(blob) for blob in members.values())
        too_big = (size > self.cap_bytes or len(members["data.csv"]) > LOCAL_LIMITS.max_csv_bytes
                   or len(members["weights.safetensors"]) > LOCAL_LIMITS.max_weights_bytes)
        if too_big:  # what is saved must load again under LOCAL_LIMITS
            raise LabError("err_ws_run_too_big", size_mb=round(size / _MB, 1), limit_mb=self.cap_bytes // _MB)
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        target = self._run_dir(run.run_id)
        staging = self.root / f".tmp-{secrets.token_hex(6)}"  # a crash mid-write leaves no half bundle under a run id
        staging.mkdir(mode=0o700)
        try:
            for name, blob in members.items():
                (staging / name).write_bytes(blob)
            # inside the staging folder: the run appears under its id with its place in the order already recorded
            (staging / SEQUENCE_FILE).write_text(str(max(self._sequences().values(), default=0) + 1), encoding="ascii")
            if target.exists():
                old = self.root / f".old-{secrets.token_hex(6)}"
                target.rename(old)
                shutil.rmtree(old, ignore_errors=True)
            staging.rename(target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return Saved(run.run_id, tuple(self._prune(keep=run.run_id)))

    def _prune(self, keep: str) -> list[str]:
        ids = self.run_ids()
        sizes = {run_id: self.run_bytes(run_id) for run_id in ids}
        pruned = []
        for run_id in ids:
            if run_id == keep:
                continue
            if len(ids) - len(pruned) <= self.max_runs and sum(sizes.values()) <= self.cap_bytes:
                break
            self.delete(run_id)
            sizes.pop(run_id)
            pruned.append(run_id)
        return pruned

    def delete(self, run_id: str) -> None:
        shutil.rmtree(self._run_dir(run_id), ignore_errors=True)

    def load(self, run_id: str) -> Run:
        """One saved run, with the scores this server computed (not re-scored: only the server writes here)."""
        return load_bundle(self._run_dir(run_id), limits=LOCAL_LIMITS, rescore=False)

    def load_all(self) -> tuple[list[Run], list[LabError]]:
        """Every saved run, oldest first, and a sentence for each one that could not be opened."""
        runs, problems = [], []
        for run_id in self.run_ids()[-self.max_runs :]:
            try:
                runs.append(self.load(run_id))
            except LabError as err:
                problems.append(err)
        return runs, problems


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
