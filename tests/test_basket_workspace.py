"""A basket run kept in the visitor's workspace: a refresh or a restart brings it back, scored again from its bundle;
a damaged one is one sentence; it counts against the workspace's cap like a run."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lstm_core.basket.bundle import basket_members
from lstm_core.basket.data import Basket
from lstm_core.basket.run import train_basket
from lstm_core.errors import LabError
from lstm_core.runs import bundle as bundles
from lstm_core.runs.run import train_run
from lstm_core.store.workspace import BASKET_DIR, Workspace, data_dir, new_workspace_id
from tests.helpers import TINY, TINY_BASKET, copy_of, dataset, tiny_frame, walk

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def trained():
    basket = Basket((dataset("a", walk(900, 1)), dataset("b", walk(800, 2, start="2015-03-02"))))
    return train_basket(basket, TINY_BASKET.with_(target="logvol", features=("logabsret",), horizon=5)).saved(), basket


def test_a_kept_basket_run_comes_back_scored_again_and_the_next_replaces_it(trained):
    saved, basket = trained
    ws = Workspace.open(new_workspace_id(), 10)
    assert ws.load_basket() is None and ws.basket_bytes() == 0
    assert ws.save_basket(saved, basket) == ()
    again = Workspace.open(ws.id, 10)  # a restart: a new object on the same folder
    loaded, loaded_basket = again.load_basket()
    assert loaded.to_json() == saved.to_json() and loaded.run_id == saved.run_id
    assert loaded_basket.names == basket.names
    size = sum(len(blob) for blob in basket_members(saved, basket).values())
    assert again.basket_bytes() == size == again.size_bytes()  # no run yet: the basket is all it holds
    assert again.run_ids() == []  # not a run folder
    other = train_basket(basket, TINY_BASKET.with_(target="logvol", features=("logabsret",), horizon=5, seed=1)).saved()
    again.save_basket(other, basket)
    assert again.load_basket()[0].run_id == other.run_id != saved.run_id
    assert again.basket_bytes() == sum(len(b) for b in basket_members(other, basket).values())  # one kept, not two


def test_a_damaged_kept_basket_is_one_sentence_naming_its_file(trained):
    saved, basket = trained
    ws = Workspace.open(new_workspace_id(), 10)
    ws.save_basket(saved, basket)
    path = ws.root / BASKET_DIR / "series-1.csv"
    text = path.read_text().splitlines()
    text[5] = text[5].replace(text[5].split(",")[4], "123.0")  # one close changed
    path.write_text("\n".join(text) + "\n")
    with pytest.raises(LabError) as err:
        ws.load_basket()
    assert err.value.key == "err_bundle_checksum" and err.value.params["name"] == "series-1.csv"
    # the page says so, and shows no basket run rather than a wrong one
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params["ws"] = ws.id
    at.run()
    at.switch_page("pages/basket.py").run()
    assert not at.exception
    assert [e.value for e in at.error if e.value.startswith("The basket run kept in this workspace could not be read")]
    assert any(e.value.endswith("series-1.csv") or "series-1.csv" in e.value for e in at.error)
    assert any("No basket has been trained" in i.value for i in at.info)


def capped_workspace(trained, runs_room: float, runs: int):
    """A workspace whose cap holds the basket's bundle and ``runs_room`` runs, with ``runs`` runs saved (r0, r1, ...);
    and the run they copy."""
    saved, basket = trained
    run = train_run(tiny_frame(), "sine", TINY)
    one = sum(len(b) for b in bundles.bundle_members(run).values())
    kept = sum(len(b) for b in basket_members(saved, basket).values())
    ws_id = new_workspace_id()
    ws = Workspace(ws_id, data_dir() / "workspaces" / ws_id, cap_bytes=kept + int(runs_room * one), max_runs=10)
    for k in range(runs):
        ws.save(copy_of(run, f"r{k}"))
    return ws, run, kept


def test_the_kept_basket_counts_against_the_workspace_cap(trained):
    saved, basket = trained
    ws, run, kept = capped_workspace(trained, 2.5, 2)
    assert ws.save_basket(saved, basket) == ()  # fits beside two runs
    assert ws.save(copy_of(run, "r2")).pruned == ("r0",)  # the third run does not: the oldest goes
    assert ws.size_bytes() <= ws.cap_bytes and ws.run_ids() == ["r1", "r2"]
    small = Workspace(ws.id, ws.root, cap_bytes=kept // 2, max_runs=10)
    with pytest.raises(LabError) as err:
        small.save_basket(saved, basket)
    assert err.value.key == "err_ws_run_too_big"


def test_a_refreshed_page_shows_the_kept_basket_run_and_gates_offer_its_series(trained):
    saved, basket = trained
    ws = Workspace.open(new_workspace_id(), 10)
    ws.save_basket(saved, basket)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params["ws"] = ws.id
    at.run()
    assert not at.exception
    assert any("one network on 2 series" in m.value for m in at.sidebar.markdown)
    at.switch_page("pages/basket.py").run()
    assert not at.exception and not at.error
    assert at.session_state["basket_result"][0].to_json() == saved.to_json()
    assert any(h.value.startswith("The panel: 2 series together") for h in at.subheader)
    at.switch_page("pages/gates.py").run()
    box = next(s for s in at.selectbox if s.key == "gates_run")
    assert [o.rsplit(" · ", 1)[1] for o in box.options] == [f"{saved.run_id}-0", f"{saved.run_id}-1"]


def test_saving_a_basket_prunes_the_oldest_runs_and_says_which(trained):
    saved, basket = trained
    ws, _, _ = capped_workspace(trained, 1.5, 3)
    assert ws.save_basket(saved, basket) == ("r0", "r1")  # the basket and one run fit
    assert ws.run_ids() == ["r2"] and ws.size_bytes() <= ws.cap_bytes


def test_a_symlinked_basket_folder_is_neither_read_nor_counted(trained, tmp_path):
    from lstm_core.basket.bundle import save_basket_bundle

    saved, basket = trained
    elsewhere = save_basket_bundle(saved, basket, tmp_path / "elsewhere")
    ws = Workspace.open(new_workspace_id(), 10)
    ws.root.mkdir(parents=True)
    (ws.root / BASKET_DIR).symlink_to(elsewhere, target_is_directory=True)
    assert ws.load_basket() is None and ws.basket_bytes() == 0


def test_a_kept_basket_is_scored_again_once_per_server_not_per_session(trained, monkeypatch):
    import lstm_core.basket.bundle as basket_bundle
    import lstm_core.store.workspace as workspaces

    saved, basket = trained
    monkeypatch.setattr(workspaces, "_opened_baskets", {})  # as a server that has opened none yet
    ws = Workspace.open(new_workspace_id(), 10)
    ws.save_basket(saved, basket)
    reads = []
    original = basket_bundle.load_basket_bundle
    monkeypatch.setattr(basket_bundle, "load_basket_bundle", lambda *a, **k: reads.append(1) or original(*a, **k))
    first = Workspace.open(ws.id, 10).load_basket()
    again = Workspace.open(ws.id, 10).load_basket()  # another session, or a refresh
    assert again is first and len(reads) == 1
    path = ws.root / BASKET_DIR / "weights.safetensors"
    damaged = bytearray(path.read_bytes())
    damaged[-1] ^= 0xFF
    path.write_bytes(bytes(damaged))  # damaged since: read again, and refused
    with pytest.raises(LabError) as err:
        Workspace.open(ws.id, 10).load_basket()
    assert err.value.key == "err_bundle_checksum" and len(reads) == 2


def test_a_downloaded_basket_bundle_opens_again_on_the_page_and_a_hostile_one_is_one_sentence(trained):
    from lstm_core.basket.bundle import basket_zip

    saved, basket = trained
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    at.switch_page("pages/basket.py").run()
    assert any("No basket has been trained" in i.value for i in at.info)
    upload = next(u for u in at.get("file_uploader") if u.proto.label.startswith("Open a saved basket run"))
    upload.upload("basket.zip", basket_zip(saved, basket), "application/zip")
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    shown = at.session_state["basket_result"][0]
    assert shown.run_id == saved.run_id and shown.to_json() == saved.to_json()  # scored again, the same to the digit
    assert any(h.value == "The panel: 2 series together" for h in at.subheader)
    kept, _ = Workspace.open(at.session_state["workspace_id"], 10).load_basket()  # and kept for the next visit
    assert kept.run_id == saved.run_id
    # a run's bundle, or any zip, is one sentence; the basket run shown stays
    upload = next(u for u in at.get("file_uploader") if u.proto.label.startswith("Open a saved basket run"))
    upload.upload("other.zip", bundles.bundle_zip(train_run(tiny_frame(), "sine", TINY)), "application/zip")
    at.run()
    assert not at.exception and len(at.error) == 1, [e.value for e in at.error]
    assert at.error[0].value.startswith("This file has no basket.json, so it is not a basket run's bundle.")
    assert at.session_state["basket_result"][0].run_id == saved.run_id
