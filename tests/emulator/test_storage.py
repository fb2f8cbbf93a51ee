"""Storage: durability settings, migrations, permissions, crash cleanup, shared data dirs, disk full."""

from __future__ import annotations

import errno
import sqlite3
import stat
from datetime import timezone

import grpc
import pytest

from tests.support.emulator import FakeClock, disk_state
from tests.support.raw_grpc import error_of
from xai_files_cli.emulator import storage as storage_module
from xai_files_cli.emulator.migrations import MIGRATIONS, applied_migrations
from xai_files_cli.emulator.storage import INLINE_LIMIT, FileTooLarge, PageQuery, Storage

BIG = b"s" * (INLINE_LIMIT + 1)  # stored in blobs/, not inline in files.db


@pytest.fixture
def store(tmp_path):
    s = Storage(tmp_path / "data")
    yield s
    s.close()


def _put(store: Storage, name: str, payload: bytes, ttl: int | None = None):
    with store.begin_upload(name, ttl) as upload:
        upload.write(payload)
        return upload.commit()


def test_durability_pragmas(store):
    """WAL, synchronous=FULL (2), busy_timeout >= 5 s, foreign keys on, on every thread's connection."""
    assert store.pragmas() == {
        "journal_mode": "wal",
        "synchronous": 2,
        "busy_timeout": 10_000,
        "foreign_keys": 1,
    }
    import threading

    seen = {}
    thread = threading.Thread(target=lambda: seen.update(store.pragmas()))
    thread.start()
    thread.join()
    assert seen == store.pragmas()
    assert store.integrity_check() == "ok"


def test_migrations_are_applied_once_in_order(tmp_path):
    first = Storage(tmp_path / "d")
    first.close()
    second = Storage(tmp_path / "d")  # reopening applies nothing new and keeps the schema
    try:
        assert applied_migrations(second._conn()) == [name for name, _ in MIGRATIONS]
        columns = {row[1] for row in second._conn().execute("PRAGMA table_info(files)")}
        assert {"id", "filename", "size", "public_url", "public_url_expires_at_ns"} <= columns
    finally:
        second.close()


def test_permissions_are_private(store):
    record = _put(store, "a.txt", BIG)
    for directory in (store.data_dir, store.blob_dir, store.tmp_dir):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert stat.S_IMODE((store.blob_dir / record.id).stat().st_mode) == 0o600
    assert stat.S_IMODE(store.db_path.stat().st_mode) == 0o600
    wal = store.db_path.with_name(store.db_path.name + "-wal")
    assert stat.S_IMODE(wal.stat().st_mode) == 0o600


def test_record_fields_and_blob(tmp_path):
    clock = FakeClock(1_800_000_000)
    store = Storage(tmp_path / "d", clock=clock)
    try:
        record = _put(store, "notes.md", b"# hi", ttl=3600)
        assert record.created_at.tzinfo == timezone.utc
        assert record.created_at.isoformat() == "2027-01-15T08:00:00+00:00"
        assert (record.expires_at - record.created_at).total_seconds() == 3600
        assert record.content_type == "text/markdown"
        assert store.get(record.id) == record
        with store.open_blob(record.id) as blob:
            assert blob.read() == b"# hi"
        assert store.get("file_nope") is None
        assert store.open_blob("../files.db") is None
    finally:
        store.close()


def test_nothing_is_visible_before_commit(store):
    upload = store.begin_upload("pending.txt", None)
    upload.write(BIG)
    assert store.list_files()[0] == []
    assert disk_state(store.data_dir) == (set(), {f"{upload.file_id}.part"})
    upload.abort()
    assert disk_state(store.data_dir) == (set(), set())


def test_too_large_removes_the_temp_file(tmp_path):
    store = Storage(tmp_path / "d", max_file_size=5)
    try:
        with pytest.raises(FileTooLarge), store.begin_upload("x", None) as upload:
            upload.write(b"12345")
            upload.write(b"6")
        assert disk_state(store.data_dir) == (set(), set())
    finally:
        store.close()


def test_startup_removes_stale_temps_and_orphan_blobs_but_keeps_files(tmp_path):
    store = Storage(tmp_path / "d")
    kept = _put(store, "kept.txt", b"kept")
    store.close()
    orphan_id = "file_11111111-1111-4111-8111-111111111111"
    (tmp_path / "d" / "blobs" / orphan_id).write_bytes(b"crashed after rename, before insert")
    (tmp_path / "d" / "tmp" / "file_22222222-2222-4222-8222-222222222222.part").write_bytes(b"half")
    (tmp_path / "d" / "blobs" / "not-ours.txt").write_bytes(b"left alone")
    reopened = Storage(tmp_path / "d")
    try:
        assert disk_state(reopened.data_dir) == ({kept.id, "not-ours.txt"}, set())
        with reopened.open_blob(kept.id) as blob:
            assert blob.read() == b"kept"
    finally:
        reopened.close()


def test_cleanup_by_another_process_spares_an_upload_in_progress(tmp_path):
    """Two stores on one data dir (like `xai serve` plus a `--local` run): opening the second one
    must not remove the first one's temp file, nor its blob between rename and row insert."""
    first = Storage(tmp_path / "shared")
    upload = first.begin_upload("in-progress.bin", None)
    upload.write(b"a" * INLINE_LIMIT)
    upload.write(b"a" * 1000)  # past the inline limit: now a locked temp file
    second = Storage(tmp_path / "shared")  # runs startup cleanup
    try:
        assert disk_state(first.data_dir)[1] == {f"{upload.file_id}.part"}
        upload.write(b"b" * 1000)
        record = upload.commit()
        assert second.get(record.id) == record
        with second.open_blob(record.id) as blob:
            assert blob.read() == b"a" * (INLINE_LIMIT + 1000) + b"b" * 1000
        assert second.cleanup() == (0, 0)
        assert second.get(record.id) == record
    finally:
        first.close()
        second.close()


def test_restart_keeps_every_file(tmp_path):
    store = Storage(tmp_path / "d")
    made = {_put(store, f"f{i}", bytes([i]) * i).id: bytes([i]) * i for i in range(20)}
    for file_id in list(made)[:5]:
        assert store.delete(file_id)
        del made[file_id]
    store.close()
    reopened = Storage(tmp_path / "d")
    try:
        assert {r.id for r in reopened.list_files(PageQuery(limit=100))[0]} == set(made)
        for file_id, payload in made.items():
            with reopened.open_blob(file_id) as blob:
                assert blob.read() == payload
        assert reopened.integrity_check() == "ok"
    finally:
        reopened.close()


def test_concurrent_writers_in_two_processes_do_not_get_busy_errors(tmp_path):
    """Two connections from different 'processes' (separate Storage objects) write at once."""
    import threading

    a, b = Storage(tmp_path / "d"), Storage(tmp_path / "d")
    errors: list[BaseException] = []

    def work(store: Storage, prefix: str) -> None:
        try:
            for i in range(40):
                record = _put(store, f"{prefix}{i}", b"x")
                if i % 3 == 0:
                    store.delete(record.id)
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(s, p)) for s, p in ((a, "a"), (b, "b"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert errors == []
        assert len(a.list_files(PageQuery(limit=100))[0]) == 2 * (40 - 14)
    finally:
        a.close()
        b.close()


def test_disk_full_is_resource_exhausted_and_server_keeps_serving(files, server, monkeypatch):
    """A full disk (ENOSPC while writing) -> RESOURCE_EXHAUSTED, temp removed, DB unchanged."""
    real_create = storage_module.Upload._create_temp

    class FullDisk:
        def __init__(self, inner):
            self.inner = inner

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

        def __getattr__(self, name):
            return getattr(self.inner, name)

    def create_on_full_disk(self):
        file_id, handle, path = real_create(self)
        return file_id, FullDisk(handle), path

    monkeypatch.setattr(storage_module.Upload, "_create_temp", create_on_full_disk)
    error = error_of(lambda: files.upload("x.bin", BIG))
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "no space" in error.details()
    assert disk_state(server.data_dir) == (set(), set())
    monkeypatch.undo()
    assert files.upload("y.bin", b"ok").size == 2
    assert [f.filename for f in files.list().data] == ["y.bin"]


class _FailingCommit:
    """A connection whose next COMMIT fails without running, as SQLite may leave it (SQLITE_FULL)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn, self.fail = conn, True

    def execute(self, sql: str, *args):
        if sql == "COMMIT" and self.fail:
            self.fail = False
            raise sqlite3.OperationalError("database or disk is full")
        return self.conn.execute(sql, *args)

    def __getattr__(self, name: str):
        return getattr(self.conn, name)


def test_the_connection_of_writes_keeps_the_durability_pragmas_and_temp_files_in_memory(store):
    """Every write goes through one connection of the store: it has the same durability settings as
    the readers' ones, and its statement journals (multi-row inserts) are never files of their own."""
    _put(store, "a.txt", b"a")
    writer = store._writer()
    settings = {
        name: writer.execute(f"PRAGMA {name}").fetchone()[0]
        for name in ("journal_mode", "synchronous", "busy_timeout", "foreign_keys")
    }
    assert settings == store.pragmas()
    assert writer.execute("PRAGMA temp_store").fetchone()[0] == 2  # MEMORY
    assert store.read_connection().execute("PRAGMA temp_store").fetchone()[0] == 2


def test_a_failed_commit_is_rolled_back_so_later_writes_still_work(store):
    """SQLite's advice for SQLITE_FULL/IOERR/BUSY: ROLLBACK explicitly, or the transaction stays
    open, holding the write lock, and every later write on the connection fails."""
    kept = _put(store, "kept.txt", b"y")
    store._writer_conn = _FailingCommit(store._writer())  # every write of the store goes through it
    with pytest.raises(sqlite3.OperationalError, match="disk is full"):
        store.delete(kept.id)
    assert store.all_ids() == {kept.id}
    later = _put(store, "later.txt", b"z")
    assert store.all_ids() == {kept.id, later.id}
    other = Storage(store.data_dir)  # another connection can write too: no lock was left behind
    try:
        assert other.delete(kept.id)
    finally:
        other.close()


def test_a_group_of_uploads_whose_insert_fails_stores_none_of_them(store):
    """A group's rows and bytes go in with one statement: a failure on any row (here an id that is
    taken) leaves no row and no bytes of the group behind, and the store keeps working."""
    first = _put(store, "first.txt", b"1")
    fresh = storage_module.FileRecord("file_" + "0" * 8 + "-0000-4000-8000-" + "0" * 12, "a", 1, "t", 1, None)
    taken = storage_module.FileRecord(first.id, "b", 1, "t", 2, None)
    with pytest.raises(sqlite3.IntegrityError):
        store._insert([fresh, taken], [(fresh.id, b"a"), (taken.id, b"b")])
    assert store.all_ids() == {first.id}
    assert store.read_connection().execute("SELECT COUNT(*) FROM inline_blobs").fetchone()[0] == 1
    second = _put(store, "second.txt", b"2")
    assert store.all_ids() == {first.id, second.id}


def test_sql_is_parameterised(store):
    hostile = "x'); DROP TABLE files; --"
    record = _put(store, hostile, b"")
    assert store.get(record.id).filename == hostile
    assert store.list_files(PageQuery(where=("filename = ?", (hostile,))))[0] == [record]
    assert store.integrity_check() == "ok"


RESOURCE_EXHAUSTED = grpc.StatusCode.RESOURCE_EXHAUSTED


@pytest.mark.parametrize(
    ("error", "code", "needle"),
    [
        (sqlite3.OperationalError("database is locked"), grpc.StatusCode.UNAVAILABLE, "busy"),
        (sqlite3.DatabaseError("file is not a database"), grpc.StatusCode.INTERNAL, "DatabaseError"),
        (OSError(errno.EIO, "Input/output error"), grpc.StatusCode.INTERNAL, "Input/output error"),
        (OSError(errno.ENOSPC, "No space left"), grpc.StatusCode.RESOURCE_EXHAUSTED, "no space"),
        (sqlite3.OperationalError("database or disk is full"), RESOURCE_EXHAUSTED, "no space"),
    ],
)
def test_storage_failures_get_defined_codes_never_unknown(files, server, monkeypatch, error, code, needle):
    created = files.upload("a.txt", b"abc")

    def broken(*args, **kwargs):
        raise error

    monkeypatch.setattr(server.storage, "list_files", broken)
    monkeypatch.setattr(server.storage, "list_entries", broken)  # what ListFiles reads
    monkeypatch.setattr(server.storage, "open_blob", broken)
    for call in (files.list, lambda: files.content(created.id)):
        failure = error_of(call)
        assert failure.code() == code
        assert needle in failure.details()
    monkeypatch.undo()
    assert files.content(created.id) == b"abc"


def test_read_errors_mid_download_are_internal(files, server, monkeypatch):
    created = files.upload("big.bin", b"r" * (7 * 1024 * 1024))
    real_open = server.storage.open_blob

    class FailingBlob:
        def __init__(self, inner):
            self.inner, self.reads = inner, 0

        def read(self, size):
            self.reads += 1
            if self.reads > 1:
                raise OSError(errno.EIO, "Input/output error")
            return self.inner.read(size)

        def readinto(self, buffer):  # what the download stream reads with
            self.reads += 1
            if self.reads > 1:
                raise OSError(errno.EIO, "Input/output error")
            return self.inner.readinto(buffer)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.inner.close()

    monkeypatch.setattr(server.storage, "open_blob", lambda file_id: FailingBlob(real_open(file_id)))
    failure = error_of(lambda: files.content(created.id))
    assert failure.code() == grpc.StatusCode.INTERNAL
