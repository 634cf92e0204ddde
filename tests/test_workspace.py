"""Tests of lstm_core.store.workspace and the app around it: runs on disk under an unguessable id from the URL.

Every test has its own LSTM_LAB_DATA (conftest's isolated_cache), so "a server restart" is a new Workspace
object or a new AppTest on the same folder.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from lstm_core.data import load_synthetic
from lstm_core.errors import LabError
from lstm_core.i18n import t
from lstm_core.runs import bundle as bundles
from lstm_core.runs.bundle import bundle_zip, save_bundle
from lstm_core.runs.run import Run, train_run
from lstm_core.store.disk import OWNER_FILE, USED_FILE, expire
from lstm_core.store.workspace import (
    DEFAULT_WORKSPACE_MB,
    SEQUENCE_FILE,
    Workspace,
    check_workspace_id,
    data_dir,
    is_workspace_id,
    issued_here,
    local_bundles,
    new_workspace_id,
    workspace_cap_bytes,
)
from tests.helpers import TINY, copy_of, tiny_frame, wait_for

ROOT = Path(__file__).resolve().parent.parent
EVIL = "![x](http://evil/x.png)"
EVIL_ESCAPED = r"!\[x\](http\://evil/x.png)"  # brackets and the autolink's colon escaped: shown as typed


@pytest.fixture(scope="module")
def run() -> Run:
    return train_run(tiny_frame(), "sine", TINY)


def workspace(max_runs: int = 10) -> Workspace:
    return Workspace.open(new_workspace_id(), max_runs)


# ---------------------------------------------------------------- ids and settings


def test_new_ids_are_32_url_safe_characters_and_differ():
    ids = {new_workspace_id() for _ in range(100)}
    assert len(ids) == 100 and all(is_workspace_id(i) and len(i) == 32 for i in ids)


@pytest.mark.parametrize("bad", ["", "abc", "../../../../../../../../etc/passwd", "a" * 31, "a" * 33, "a" * 30 + "/.",
                                 "a" * 30 + "..", "%2e%2e" + "a" * 26, "a" * 31 + "\n", None, 42, ["a" * 32]])
def test_malformed_workspace_ids_never_become_paths(bad):
    assert not is_workspace_id(bad)
    with pytest.raises(LabError) as err:
        Workspace.open(bad, 10)
    assert err.value.key == "err_ws_bad_id"


def test_ids_are_signed_by_the_servers_key_made_once_with_mode_0600(tmp_path):
    issued = new_workspace_id()
    key = data_dir() / "server.key"
    assert key.stat().st_mode & 0o777 == 0o600 and len(key.read_bytes()) == 32
    raw = base64.urlsafe_b64decode(issued)
    assert len(raw) == 24 and issued_here(issued)  # 128 random bits and a 64-bit tag
    assert new_workspace_id() != issued and key.read_bytes() == key.read_bytes()
    for k in range(24):  # any one byte changed, random part or tag: refused
        forged = base64.urlsafe_b64encode(raw[:k] + bytes([raw[k] ^ 1]) + raw[k + 1:]).decode()
        assert is_workspace_id(forged) and not issued_here(forged)
    assert not issued_here(issued, base=tmp_path / "another-server")  # another key, another server


# a well-formed id no server issued (fixed, so that every test process collects the same ids)
_UNSIGNED = base64.urlsafe_b64encode(bytes(range(7, 31))).decode()


@pytest.mark.parametrize("chosen", ["A" * 32, _UNSIGNED, "my-own-workspace-id-of-32-chars_"])
def test_a_client_chosen_id_is_refused(chosen):
    assert is_workspace_id(chosen) and not issued_here(chosen)
    with pytest.raises(LabError) as err:
        Workspace.open(chosen, 10)
    assert err.value.key == "err_ws_not_issued"
    assert not (data_dir() / "workspaces" / chosen).exists()


def test_a_workspace_saved_before_ids_were_signed_still_opens(run):
    legacy = secrets.token_urlsafe(24)  # how ids were made before: only its owner knows it
    Workspace(legacy, data_dir() / "workspaces" / legacy, cap_bytes=1 << 30, max_runs=10).save(copy_of(run, "kept"))
    assert not issued_here(legacy) and check_workspace_id(legacy) == legacy
    assert Workspace.open(legacy, 10).run_ids() == ["kept"]


def test_an_issued_id_reopens_the_same_runs_after_a_restart(run):
    ws = workspace()
    ws.save(copy_of(run, "first"))
    ws.save(copy_of(run, "second"))
    script = ("from lstm_core.store.workspace import Workspace, issued_here\n"
              f"print(issued_here({ws.id!r}), Workspace.open({ws.id!r}, 10).run_ids())\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "LSTM_LAB_DATA": str(data_dir())})  # a new process, the same data dir
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "True ['first', 'second']"


def test_data_dir_and_cap_come_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("LSTM_LAB_DATA", str(tmp_path / "d"))
    assert data_dir() == tmp_path / "d"
    monkeypatch.delenv("LSTM_LAB_DATA")
    assert data_dir() == Path.home() / ".local" / "share" / "lstm-lab"
    monkeypatch.delenv("LSTM_LAB_WORKSPACE_MB", raising=False)
    assert workspace_cap_bytes() == DEFAULT_WORKSPACE_MB << 20
    monkeypatch.setenv("LSTM_LAB_WORKSPACE_MB", "7")
    assert workspace_cap_bytes() == 7 << 20
    for bad in ("0", "-1", "1.5", "lots"):
        monkeypatch.setenv("LSTM_LAB_WORKSPACE_MB", bad)
        with pytest.raises(LabError) as err:
            workspace_cap_bytes()
        assert err.value.key == "err_ws_env"


# ---------------------------------------------------------------- saving, reopening, pruning


def test_a_saved_run_reopens_after_a_restart_without_being_rescored(run, monkeypatch):
    ws = workspace()
    assert ws.save(run).pruned == ()
    assert (ws.root / run.run_id / "weights.safetensors").is_file()
    assert ws.root.stat().st_mode & 0o077 == 0  # only the server's user can list it

    def no_rescoring(*args, **kwargs):
        raise AssertionError("a workspace run was re-scored")

    monkeypatch.setattr(bundles, "evaluate", no_rescoring)
    reopened, problems = Workspace.open(ws.id, 10).load_all()  # a new object: as after a server restart
    assert problems == [] and [r.run_id for r in reopened] == [run.run_id]
    assert reopened[0].metrics == run.metrics
    np.testing.assert_array_equal(reopened[0].test_predictions, run.test_predictions)


def test_another_workspace_sees_none_of_its_runs(run):
    mine, theirs = workspace(), workspace()
    mine.save(run)
    assert theirs.run_ids() == [] and theirs.load_all() == ([], [])


def test_oldest_runs_are_pruned_beyond_the_run_cap(run):
    ws = workspace(max_runs=3)
    pruned = []
    for k in range(5):
        pruned.append(ws.save(copy_of(run, f"r{k}")).pruned)
    assert pruned == [(), (), (), ("r0",), ("r1",)]
    assert ws.run_ids() == ["r2", "r3", "r4"]
    assert not (ws.root / "r0").exists()


def test_runs_are_ordered_by_their_recorded_sequence_not_by_file_times(run):
    ws = workspace()
    for run_id in ("b", "a", "c"):
        ws.save(copy_of(run, run_id))
    assert [(ws.root / i / SEQUENCE_FILE).read_text() for i in ("b", "a", "c")] == ["1", "2", "3"]
    for k, run_id in enumerate(("b", "a", "c")):  # file times that say the opposite change nothing
        os.utime(ws.root / run_id, ns=(10**18 - k, 10**18 - k))
    assert ws.run_ids() == ["b", "a", "c"]
    ws.save(copy_of(run, "b"))  # saved again: newest
    assert ws.run_ids() == ["a", "c", "b"] and (ws.root / "b" / SEQUENCE_FILE).read_text() == "4"
    for legacy in ("z_old", "y_old"):  # folders saved before sequences were recorded: first, by name
        save_bundle(copy_of(run, legacy), ws.root / legacy)
    assert ws.run_ids() == ["y_old", "z_old", "a", "c", "b"]
    assert [r.run_id for r in ws.load_all()[0]] == ["y_old", "z_old", "a", "c", "b"]


def test_oldest_runs_are_pruned_beyond_the_disk_cap(run):
    one = sum(len(b) for b in bundles.bundle_members(run).values())
    ws_id = new_workspace_id()
    ws = Workspace(ws_id, data_dir() / "workspaces" / ws_id, cap_bytes=int(2.5 * one), max_runs=10)
    saved = []
    for k in range(4):
        saved.append(ws.save(copy_of(run, f"r{k}")).pruned)
    assert saved == [(), (), ("r0",), ("r1",)]
    assert ws.size_bytes() <= ws.cap_bytes and ws.run_ids() == ["r2", "r3"]


def test_a_run_bigger_than_the_whole_workspace_is_refused_and_nothing_is_written(run):
    ws_id = new_workspace_id()
    ws = Workspace(ws_id, data_dir() / "workspaces" / ws_id, cap_bytes=1000, max_runs=10)
    with pytest.raises(LabError) as err:
        ws.save(run)
    assert err.value.key == "err_ws_run_too_big" and err.value.params["limit_mb"] == 0
    assert ws.run_ids() == []


def test_saving_the_same_run_again_replaces_it(run):
    ws = workspace()
    ws.save(run)
    ws.save(copy_of(run, run.run_id, dataset="renamed"))
    loaded, _ = ws.load_all()
    assert [r.dataset_name for r in loaded] == ["renamed"]
    assert sorted(p.name for p in ws.root.iterdir()) == [OWNER_FILE, USED_FILE, run.run_id]  # no staging folders left


def test_a_damaged_run_is_skipped_with_a_sentence_and_the_others_load(run):
    ws = workspace()
    ws.save(copy_of(run, "good"))
    ws.save(copy_of(run, "bad"))
    (ws.root / "bad" / "weights.safetensors").write_bytes(b"junk")
    (ws.root / ".tmp-leftover").mkdir()  # a crash mid-save leaves only a dot-folder, which is never listed
    loaded, problems = ws.load_all()
    assert [r.run_id for r in loaded] == ["good"]
    assert [p.key for p in problems] == ["err_bundle_checksum"]


def test_local_bundles_lists_the_folders_the_cli_wrote_in_name_order(run, tmp_path):
    save_bundle(copy_of(run, "b"), tmp_path / "runs" / "b")
    save_bundle(run, tmp_path / "runs" / "a")
    (tmp_path / "runs" / "not-a-run").mkdir()
    os.utime(tmp_path / "runs" / "b", ns=(10**18, 10**18))  # times do not decide the order
    assert [p.name for p in local_bundles(tmp_path / "runs")] == ["a", "b"]
    assert local_bundles(tmp_path / "runs" / "a") == [tmp_path / "runs" / "a"]
    assert local_bundles(tmp_path / "nowhere") == []


# ---------------------------------------------------------------- names shown as plain text


@pytest.mark.parametrize("name,shown", [
    ("MSFT (sample)", "MSFT (sample)"),  # ordinary names pass unchanged
    ("AR(2) (synthetic, seed 3)", "AR(2) (synthetic, seed 3)"),
    ("S&P 500.csv", "S&P 500.csv"),
    (EVIL, EVIL_ESCAPED),
    ("[site](javascript:alert(1))", r"\[site\](javascript\:alert(1))"),
    ("<img src=x>", r"\<img src=x\>"),
    ("**bold** _it_ `code` ~strike~", r"\*\*bold\*\* \_it\_ \`code\` \~strike\~"),
    ("$x^2$ :red[alarm] :material/home:", r"\$x^2\$ \:red\[alarm\] \:material/home\:"),
    ("www.evil.com a@evil.com", r"www\.evil.com a\@evil.com"),
    ("# Heading", r"\# Heading"),
    ("- item", r"\- item"),
    ("1. first", r"1\. first"),
    ("a | b", r"a \| b"),
    ("&lt;b&gt;", r"\&lt;b\&gt;"),
    ("back\\slash", r"back\\slash"),
    ("two\nlines", "two lines"),
])
def test_plain_escapes_what_markdown_would_render(name, shown):
    from ui.text import plain

    assert plain(name) == shown


# ---------------------------------------------------------------- the app


def open_app(page: str | None = None, ws: str | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    if ws is not None:
        at.query_params["ws"] = ws
    at.run()
    if page is not None:
        at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def run_select_labels(at: AppTest) -> list[str]:
    box = next((s for s in at.selectbox if s.label == "Show run"), None)
    return [] if box is None else list(box.options)


def test_a_new_visitor_gets_a_workspace_id_in_the_url():
    at = open_app()
    ws = at.query_params["ws"]
    ws = ws[0] if isinstance(ws, list) else ws
    assert is_workspace_id(ws) and at.session_state["workspace_id"] == ws
    at.switch_page("pages/train.py").run()  # still named after navigating
    assert at.session_state["workspace_id"] == ws


def test_a_forged_workspace_id_gets_a_sentence_and_a_fresh_workspace():
    at = open_app(ws="../../../../../../../../../etc")
    assert any("not valid" in e.value for e in at.error)
    assert is_workspace_id(at.session_state["workspace_id"])
    assert not list((data_dir()).glob("**/etc"))


def test_a_client_chosen_id_in_the_url_gets_a_sentence_and_a_fresh_workspace():
    at = open_app(ws="A" * 32)
    assert [e.value for e in at.error] == [t("err_ws_not_issued")]
    fresh = at.session_state["workspace_id"]
    assert fresh != "A" * 32 and issued_here(fresh) and at.query_params["ws"] in (fresh, [fresh])
    assert not (data_dir() / "workspaces" / ("A" * 32)).exists()


def test_a_server_that_cannot_keep_its_key_says_so_once_and_the_app_works(monkeypatch, tmp_path):
    (tmp_path / "a-file").write_text("not a folder")
    monkeypatch.setenv("LSTM_LAB_DATA", str(tmp_path / "a-file" / "data"))
    at = open_app("pages/train.py")
    assert "workspace_id" not in at.session_state and at.session_state["runs"] == []
    at.run()
    assert not at.exception and not at.error  # said on the first page only
    first = open_app()
    assert [e.value for e in first.error] == [t("err_ws_key")]


def test_a_returning_owner_of_an_expired_workspace_is_told_and_keeps_the_address(run):
    ws = workspace()
    ws.save(copy_of(run, "gone"))
    when = dt.datetime.now(dt.UTC) - dt.timedelta(days=2)  # tombstones are kept for 30 days
    day = when.date().isoformat()
    expire(ws.root, now=when)
    at = open_app(ws=ws.id)  # on whichever page the link opens
    assert [w.value for w in at.warning] == [t("ws_expired", date=day)]
    at.switch_page("pages/train.py").run()
    assert at.session_state["workspace_id"] == ws.id and at.session_state["runs"] == []
    assert not any(day in w.value for w in at.warning)  # said once per visit
    never_saved = new_workspace_id()  # issued but never used: empty, and nothing to say about it
    other = open_app("pages/train.py", ws=never_saved)
    assert not other.warning and not other.error and other.session_state["workspace_id"] == never_saved
    ws.save(copy_of(run, "back"))  # saving again makes it an ordinary workspace
    again = open_app("pages/train.py", ws=ws.id)
    assert not any(w.value == t("ws_expired", date=day) for w in again.warning)
    assert [r.run_id for r in again.session_state["runs"]] == ["back"]


def test_the_workspace_in_the_url_shows_its_runs_once_loaded_per_session(run, monkeypatch):
    ws = workspace()
    ws.save(copy_of(run, "first"))
    ws.save(copy_of(run, "second"))
    loads = []
    original = Workspace.load_all
    monkeypatch.setattr(Workspace, "load_all", lambda self: loads.append(self.id) or original(self))
    at = open_app("pages/train.py", ws=ws.id)
    assert [r.run_id for r in at.session_state["runs"]] == ["first", "second"]
    assert any(label.endswith("· second") for label in run_select_labels(at))
    at.run()
    at.switch_page("pages/gates.py").run()
    assert not at.exception
    assert loads == [ws.id]  # once per session, not on every rerun
    other = open_app("pages/train.py")  # a visitor without the id
    assert other.session_state["runs"] == [] and run_select_labels(other) == []


def test_an_uploaded_bundle_is_saved_in_the_workspace_and_its_names_stay_plain_text(run):
    at = open_app("pages/train.py")
    ws_id = at.session_state["workspace_id"]
    evil = copy_of(run, "evil_1", dataset=EVIL)
    at.get("file_uploader")[0].upload("run.zip", bundle_zip(evil), "application/zip")
    at.run()
    assert not at.exception and not at.error
    assert (data_dir() / "workspaces" / ws_id / "evil_1" / "run.json").is_file()
    caption = next(c.value for c in at.caption if "parameters" in c.value)
    assert caption.startswith(f"{EVIL_ESCAPED} · LSTM")
    assert EVIL not in caption
    assert at.subheader[0].value == r"Held-out test period · run evil\_1"
    assert any(EVIL in label for label in run_select_labels(at))  # selectbox options are plain text already


def test_a_hostile_upload_gets_one_sentence_in_the_page(run):
    at = open_app("pages/train.py")
    members = bundles.bundle_members(run)
    record = json.loads(members["run.json"])
    record["stop_reason"] = "exploded"
    members["run.json"] = json.dumps(record).encode()
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, blob in members.items():
            archive.writestr(name, blob)
    at.get("file_uploader")[0].upload("run.zip", buffer.getvalue(), "application/zip")
    at.run()
    assert not at.exception
    assert [e.value for e in at.error] == ["This saved run's run.json has a missing or invalid field "
                                           "'stop\\_reason'; it was not opened."]
    assert at.session_state["runs"] == []
    at.run()  # and the page keeps working on the next rerun
    assert not at.exception


def test_the_sidebar_shows_a_file_name_as_plain_text():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    evil = load_synthetic("sine", n_days=200)
    at.session_state["dataset"] = type(evil)(name=EVIL, source="csv", frame=evil.frame, quality=evil.quality,
                                             subject=EVIL)
    at.run()
    assert not at.exception
    line = at.sidebar.get("markdown")[0].value
    assert f"**{EVIL_ESCAPED} (CSV)**" in line and EVIL not in line


def test_a_finished_job_is_saved_and_the_oldest_run_pruned_with_a_sentence(run):
    ws = workspace()
    for k in range(10):
        ws.save(copy_of(run, f"old{k}"))
    at = open_app("pages/train.py", ws=ws.id)
    assert len(at.session_state["runs"]) == 10
    # the workspace's dataset is its runs' 300-day sine: a short window and horizon fit it
    for label, value in {"Max epochs": 1, "Hidden units": 4, "Window (days)": 20, "Horizon (days ahead)": 5}.items():
        next(w for w in at.number_input if w.label == label).set_value(value)
    next(b for b in at.button if b.label == "Start training").click().run()
    job = at.session_state["job"]
    wait_for(lambda: job.finished, timeout=120)
    at.run()
    assert not at.exception
    new_id = job.run.run_id
    assert ws.run_ids()[-1] == new_id and "old0" not in ws.run_ids() and len(ws.run_ids()) == 10
    assert [r.run_id for r in at.session_state["runs"]][-1] == new_id
    assert "old0" not in [r.run_id for r in at.session_state["runs"]]
    assert any(w.value.endswith("so its oldest were deleted: old0.") for w in at.warning)
    at.run()
    assert not any("was deleted" in w.value for w in at.warning)  # said once


def test_local_mode_opens_a_folder_the_cli_wrote_and_hosted_mode_does_not_offer_it(run, tmp_path, monkeypatch):
    save_bundle(copy_of(run, "from_cli"), tmp_path / "runs" / "from_cli")
    hosted = open_app("pages/train.py")
    assert not [w for w in hosted.text_input if w.label == "Folder on this computer"]
    monkeypatch.setenv("LSTM_LAB_LOCAL", "1")
    at = open_app("pages/train.py")
    next(w for w in at.text_input if w.label == "Folder on this computer").set_value(str(tmp_path / "runs")).run()
    assert next(s for s in at.selectbox if s.label == "Saved run").options == ["from_cli"]
    next(b for b in at.button if b.label == "Open").click().run()
    assert not at.exception and not at.error
    assert [r.run_id for r in at.session_state["runs"]] == ["from_cli"]
    assert (data_dir() / "workspaces" / at.session_state["workspace_id"] / "from_cli").is_dir()


def test_live_workspaces_are_those_of_sessions_still_connected(monkeypatch):
    from types import SimpleNamespace

    import ui.workspace as ui_workspace

    live = ui_workspace.LiveWorkspaces()
    for session, ws in (("s1", "w1"), ("s2", "w2"), ("s3", "w1"), ("s1", "w3")):  # s1 moved on to w3
        live.note(session, ws)
    assert live.in_use() == {"w1", "w2", "w3"}  # no server to ask (AppTest): every noted one counts
    connected = {"s2", "s3"}
    monkeypatch.setattr(ui_workspace.runtime, "exists", lambda: True)
    monkeypatch.setattr(ui_workspace.runtime, "get_instance",
                        lambda: SimpleNamespace(is_active_session=connected.__contains__))
    assert live.in_use() == {"w1", "w2"}
    connected.discard("s3")
    assert live.in_use() == {"w2"}


# ---------------------------------------------------------------- the workspace's dataset


def test_an_uploaded_dataset_is_kept_with_the_workspace_and_comes_back_whole(tmp_path):
    from lstm_core.data import load_csv
    from tests.conftest import make_prices, to_csv_bytes

    ws = workspace()
    ds = load_csv(to_csv_bytes(make_prices(300)), "my prices.csv")
    ws.save_dataset(ds)
    again = Workspace.open(ws.id, 10).load_dataset()  # a server restart: a new object on the same folder
    assert (again.name, again.source, again.subject, again.quality) == (ds.name, ds.source, ds.subject, ds.quality)
    assert again.frame.equals(ds.frame) and again.fingerprint == ds.fingerprint
    assert ws.size_bytes() == ws.dataset_bytes() > 10_000  # counted against the workspace's cap


def test_a_sample_is_kept_by_name_and_a_workspace_without_a_dataset_shows_its_newest_runs(run):
    from lstm_core.data import load_sample

    ws = workspace()
    assert ws.load_dataset() is None
    ws.save(copy_of(run, "r1", dataset="NVDA (sample)"))
    assert ws.load_dataset().name == "NVDA (sample)"  # saved before datasets were kept: its newest run's
    ws.save(copy_of(run, "r2", dataset="sine"))
    fallback = ws.load_dataset()
    assert fallback.name == "sine" and fallback.frame[["Close"]].equals(run.frame[["Close"]])
    ws.save_dataset(load_sample("MSFT"))
    assert ws.dataset_bytes() < 1000 and ws.load_dataset().frame.equals(load_sample("MSFT").frame)


def test_a_damaged_or_oversized_dataset_is_a_sentence(monkeypatch):
    from lstm_core.data import load_csv
    from lstm_core.store.workspace import DATASET_DIR
    from tests.conftest import make_prices, to_csv_bytes

    ws = workspace()
    ws.save_dataset(load_csv(to_csv_bytes(make_prices(300)), "p.csv"))
    (ws.root / DATASET_DIR / "data.csv").write_bytes(b"Date,Close\nnot a date,1\n")
    with pytest.raises(LabError) as err:
        ws.load_dataset()
    assert err.value.key == "err_ws_dataset"
    monkeypatch.setenv("LSTM_LAB_WORKSPACE_MB", "1")
    small = Workspace.open(ws.id, 10)
    with pytest.raises(LabError) as err:
        small.save_dataset(load_csv(to_csv_bytes(make_prices(30_000)), "big.csv"))
    assert err.value.key == "err_ws_dataset_too_big" and err.value.params["limit_mb"] == 1


def test_a_refreshed_page_shows_the_uploaded_dataset_not_the_sample():
    """The reported switch: after F5 the runs came back but the Train page said 'Training on MSFT (sample)'."""
    from tests.conftest import make_prices, to_csv_bytes

    at = open_app("pages/data.py")
    ws = at.session_state["workspace_id"]
    at.segmented_control(key="data_source").set_value("csv").run()
    at.file_uploader(key="csv_file").upload("class prices.csv", to_csv_bytes(make_prices(300))).run()
    assert at.session_state["dataset"].name == "class prices (CSV)"
    again = open_app("pages/train.py", ws=ws)  # a refresh: a new session with the URL's workspace
    assert again.session_state["dataset"].name == "class prices (CSV)"
    assert "class prices" in again.caption[0].value and "MSFT" not in again.caption[0].value
    other = open_app("pages/train.py")  # another visitor still starts on the sample
    assert other.session_state["dataset"].name == "MSFT (sample)"
