"""A --skip-existing re-run whose files still have the stat they were uploaded with, and whose
uploads the server still holds unchanged, leaves the upload index exactly as it was; what does
change (content, deletion) is still written. Over real gRPC against the emulator."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from tests.support.cli import run_xai
from tests.support.stored import index_rows, make_files


def _state() -> Path:
    return Path(os.environ["XAI_STATE_DIR"])


def _as_if_read_long_after_the_last_change() -> None:
    """Move each recorded read 3 s later: the stat then vouches for the content on any file system."""
    (index,) = (_state() / "uploads").glob("*.sqlite3")
    with sqlite3.connect(index) as conn:
        conn.execute("UPDATE uploads SET read_at_ns = read_at_ns + 3000000000")


def test_an_all_skipped_rerun_writes_nothing_to_the_index(emulators, tmp_path: Path) -> None:
    emulators.start()
    folder = tmp_path / "docs"
    make_files(folder, 5)
    assert run_xai("files", "batch-upload", str(folder), "--skip-existing").code == 0
    _as_if_read_long_after_the_last_change()
    before = sorted(index_rows(_state(), "uploads"))
    again = run_xai("files", "batch-upload", str(folder), "--skip-existing")
    assert again.code == 0, again
    assert again.stderr == "xai: uploaded 0 files (0 B), skipped 5 unchanged (320 B)\n"
    assert sorted(index_rows(_state(), "uploads")) == before


def test_a_deleted_upload_is_still_forgotten_and_sent_again(emulators, tmp_path: Path) -> None:
    emulators.start()
    folder = tmp_path / "docs"
    ids = make_files(folder, 3)
    first = run_xai("files", "batch-upload", str(folder), "--skip-existing")
    assert first.code == 0, first
    _as_if_read_long_after_the_last_change()
    gone = first.stdout.splitlines()[0].split("\t")[0]
    assert run_xai("files", "rm", gone, "--yes").code == 0
    again = run_xai("files", "batch-upload", str(folder), "--skip-existing")
    assert again.code == 0, again
    assert again.stderr == "xai: uploaded 1 file (64 B), skipped 2 unchanged (128 B)\n"
    recorded = {row[0] for row in index_rows(_state(), "uploads")}
    assert gone not in recorded and len(recorded) == 3 and ids


def test_content_put_back_to_an_older_upload_is_skipped_as_that_upload(emulators, tmp_path: Path) -> None:
    """The server is first asked about each name's newest upload (while the files are hashed);
    content that matches an older one is confirmed by asking again, not sent again."""
    server = emulators.start()
    folder = tmp_path / "docs"
    make_files(folder, 12)
    first = run_xai("files", "batch-upload", str(folder), "--skip-existing")
    assert first.code == 0, first
    originals = {path: path.read_bytes() for path in folder.rglob("*.txt")}
    for path, content in originals.items():
        path.write_bytes(content.upper())  # same size, new content: uploaded as a second version
    changed = run_xai("files", "batch-upload", str(folder), "--skip-existing")
    assert changed.stderr.startswith("xai: uploaded 12 files"), changed.stderr
    for path, content in originals.items():
        path.write_bytes(content)
    lists = server.faults.calls("ListFiles")
    again = run_xai("files", "batch-upload", str(folder), "--skip-existing")
    assert again.code == 0, again
    assert again.stderr == "xai: uploaded 0 files (0 B), skipped 12 unchanged (768 B)\n"
    assert sorted(again.stdout.splitlines()) == sorted(first.stdout.splitlines())
    assert server.faults.calls("UploadFile") == 24
    assert server.faults.calls("ListFiles") - lists == 2  # the guess, then the versions the digests chose
