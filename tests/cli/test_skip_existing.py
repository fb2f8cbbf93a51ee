"""`--skip-existing` over real gRPC: the upload index remembers what this profile uploaded, the server
confirms it, and only new or changed content is sent again."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest

from tests.support.cli import run_xai
from tests.support.emulator import FakeClock
from tests.support.stored import index_rows, make_files, sha256_of, stored_by_name
from xai_files_cli.core import upload_index


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "docs"
    make_files(root, 10)
    return root


def _lines(result) -> dict[str, str]:
    """{path: id} of a piped batch-upload's `id<TAB>path` lines."""
    pairs = (line.split("\t") for line in result.stdout.splitlines())
    return {path: file_id for file_id, path in pairs}


def test_rerun_skips_every_unchanged_file_and_lists_each_with_its_id(emulators, folder: Path) -> None:
    server = emulators.start()
    first = run_xai("files", "batch-upload", str(folder), "--skip-existing")
    assert first.code == 0, first
    again = run_xai("files", "batch-upload", str(folder), "--skip-existing")
    assert again.code == 0, again
    assert _lines(again) == _lines(first) and len(_lines(first)) == 10
    assert again.stderr == "xai: uploaded 0 files (0 B), skipped 10 unchanged (640 B)\n"
    assert all(len(copies) == 1 for copies in stored_by_name(server).values())
    assert server.faults.calls("UploadFile") == 10
    shown = run_xai("files", "batch-upload", str(folder), "--skip-existing", stdout_tty=True)
    assert (
        f"= {folder / 'f000.txt'} → {_lines(first)[str(folder / 'f000.txt')]} (64 B, unchanged: skipped)"
        in (shown.stdout.splitlines())
    )


def test_upload_without_the_flag_is_remembered_and_a_later_skip_uses_it(xai, server, folder: Path) -> None:
    plain = xai("files", "upload", str(folder / "f000.txt"))
    skipped = xai("files", "upload", str(folder / "f000.txt"), "--skip-existing")
    assert (skipped.code, skipped.stdout) == (0, plain.stdout)  # piped: the id alone, as for an upload
    shown = xai("files", "upload", str(folder / "f000.txt"), "--skip-existing", stdout_tty=True)
    assert shown.stdout == f"Skipped f000.txt (64 B): unchanged: uploaded as {plain.stdout.strip()}\n"
    assert len(stored_by_name(server)["f000.txt"]) == 1


def test_a_changed_file_is_uploaded_and_unchanged_ones_are_not(xai, server, folder: Path) -> None:
    first = _lines(xai("files", "batch-upload", str(folder), "--skip-existing"))
    changed = folder / "f001.txt"
    changed.write_bytes(changed.read_bytes()[::-1])  # same size, other content
    result = xai("files", "batch-upload", str(folder), "--skip-existing", "--json")
    records = [json.loads(line) for line in result.stdout.splitlines()]
    status = {Path(r["path"]).name: r["status"] for r in records}
    assert status.pop("f001.txt") == "uploaded"
    assert set(status.values()) == {"skipped"}
    new_id = next(r["id"] for r in records if r["path"] == str(changed))
    assert new_id != first[str(changed)]
    assert {sha for _, sha in stored_by_name(server)["f001.txt"]} >= {sha256_of(changed)}


def test_a_deleted_file_is_uploaded_again_not_skipped(xai, server, folder: Path) -> None:
    target = str(folder / "f002.txt")
    first = _lines(xai("files", "batch-upload", str(folder), "--skip-existing"))
    assert xai("files", "rm", first[target]).code == 0
    result = xai("files", "batch-upload", str(folder), "--skip-existing", "--json")
    records = {r["path"]: r for r in map(json.loads, result.stdout.splitlines())}
    assert records[target]["status"] == "uploaded" and records[target]["id"] != first[target]
    assert stored_by_name(server)["f002.txt"] == [(records[target]["id"], sha256_of(Path(target)))]
    # The index no longer holds the deleted id.
    assert first[target] not in {row[0] for row in index_rows(Path(os.environ["XAI_STATE_DIR"]), "uploads")}


def test_an_expired_file_is_uploaded_again_not_skipped(emulators, tmp_path: Path) -> None:
    clock = FakeClock()
    server = emulators.start(clock=clock)
    path = tmp_path / "report.txt"
    path.write_text("quarterly numbers\n")
    first = run_xai("files", "upload", str(path), "--skip-existing", "--expires-after", "1h")
    assert first.code == 0
    clock.advance(3600)
    again = run_xai("files", "upload", str(path), "--skip-existing", "--expires-after", "1h", "--json")
    body = json.loads(again.stdout)
    assert (again.code, body["status"]) == (0, "uploaded") and body["id"] != first.stdout.strip()
    assert [file_id for file_id, _ in stored_by_name(server)["report.txt"]] == [body["id"]]


def test_a_corrupt_index_degrades_to_one_warning_and_uploads_still_work(xai, server, folder: Path) -> None:
    xai("files", "upload", str(folder / "f000.txt"))
    (index,) = (Path(os.environ["XAI_STATE_DIR"]) / "uploads").glob("*.sqlite3")
    for leftover in index.parent.glob(index.name + "-*"):  # the WAL would otherwise restore it
        leftover.unlink()
    index.write_bytes(b"this is not a database" * 100)
    result = xai("files", "batch-upload", str(folder), "--skip-existing")
    assert result.code == 0
    warnings = [line for line in result.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "upload index" in warnings[0] and "remove the file" in warnings[0]
    assert len(_lines(result)) == 10  # nothing could be skipped, nothing was lost
    assert sum(len(copies) for copies in stored_by_name(server).values()) == 11


def test_a_locked_index_degrades_to_a_warning(xai, server, folder: Path, monkeypatch) -> None:
    xai("files", "upload", str(folder / "f000.txt"))
    (index,) = (Path(os.environ["XAI_STATE_DIR"]) / "uploads").glob("*.sqlite3")
    monkeypatch.setattr(upload_index, "LOCK_WAIT", 0.2)
    holder = sqlite3.connect(index, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another process in the middle of a write
    try:
        result = xai("files", "upload", str(folder / "f001.txt"))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.code == 0 and result.stdout.startswith("file_")
    (warning,) = result.stderr.splitlines()
    assert "locked by another process" in warning and "carrying on without it" in warning


def test_a_cut_off_upload_records_nothing(emulators, folder: Path) -> None:
    emulators.start("UploadFile:fail:code=INVALID_ARGUMENT")
    result = run_xai("files", "upload", str(folder / "f000.txt"))
    assert result.code == 5
    state = Path(os.environ["XAI_STATE_DIR"])
    assert index_rows(state, "uploads") == [] and index_rows(state, "pending") == []


def test_a_lost_reply_leaves_a_pending_row_that_the_next_run_reconciles(emulators, folder: Path) -> None:
    # The server stores the file, then the call fails: the client cannot know it was stored.
    server = emulators.start("UploadFile:commit_drop:code=UNAVAILABLE")
    path = folder / "f003.txt"
    lost = run_xai("files", "upload", str(path))
    assert lost.code == 6 and "outcome unknown" in lost.stderr
    state = Path(os.environ["XAI_STATE_DIR"])
    assert len(index_rows(state, "pending")) == 1 and index_rows(state, "uploads") == []
    [(stored_id, _)] = stored_by_name(server)["f003.txt"]
    again = run_xai("files", "upload", str(path), "--skip-existing", stdout_tty=True)
    assert again.code == 0
    assert again.stdout == f"Skipped f003.txt (64 B): stored by an interrupted run as {stored_id}\n"
    assert index_rows(state, "pending") == [] and [r[0] for r in index_rows(state, "uploads")] == [stored_id]
    assert len(stored_by_name(server)["f003.txt"]) == 1


def test_reconciling_compares_content_not_just_name_and_size(emulators, folder: Path) -> None:
    server = emulators.start("UploadFile:commit_drop:code=UNAVAILABLE")
    path = folder / "f002.txt"
    old_sha = sha256_of(path)
    assert run_xai("files", "upload", str(path)).code == 6
    path.write_bytes(path.read_bytes()[::-1])  # same name and size, other content
    again = run_xai("files", "upload", str(path), "--skip-existing", "--json")
    assert json.loads(again.stdout)["status"] == "uploaded"
    assert sorted(sha for _, sha in stored_by_name(server)["f002.txt"]) == sorted([old_sha, sha256_of(path)])
    assert index_rows(Path(os.environ["XAI_STATE_DIR"]), "pending") == []


def test_an_index_per_profile_and_host(xai, server, emulators, folder: Path) -> None:
    xai("files", "upload", str(folder / "f000.txt"))
    other = emulators.start()  # another host: nothing of the first is known there
    result = run_xai("files", "upload", str(folder / "f000.txt"), "--skip-existing", "--json")
    assert json.loads(result.stdout)["status"] == "uploaded"
    assert len(stored_by_name(other)["f000.txt"]) == 1
    assert len(list((Path(os.environ["XAI_STATE_DIR"]) / "uploads").glob("*.sqlite3"))) == 2


def test_the_index_holds_no_key_and_is_private(xai, server, folder: Path) -> None:
    from tests.support.constants import TEST_KEY

    xai("files", "batch-upload", str(folder))
    (index,) = (Path(os.environ["XAI_STATE_DIR"]) / "uploads").glob("*.sqlite3")
    assert index.stat().st_mode & 0o077 == 0
    assert TEST_KEY.encode() not in b"".join(p.read_bytes() for p in index.parent.iterdir())


def test_stdin_cannot_be_skipped(xai, server) -> None:
    result = xai("files", "upload", "-", "--name", "x.txt", "--skip-existing", stdin=b"x")
    assert result.code == 2 and "stdin cannot be compared" in result.stderr


def test_a_rerun_asks_the_server_about_all_files_in_one_listing(emulators, tmp_path: Path) -> None:
    server = emulators.start()
    make_files(tmp_path / "docs", 30)
    assert run_xai("files", "batch-upload", str(tmp_path / "docs")).code == 0
    before = {method: server.faults.calls(method) for method in ("ListFiles", "RetrieveFile")}
    again = run_xai("files", "batch-upload", str(tmp_path / "docs"), "--skip-existing")
    assert again.stderr.endswith("skipped 30 unchanged (1.9 kB)\n"), again.stderr
    assert server.faults.calls("ListFiles") - before["ListFiles"] == 1
    assert server.faults.calls("RetrieveFile") == before["RetrieveFile"]


def test_files_the_listing_budget_does_not_reach_are_confirmed_one_by_one(
    emulators, tmp_path: Path, monkeypatch
) -> None:
    from tests.support.emulator import seed
    from xai_files_cli.core import upload_plan

    monkeypatch.setattr(upload_plan, "PAGE", 10)  # pages of 10 files: the budget is 2 + 2 pages
    clock = FakeClock()
    server = emulators.start(clock=clock)
    make_files(tmp_path / "docs", 10)
    assert run_xai("files", "batch-upload", str(tmp_path / "docs")).code == 0
    for index in range(45):  # created in the same second: inside the window the listing reads
        seed(server, f"other{index}.txt")
    again = run_xai("files", "batch-upload", str(tmp_path / "docs"), "--skip-existing", "--json")
    assert {json.loads(line)["status"] for line in again.stdout.splitlines()} == {"skipped"}
    assert server.faults.calls("ListFiles") == 4
    assert server.faults.calls("RetrieveFile") == 10


def test_a_server_that_refuses_the_filter_is_read_from_its_newest_file(emulators, tmp_path: Path) -> None:
    server = emulators.start("ListFiles:fail:code=INVALID_ARGUMENT")
    make_files(tmp_path / "docs", 10)
    assert run_xai("files", "batch-upload", str(tmp_path / "docs")).code == 0
    again = run_xai("files", "batch-upload", str(tmp_path / "docs"), "--skip-existing")
    assert (again.code, again.stderr) == (0, "xai: uploaded 0 files (0 B), skipped 10 unchanged (640 B)\n")
    assert server.faults.outcomes("ListFiles") == ["INVALID_ARGUMENT", "OK"]
