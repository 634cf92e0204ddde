"""Tests of lstm_core.disk: the server-wide budget counts every file, expires idle workspaces least recently used first
(never one in use), then the oldest downloads, and sweeps what a crash mid-save left.

Every test has its own LSTM_LAB_DATA and LSTM_LAB_CACHE (conftest's isolated_cache). Uses are recorded numbers, so
the tests write them directly instead of waiting for a clock to move.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import replace
from pathlib import Path

import pytest

from lstm_core.data.sources import cache_dir
from lstm_core.disk import (
    DEFAULT_DATA_MB,
    EXPIRED_FILE,
    IN_USE_GRACE_S,
    USED_FILE,
    DiskBudget,
    data_budget_bytes,
    expire,
    expired_on,
    last_used_ns,
    sweep_leftovers,
    touch,
    tree_bytes,
)
from lstm_core.errors import LabError
from lstm_core.runs import Run, train_run
from lstm_core.workspace import Workspace, data_dir, new_workspace_id
from tests.helpers import TINY, copy_of, tiny_frame

NOW_NS = 2_000_000_000 * 10**9  # a fixed "now" (2033): recorded uses below are seconds before it
HOUR_NS = 3600 * 10**9


@pytest.fixture(scope="module")
def run() -> Run:
    return train_run(tiny_frame(), "sine", TINY)


def walked_bytes(*roots: Path) -> int:
    """The reference count: os.walk over every regular file, independent of tree_bytes."""
    total = 0
    for root in roots:
        for folder, _, names in os.walk(root):
            total += sum(os.lstat(os.path.join(folder, n)).st_size for n in names
                         if not os.path.islink(os.path.join(folder, n)))
    return total


def budget(limit_bytes: int) -> DiskBudget:
    return DiskBudget(data_dir(), cache_dir(), limit_bytes)


def saved_workspace(run: Run, run_id: str, used_ns: int) -> Workspace:
    ws = Workspace.open(new_workspace_id(), 10)
    ws.save(copy_of(run, run_id))
    touch(ws.root, used_ns)
    return ws


def cache_file(name: str, size: int, written_ns: int) -> Path:
    path = cache_dir() / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    os.utime(path, ns=(written_ns, written_ns))
    return path


# ---------------------------------------------------------------- settings and counting


def test_the_budget_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv("LSTM_LAB_DATA_MB", raising=False)
    assert data_budget_bytes() == DEFAULT_DATA_MB << 20 == 2048 << 20
    monkeypatch.setenv("LSTM_LAB_DATA_MB", "300")
    assert data_budget_bytes() == 300 << 20 and DiskBudget.from_env().limit_bytes == 300 << 20
    for bad in ("0", "-5", "2.5", "lots", "²"):
        monkeypatch.setenv("LSTM_LAB_DATA_MB", bad)
        with pytest.raises(LabError) as err:
            data_budget_bytes()
        assert err.value.key == "err_disk_env"
        with pytest.raises(LabError):  # a workspace cannot open under a wrong budget: runs stay in the tab
            Workspace.open(new_workspace_id(), 10)


def test_everything_under_the_data_dir_and_the_cache_counts(run):
    ws = saved_workspace(run, "r0", NOW_NS)
    (ws.root / ".tmp-crash").mkdir()
    (ws.root / ".tmp-crash" / "weights.safetensors").write_bytes(b"w" * 7000)  # a crash mid-save: counted
    journal = data_dir() / "tune" / "studies.journal"
    journal.parent.mkdir(parents=True)
    journal.write_bytes(b"j" * 5000)
    cache_file("MSFT_1d_2020-01-01_2021-01-01.csv", 3000, 10**18)
    usage = budget(1 << 30).usage()
    assert usage.total_bytes == walked_bytes(data_dir(), cache_dir())
    assert [w.id for w in usage.workspaces] == [ws.id]
    assert usage.workspaces[0].bytes == walked_bytes(ws.root) == ws.size_bytes() + 7000 + len(str(NOW_NS))
    assert usage.workspaces[0].removable_bytes == usage.workspaces[0].bytes - len(str(NOW_NS))
    assert usage.other_bytes == 5000 + (data_dir() / "server.key").stat().st_size  # the journal and the key
    assert [(f.path.name, f.bytes) for f in usage.cache_files] == [("MSFT_1d_2020-01-01_2021-01-01.csv", 3000)]


def test_a_cache_inside_the_data_dir_is_counted_once(monkeypatch, run):
    monkeypatch.setenv("LSTM_LAB_CACHE", str(data_dir() / "cache"))
    saved_workspace(run, "r0", NOW_NS)
    cache_file("A_1d_x_y.csv", 4000, 10**18)
    usage = budget(1 << 30).usage()
    assert usage.total_bytes == walked_bytes(data_dir()) and sum(f.bytes for f in usage.cache_files) == 4000


def test_uses_are_recorded_numbers_and_a_workspace_never_saved_gets_no_folder():
    root = data_dir() / "workspaces" / new_workspace_id()
    touch(root, NOW_NS)
    assert not root.exists()  # opening a link must not make folders: ids cost nothing to get
    root.mkdir(parents=True)
    assert last_used_ns(root) == 0  # saved before uses were recorded: the oldest there is
    touch(root, NOW_NS)
    os.utime(root / USED_FILE, ns=(1, 1))  # file times say nothing
    assert last_used_ns(root) == NOW_NS


# ---------------------------------------------------------------- making room


def test_the_least_recently_used_idle_workspace_expires_first_and_never_one_in_use(run):
    in_use = saved_workspace(run, "a", NOW_NS - 9 * HOUR_NS)  # the oldest use, but a live session has it open
    oldest_idle = saved_workspace(run, "b", NOW_NS - 8 * HOUR_NS)
    newer_idle = saved_workspace(run, "c", NOW_NS - 7 * HOUR_NS)
    recent = saved_workspace(run, "d", NOW_NS - int(IN_USE_GRACE_S * 1e9) + HOUR_NS // 3600)  # within the grace
    download = cache_file("MSFT_1d_2020-01-01_2021-01-01.csv", 3000, 10**18)
    one_run = newer_idle.size_bytes()
    limit = budget(1 << 40).usage().total_bytes + one_run // 2  # half a run of room: the next save needs more

    freed = budget(limit).make_room(one_run, in_use={in_use.id}, now_ns=NOW_NS)
    assert freed.workspaces == (oldest_idle.id,) and freed.cache_files == 0
    assert freed.bytes == one_run + len(str(NOW_NS - 8 * HOUR_NS))  # its run and its .used; the tombstone stays
    assert oldest_idle.run_ids() == [] and oldest_idle.expired_on() is not None
    assert [p.name for p in oldest_idle.root.iterdir()] == [EXPIRED_FILE]
    assert in_use.run_ids() == ["a"] and newer_idle.run_ids() == ["c"] and recent.run_ids() == ["d"]
    assert download.exists()  # idle workspaces go before downloads
    assert budget(limit).usage().total_bytes + one_run <= limit

    limit = budget(1 << 40).usage().total_bytes + one_run // 2
    assert budget(limit).make_room(one_run, in_use={in_use.id}, now_ns=NOW_NS).workspaces == (newer_idle.id,)
    # no idle workspace is left: the oldest download goes next
    limit = budget(1 << 40).usage().total_bytes + one_run - 1000
    freed = budget(limit).make_room(one_run, in_use={in_use.id}, now_ns=NOW_NS)
    assert (freed.workspaces, freed.cache_files, freed.bytes) == ((), 1, 3000) and not download.exists()
    # nothing else may go: refused, and nothing was deleted for a save that could not happen anyway
    before = walked_bytes(data_dir(), cache_dir())
    with pytest.raises(LabError) as err:
        budget(before).make_room(one_run, in_use={in_use.id}, now_ns=NOW_NS)
    assert err.value.key == "err_disk_full" and err.value.params == {"limit_mb": before >> 20}
    assert walked_bytes(data_dir(), cache_dir()) == before
    assert in_use.run_ids() == ["a"] and recent.run_ids() == ["d"]


def test_a_save_makes_room_within_the_budget_and_keeps_the_saving_workspace(run):
    idle = saved_workspace(run, "old", 1)  # idle for decades
    mine = saved_workspace(run, "m0", 2)  # idle by its recorded use too: being the one saving protects it
    one_run = mine.size_bytes()
    limit = walked_bytes(data_dir(), cache_dir()) + one_run // 2
    mine = replace(mine, budget=budget(limit))
    assert mine.save(copy_of(run, "m1")).pruned == ()
    assert idle.run_ids() == [] and idle.expired_on() is not None and mine.run_ids() == ["m0", "m1"]
    assert walked_bytes(data_dir(), cache_dir()) <= limit
    with pytest.raises(LabError) as err:  # only the saving workspace is left
        mine.save(copy_of(run, "m2"))
    assert err.value.key == "err_disk_full" and mine.run_ids() == ["m0", "m1"]
    # its own oldest run makes room when its own cap prunes it anyway: that save goes through
    capped = replace(mine, max_runs=2)
    assert capped.save(copy_of(run, "m2")).pruned == ("m0",) and capped.run_ids() == ["m1", "m2"]
    assert walked_bytes(data_dir(), cache_dir()) <= limit


def test_saving_again_in_an_expired_workspace_clears_its_tombstone(run):
    ws = saved_workspace(run, "r0", NOW_NS)
    expire(ws.root, now=dt.datetime(2025, 3, 4, 12, 0, tzinfo=dt.UTC))
    assert ws.expired_on() == expired_on(ws.root) == "2025-03-04" and ws.run_ids() == []
    ws.save(copy_of(run, "r1"))
    assert ws.expired_on() is None and ws.run_ids() == ["r1"]


def test_a_download_trims_only_the_oldest_downloads(run):
    ws = saved_workspace(run, "r0", 1)  # idle for decades, yet a download never costs a run
    files = [cache_file(f"T{k}_1d_a_b.csv", 1000, 10**18 + k) for k in (2, 0, 1)]  # written in the order 1, 2, 0
    limit = walked_bytes(data_dir(), cache_dir()) - 1500
    freed = budget(limit).trim_cache()
    assert (freed.workspaces, freed.cache_files, freed.bytes) == ((), 2, 2000)
    assert [f.exists() for f in files] == [True, False, False] and ws.run_ids() == ["r0"]
    freed = budget(1).trim_cache()  # the runs alone exceed it: the cache keeps nothing, the runs stay
    assert freed.cache_files == 1 and not files[0].exists() and ws.run_ids() == ["r0"]


# ---------------------------------------------------------------- crash leftovers


def test_crash_leftovers_count_until_the_server_sweeps_them(run):
    ws = saved_workspace(run, "r0", NOW_NS)
    for name, size in ((".tmp-1a2b", 4096), (".old-3c4d", 2048)):
        (ws.root / name).mkdir()
        (ws.root / name / "data.csv").write_bytes(b"x" * size)
    partial = cache_file("MSFT_1d_a_b.part", 512, 10**18)
    kept = cache_file("MSFT_1d_a_b.csv", 256, 10**18)
    before = budget(1 << 30).usage().total_bytes
    assert before == walked_bytes(data_dir(), cache_dir())
    swept = sweep_leftovers(data_dir(), cache_dir())
    assert (swept.count, swept.bytes) == (3, 4096 + 2048 + 512)
    assert budget(1 << 30).usage().total_bytes == before - swept.bytes
    assert sorted(p.name for p in ws.root.iterdir()) == [USED_FILE, "r0"] and not partial.exists() and kept.exists()
    assert ws.load_all()[1] == []


def test_the_app_sweeps_leftovers_once_when_it_starts(run):
    from streamlit.testing.v1 import AppTest

    ws = saved_workspace(run, "r0", NOW_NS)
    (ws.root / ".tmp-crash").mkdir()
    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"), default_timeout=60).run()
    assert not at.exception
    assert not (ws.root / ".tmp-crash").exists() and ws.run_ids() == ["r0"]
    (ws.root / ".tmp-later").mkdir()  # a save in progress looks the same: not swept again in this process
    at.run()
    assert (ws.root / ".tmp-later").exists()


def test_tree_bytes_skips_links_and_what_it_is_told_to(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "f").write_bytes(b"x" * 100)
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "g").write_bytes(b"x" * 50)
    (tmp_path / "link").symlink_to(tmp_path / "a" / "f")
    assert tree_bytes(tmp_path) == 150 and tree_bytes(tmp_path, skip={str(tmp_path / "b")}) == 100
    assert tree_bytes(tmp_path / "missing") == 0


def test_a_download_in_the_app_trims_the_oldest_downloads(monkeypatch, fresh_streamlit_cache, prices):
    import lstm_core.data as data
    from ui.loaders import cached_yahoo

    old = cache_file("OLD_1d_2019-01-01_2019-06-01.csv", 1 << 20, 10**18)  # 1 MB, the oldest download
    monkeypatch.setattr(data.sources, "download_yahoo", lambda *args: prices(120))
    monkeypatch.setenv("LSTM_LAB_DATA_MB", "1")
    loaded = cached_yahoo("MSFT", "2020-01-01", "2020-07-01", "1d", False)
    assert len(loaded.frame) == 120 and not loaded.from_cache
    new = cache_dir() / "MSFT_1d_2020-01-01_2020-07-01.csv"
    assert not old.exists() and new.exists()  # 1 MB + the new file exceeded the budget: the oldest went
    assert budget(1 << 20).usage().total_bytes <= 1 << 20
