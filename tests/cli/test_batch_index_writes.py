"""A batch writes its upload index a group of files per transaction, from its own thread."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, ClassVar

import pytest

from tests.support.cli import run_xai
from tests.support.emulator import Emulators
from xai_files_cli.core import batch, upload_index
from xai_files_cli.core.upload_plan import PreparedItems, UploadJournal

FILES = 300


class _Counting(sqlite3.Connection):
    """A connection that counts the transactions it commits and the threads it is used from."""

    commits: ClassVar[int] = 0
    threads: ClassVar[set[str]] = set()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.set_trace_callback(self._seen)

    def _seen(self, statement: str) -> None:
        _Counting.threads.add(threading.current_thread().name)
        if statement.strip().upper() == "COMMIT":
            _Counting.commits += 1


def _count_commits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_Counting, "commits", 0)
    monkeypatch.setattr(_Counting, "threads", set())
    connect = sqlite3.connect
    monkeypatch.setattr(upload_index.sqlite3, "connect", functools.partial(connect, factory=_Counting))


def _folder(tmp_path: Path, count: int) -> Path:
    folder = tmp_path / "many"
    folder.mkdir()
    for index in range(count):
        (folder / f"w{index:03d}.txt").write_bytes(b"w%d" % index)
    return folder


def test_a_batch_commits_its_index_writes_a_group_of_files_at_a_time(
    emulators: Emulators, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pending rows and stored files share one transaction per group of PreparedItems.GROUP files
    (written from a thread of their own, each SQLite call handed the GIL back and forth with the
    batch's event loop, and the stored files took a transaction per 32)."""
    server = emulators.start()
    folder = _folder(tmp_path, FILES)
    _count_commits(monkeypatch)

    result = run_xai("files", "batch-upload", str(folder))

    assert result.code == 0, result
    assert len(server.storage.all_ids()) == FILES
    groups = -(-FILES // PreparedItems.GROUP)
    # Each group's transaction, one for what is left at the end, and opening the index (schema, pruning).
    assert 0 < _Counting.commits <= groups + 3, _Counting.commits
    assert _Counting.threads == {threading.current_thread().name}, _Counting.threads
    with sqlite3.connect(next(upload_index.state_dir().rglob("*.sqlite3"))) as db:
        assert db.execute("SELECT count(*) FROM uploads").fetchone()[0] == FILES
        assert db.execute("SELECT count(*) FROM pending").fetchone()[0] == 0


def test_a_slow_batch_records_its_stored_files_without_waiting_for_a_group(
    emulators: Emulators, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stored file waits at most GROUP_SECONDS for its record (here none: each is written with the
    next file's), so a batch killed part-way leaves few pending rows for the next run to settle."""
    emulators.start()
    folder = _folder(tmp_path, 20)
    _count_commits(monkeypatch)
    monkeypatch.setattr(UploadJournal, "GROUP_SECONDS", 0.0)

    result = run_xai("files", "batch-upload", "--concurrency", "1", str(folder))

    assert result.code == 0, result
    assert _Counting.commits >= 20, _Counting.commits


def _rows() -> tuple[int, int]:
    """(stored files, pending rows) in the run's upload index, read as another process would."""
    with sqlite3.connect(next(upload_index.state_dir().rglob("*.sqlite3"))) as db:
        stored = db.execute("SELECT count(*) FROM uploads").fetchone()[0]
        return stored, db.execute("SELECT count(*) FROM pending").fetchone()[0]


def test_stored_files_are_recorded_while_the_last_upload_is_still_under_way(
    emulators: Emulators, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no other file finishing (one slow upload left), the waiting records are written once
    they have waited GROUP_SECONDS: a kill then leaves one pending row to settle, not eleven."""
    emulators.start()
    folder = _folder(tmp_path, 10)
    (folder / "zz-slow.txt").write_bytes(b"slow")
    monkeypatch.setattr(UploadJournal, "GROUP_SECONDS", 0.2)
    release = threading.Event()
    send_item = batch._Batch._send_item

    async def held(self: batch._Batch, stub: Any, src: Any, name: str) -> Any:
        while name == "zz-slow.txt" and not release.is_set():  # a large file on a slow link
            await asyncio.sleep(0.02)
        return await send_item(self, stub, src, name)

    monkeypatch.setattr(batch._Batch, "_send_item", held)
    seen: list[tuple[int, int]] = []

    def watch() -> None:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and (not seen or seen[-1] != (10, 1)):
            time.sleep(0.05)
            with contextlib.suppress(StopIteration, sqlite3.Error):
                seen.append(_rows())
        release.set()

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        result = run_xai("files", "batch-upload", "--concurrency", "2", str(folder))
    finally:
        release.set()
        watcher.join()
    assert result.code == 0, result
    assert seen[-1] == (10, 1), seen[-3:]
    assert _rows() == (11, 0)
