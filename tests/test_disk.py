"""Tests of lstm_core.store.disk: the server-wide budget counts every file and folder in the blocks it occupies, keeps each
client address to its share, expires tombstones, then idle workspaces and old journals least recently used first (never
one in use), then the oldest downloads, removes what has outlived its use, and sweeps what a crash mid-save left.

Every test has its own LSTM_LAB_DATA and LSTM_LAB_CACHE (conftest's isolated_cache). Uses are recorded numbers, so
the tests write them directly instead of waiting for a clock to move.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import os
import time
from dataclasses import replace
from pathlib import Path

import pytest

from lstm_core.data.sources import cache_dir
from lstm_core.errors import LabError
from lstm_core.runs.run import Run, train_run
from lstm_core.store import disk
from lstm_core.store.disk import (
    DEFAULT_DATA_MB,
    EXPIRED_FILE,
    IN_USE_GRACE_S,
    OWNER_FILE,
    USED_FILE,
    DiskBudget,
    data_budget_bytes,
    expire,
    expired_on,
    forget_counts,
    last_used_ns,
    sweep_leftovers,
    touch,
    tree_bytes,
)
from lstm_core.store.workspace import DatasetKept, Workspace, data_dir, new_workspace_id
from tests.helpers import TINY, copy_of, tiny_frame

NOW_NS = 2_000_000_000 * 10**9  # a fixed "now" (2033): recorded uses below are seconds before it
HOUR_NS = 3600 * 10**9


@pytest.fixture(scope="module")
def run() -> Run:
    return train_run(tiny_frame(), "sine", TINY)


def walked_bytes(*roots: Path) -> int:
    """The reference count, as ``du`` makes it: os.walk over every folder and file (links not followed), each by its
    allocated blocks; independent of tree_bytes."""
    total = 0
    for root in roots:
        if not root.exists():
            continue
        total += os.lstat(root).st_blocks * 512
        for folder, dirs, names in os.walk(root):
            total += sum(os.lstat(os.path.join(folder, n)).st_blocks * 512 for n in dirs + names)
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


def test_everything_under_the_data_dir_and_the_cache_counts_in_blocks(run):
    ws = saved_workspace(run, "r0", NOW_NS)
    (ws.root / ".tmp-crash").mkdir()
    (ws.root / ".tmp-crash" / "weights.safetensors").write_bytes(b"w" * 7000)  # a crash mid-save: counted
    journal = data_dir() / "tune" / "studies.journal"
    journal.parent.mkdir(parents=True)
    journal.write_bytes(b"j" * 5000)
    cache_file("MSFT_1d_2020-01-01_2021-01-01.csv", 3000, 10**18)
    forget_counts()  # the leftover was made behind the app's back: as a restarted server, count it
    usage = budget(1 << 30).usage()
    assert usage.total_bytes == walked_bytes(data_dir(), cache_dir())
    assert [w.id for w in usage.workspaces] == [ws.id]
    assert usage.workspaces[0].bytes == walked_bytes(ws.root) > ws.size_bytes() + 7000  # folders and whole blocks
    assert [(j.path.name, j.bytes) for j in usage.journals] == [("studies.journal", walked_bytes(journal))]
    assert [(f.path.name, f.bytes) for f in usage.cache_files] == [("MSFT_1d_2020-01-01_2021-01-01.csv", 4096)]
    key = data_dir() / "server.key"
    assert usage.other_bytes == (walked_bytes(data_dir(), cache_dir()) - walked_bytes(ws.root) - walked_bytes(journal)
                                 - 4096) > walked_bytes(key)  # the key and the folders


def test_a_folder_of_small_files_costs_its_blocks_not_its_bytes(tmp_path):
    """The old count said 10 MB for 20,000 workspaces that du put at 329 MB: many small files and folders."""
    folder = tmp_path / "small"
    folder.mkdir()
    for k in range(200):
        (folder / f"f{k}").write_bytes(b"x")  # 200 bytes of data
    assert tree_bytes(folder) == walked_bytes(folder) >= 200 * 4096
def test_a_cache_inside_the_data_dir_is_counted_once(monkeypatch, run):
    monkeypatch.setenv("LSTM_LAB_CACHE", str(data_dir() / "cache"))
    saved_workspace(run, "r0", NOW_NS)
    cache_file("A_1d_x_y.csv", 4000, 10**18)
    usage = budget(1 << 30).usage()
    assert usage.total_bytes == walked_bytes(data_dir()) and sum(f.bytes for f in usage.cache_files) == 4096


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
    uses = {w.id: w for w in budget(1 << 40).usage().workspaces}
    one_run = uses[newer_idle.id].removable_bytes  # what expiring one of them frees
    limit = budget(1 << 40).usage().total_bytes + one_run // 2  # half a run of room: the next save needs more

    freed = budget(limit).make_room(one_run, in_use={in_use.id}, now_ns=NOW_NS)
    assert freed.workspaces == (oldest_idle.id,) and freed.cache_files == 0
    assert freed.bytes == uses[oldest_idle.id].bytes - walked_bytes(oldest_idle.root) == one_run  # its tombstone stays
    assert oldest_idle.run_ids() == [] and oldest_idle.expired_on() is not None
    assert sorted(p.name for p in oldest_idle.root.iterdir()) == sorted([EXPIRED_FILE, OWNER_FILE])
    assert in_use.run_ids() == ["a"] and newer_idle.run_ids() == ["c"] and recent.run_ids() == ["d"]
    assert download.exists()  # idle workspaces go before downloads
    after = budget(limit).usage().total_bytes
    assert after == walked_bytes(data_dir(), cache_dir()) and after + one_run <= limit  # the ledger kept count

    # a tombstone goes before any run: here it is not enough, and the next idle workspace follows
    limit = budget(1 << 40).usage().total_bytes + one_run // 2
    tombstone = walked_bytes(oldest_idle.root)
    freed = budget(limit).make_room(one_run, in_use={in_use.id}, now_ns=NOW_NS)
    assert (freed.tombstones, freed.workspaces) == (1, (newer_idle.id,)) and not oldest_idle.root.exists()
    assert freed.bytes == tombstone + one_run
    # no idle workspace is left, only a tombstone and a download
    tombstone = walked_bytes(newer_idle.root)
    limit = budget(1 << 40).usage().total_bytes + one_run - tombstone - 1000
    freed = budget(limit).make_room(one_run, in_use={in_use.id}, now_ns=NOW_NS)
    assert (freed.workspaces, freed.tombstones, freed.cache_files) == ((), 1, 1) and not download.exists()
    assert freed.bytes == tombstone + 4096 and not newer_idle.root.exists()
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
    one_run = walked_bytes(mine.root / "m0")
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
    limit = walked_bytes(data_dir(), cache_dir()) - 6000  # two of them must go: a block each
    freed = budget(limit).trim_cache()
    assert (freed.workspaces, freed.cache_files, freed.bytes) == ((), 2, 8192)
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
    forget_counts()  # a crash left them: the server counts afresh when it starts
    before = budget(1 << 30).usage().total_bytes
    assert before == walked_bytes(data_dir(), cache_dir())
    swept = sweep_leftovers(data_dir(), cache_dir())
    assert (swept.count, swept.bytes) == (3, 2 * (4096 + 4096) + 4096)  # two folders of one file, and a download
    assert budget(1 << 30).usage().total_bytes == before - swept.bytes == walked_bytes(data_dir(), cache_dir())
    assert sorted(p.name for p in ws.root.iterdir()) == [OWNER_FILE, USED_FILE, "r0"] and not partial.exists()
    assert kept.exists() and ws.load_all()[1] == []


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
    assert tree_bytes(tmp_path) == walked_bytes(tmp_path)  # the link's own inode, never what it points to
    assert tree_bytes(tmp_path, skip={str(tmp_path / "b")}) == walked_bytes(tmp_path) - walked_bytes(tmp_path / "b")
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


# ---------------------------------------------------------------- a running count, fair shares, what outlives its use


def test_a_save_counts_its_own_workspace_not_every_other(run, monkeypatch):
    """The old budget walked every folder at every save (4 s each with 20,000 workspaces): now the data dir is walked
    once per process and a save counts the workspace it changed."""
    path = Path(__file__).resolve().parent.parent / "bench" / "disk.py"  # its data dir of full workspaces
    spec = importlib.util.spec_from_file_location("bench_disk", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    bench.build(data_dir(), workspaces=300, runs=2)
    forget_counts()
    counted = []
    real = disk._count_workspace
    monkeypatch.setattr(disk, "_count_workspace", lambda root: counted.append(root.name) or real(root))
    ws = Workspace.open(new_workspace_id(), 10)
    ws.save(copy_of(run, "s0"))
    assert len(counted) >= 300 and budget(1 << 40).ledger.walks == 1  # the first look walks them all
    counted.clear()
    for k in range(1, 6):
        ws.save(copy_of(run, f"s{k}"))
    assert set(counted) == {ws.id} and len(counted) <= 10 and budget(1 << 40).ledger.walks == 1
    assert budget(1 << 40).usage().total_bytes == walked_bytes(data_dir(), cache_dir())


def address_workspace(address: str) -> Workspace:
    return Workspace.open(new_workspace_id(), 10, address=address)


def big_dataset(seed: int, n_days: int = 40_000):
    from lstm_core.data import load_synthetic

    return load_synthetic("random_walk", n_days=n_days, seed=seed)  # about 2 MB as a file


def test_one_visitor_cannot_expire_everyone_elses_workspaces(run, monkeypatch):
    """The attack of the last release: fresh sessions (each a workspace in use) each keeping a 20 MB upload pushed every
    idle visitor's runs out. Now an upload alone is not kept, and one address's saves stop at its share."""
    monkeypatch.setenv("LSTM_LAB_DATA_MB", "8")
    monkeypatch.setenv("LSTM_LAB_ADDRESS_MB", "2")
    victims = [address_workspace("198.51.100.7") for _ in range(3)]
    for k, ws in enumerate(victims):
        ws.save(copy_of(run, f"v{k}"))
        touch(ws.root, time.time_ns() - 2 * HOUR_NS)  # idle for two hours: the first to go, before
    attacker, refused = [], None
    upload = big_dataset(seed=1)
    for _ in range(100):
        ws = address_workspace("203.0.113.9")
        attacker.append(ws)
        in_use = {w.id for w in attacker}  # every attacking session is live
        try:
            assert ws.save_dataset(upload, in_use=in_use).kept is DatasetKept.WITH_RUN  # its description, not 2 MB
            ws.save(copy_of(run, "a0"), in_use=in_use)
        except LabError as err:
            refused = err
            break
    assert refused is not None and refused.key == "err_disk_address_full" and refused.params == {"limit_mb": 2}
    assert [ws.run_ids() for ws in victims] == [["v0"], ["v1"], ["v2"]] and all(w.expired_on() is None for w in victims)
    usage = budget(1 << 40).usage()
    mine = address_workspace("203.0.113.9").owner
    assert usage.owner_bytes(mine) <= 2 << 20 < usage.total_bytes <= 8 << 20
    assert not any((w.root / ".dataset" / "data.csv").exists() for w in attacker)


def test_an_address_over_its_share_expires_its_own_idle_workspaces_first(run, monkeypatch):
    monkeypatch.setenv("LSTM_LAB_ADDRESS_MB", "1")
    other = address_workspace("198.51.100.7")
    other.save(copy_of(run, "o0"))
    touch(other.root, 1)  # idle for decades, and still not this address's to expire
    mine = []
    for k in range(60):
        ws = address_workspace("203.0.113.9")
        ws.save(copy_of(run, f"m{k}"))
        touch(ws.root, 2 + k)  # each idle too, the first the oldest
        mine.append(ws)
    assert other.run_ids() == ["o0"]
    gone = [ws for ws in mine if ws.run_ids() == []]  # expired (their tombstones may have gone since)
    assert gone and gone == mine[: len(gone)] and mine[-1].run_ids() == ["m59"]  # its own, least recently used first
    assert budget(1 << 40).usage().owner_bytes(mine[0].owner) <= 1 << 20


def test_a_large_upload_is_kept_with_the_first_run_trained_on_it():
    from lstm_core.runs.run import train_run as train

    ds = big_dataset(seed=2)
    ws = Workspace.open(new_workspace_id(), 10)
    saved = ws.save_dataset(ds)
    assert saved.kept is DatasetKept.WITH_RUN and saved.csv_bytes > 1 << 20
    with pytest.raises(LabError) as err:  # a refresh now: said, never silently the sample
        ws.load_dataset()
    assert err.value.key == "err_ws_dataset_not_kept" and err.value.params["name"] == ds.name
    ws.save(train(ds.frame, ds.name, TINY.with_(epochs=1)))
    back = ws.load_dataset()
    assert back.name == ds.name and back.frame.equals(ds.frame) and back.fingerprint == ds.fingerprint
    assert not (ws.root / ".dataset" / "data.csv").exists()  # one copy: the run's


def test_tombstones_empty_workspaces_and_old_journals_are_removed_once_stale(run):
    now = NOW_NS
    day = 86400 * 10**9
    old_tomb = saved_workspace(run, "t", now - 60 * day)
    expire(old_tomb.root, now=dt.datetime.fromtimestamp((now - 40 * day) / 1e9, dt.UTC))
    new_tomb = saved_workspace(run, "u", now - 60 * day)
    expire(new_tomb.root, now=dt.datetime.fromtimestamp((now - 2 * day) / 1e9, dt.UTC))
    empty = Workspace.open(new_workspace_id(), 10)
    empty.root.mkdir(parents=True)
    touch(empty.root, now - 40 * day)
    kept = saved_workspace(run, "k", now - 40 * day)  # idle as long, but it holds a run
    journals = data_dir() / "tune"
    journals.mkdir(parents=True)
    for name, age in (("old.journal", 40), ("new.journal", 1)):
        (journals / name).write_bytes(b"j" * 100)
        os.utime(journals / name, ns=(now - age * day, now - age * day))
    forget_counts()
    freed = budget(1 << 40).maintain(now_ns=now)
    assert (freed.tombstones, freed.journals) == (2, 1)  # the old tombstone and the empty workspace; the old journal
    assert not old_tomb.root.exists() and not empty.root.exists() and not (journals / "old.journal").exists()
    assert new_tomb.expired_on() is not None and kept.run_ids() == ["k"] and (journals / "new.journal").exists()
    assert budget(1 << 40).usage().total_bytes == walked_bytes(data_dir(), cache_dir())
