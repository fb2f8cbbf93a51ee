"""ListFiles replies are each file's stored wire entry, concatenated: byte for byte the reply protobuf
makes from File messages built field by field, for files with and without expiry, with a live or an
expired public URL, and for rows stored before the entries were kept (migration m007)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import grpc

from tests.support.emulator import FakeClock
from xai_files_cli._pb import files_pb2
from xai_files_cli.emulator.storage import FileRecord, PageQuery, Storage, list_entry

_NS = 1_000_000_000
BASE = "http://127.0.0.1:1/public/"


def _expected_file(record: FileRecord) -> files_pb2.File:
    """The File of a record, field by field (no helper of the server's)."""
    file = files_pb2.File()
    file.id = record.id
    file.filename = record.filename
    file.size = record.size
    file.created_at.seconds = record.created_at_ns // _NS
    file.created_at.nanos = record.created_at_ns % _NS
    if record.expires_at_ns is not None:
        file.expires_at.seconds = record.expires_at_ns // _NS
        file.expires_at.nanos = record.expires_at_ns % _NS
    if record.public_url is not None:
        file.public_url = record.public_url
        if record.public_url_expires_at_ns is not None:
            file.public_url_expires_at.seconds = record.public_url_expires_at_ns // _NS
            file.public_url_expires_at.nanos = record.public_url_expires_at_ns % _NS
    return file


def _raw_pages(target: str, key: str, limit: int) -> list[bytes]:
    """Every ListFiles reply of one listing as the bytes that came over the wire."""
    with grpc.insecure_channel(target) as channel:
        call = channel.unary_unary(
            "/xai_api.Files/ListFiles",
            request_serializer=files_pb2.ListFilesRequest.SerializeToString,
            response_deserializer=None,  # the raw bytes
        )
        pages: list[bytes] = []
        request = files_pb2.ListFilesRequest(limit=limit)
        while True:
            raw = call(request, metadata=[("authorization", f"Bearer {key}")], timeout=30)
            pages.append(raw)
            token = files_pb2.ListFilesResponse.FromString(raw).pagination_token
            if not token:
                return pages
            request.pagination_token = token


def _assert_replies_match_the_records(running, limit: int) -> None:
    records, _ = running.storage.list_files(PageQuery(limit=100))
    pages = _raw_pages(running.target, running.api_key, limit)
    assert len(pages) == -(-len(records) // limit)
    for number, raw in enumerate(pages):
        expected = files_pb2.ListFilesResponse()
        for record in records[number * limit : (number + 1) * limit]:
            expected.data.append(_expected_file(record))
        parsed = files_pb2.ListFilesResponse.FromString(raw)
        if parsed.pagination_token:
            expected.pagination_token = parsed.pagination_token
        assert raw == expected.SerializeToString(), f"page {number}"


def test_list_replies_are_the_bytes_of_file_messages_built_field_by_field(make_server) -> None:
    clock = FakeClock()
    running, client = make_server(clock=clock)
    storage = running.storage
    ids = []
    for index, (name, ttl) in enumerate(
        [("plain.txt", None), ("expiring.txt", 7200), ("é😀 name.pdf", None), ("big-name" * 30, 3600)] * 3
    ):
        clock.advance(1)
        ids.append(client.upload(f"{index}-{name}", bytes(range(index % 7)), ttl=ttl).id)
    storage.set_public_url(ids[5], BASE, None)  # inherits the file's expiry
    storage.set_public_url(ids[2], BASE, None)  # never expires
    storage.set_public_url(ids[9], BASE, 60)
    clock.advance(61)  # the last public URL has expired; its file has not
    records, _ = storage.list_files(PageQuery(limit=100))
    assert [record.public_url is not None for record in records].count(True) == 2
    for limit in (1, 3, 5, 100):  # pages without a public URL, with one, and all in one page
        _assert_replies_match_the_records(running, limit)


def test_plain_pages_are_served_from_the_stored_entries(make_server) -> None:
    running, client = make_server()
    first = client.upload("a.txt", b"a")
    client.upload("b.txt", b"b", ttl=7200)
    page = running.storage.list_entries(PageQuery(limit=1))
    assert page is not None and page.count == 1 and page.more
    assert page.last is not None and page.last[0] == first.id
    running.storage.set_public_url(first.id, BASE, None)
    assert (
        running.storage.list_entries(PageQuery(limit=1)) is None
    )  # a live URL: the page is built from its rows
    assert running.storage.list_entries(PageQuery(limit=1, after=(page.last[3], first.id))) is not None


def test_rows_stored_before_migration_m007_get_their_entries_when_the_store_opens(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    Storage(data_dir).close()
    conn = sqlite3.connect(data_dir / "files.db")
    conn.execute(
        "DELETE FROM _migrations WHERE name IN ('m007_list_entries', 'm008_rows_without_list_entry')"
    )
    conn.execute("DROP INDEX files_without_list_entry")
    conn.execute("ALTER TABLE files DROP COLUMN list_entry")  # the schema of m006
    rows = [
        (
            "file_00000000-0000-4000-8000-00000000000" + str(n),
            f"old{n}.txt",
            n,
            "text/plain",
            n * _NS + 7,
            None,
        )
        for n in range(3)
    ]
    rows.append(("file_00000000-0000-4000-8000-000000000009", "ttl.txt", 9, "text/plain", 5, 4 * 10**18))
    conn.executemany(
        "INSERT INTO files (id, filename, size, content_type, created_at_ns, expires_at_ns) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        rows,
    )
    conn.commit()
    conn.close()
    store = Storage(data_dir)
    try:
        stored = dict(store.read_connection().execute("SELECT id, list_entry FROM files").fetchall())
        assert stored == {row[0]: list_entry(row[0], row[1], row[2], row[4], row[5]) for row in rows}
        _assert_served_from_entries(store, files=4)
    finally:
        store.close()


def test_rows_an_older_server_writes_without_an_entry_are_listed_and_filled_in_at_the_next_open(
    tmp_path: Path,
) -> None:
    store = Storage(tmp_path / "data")
    kept = store.begin_upload("new.txt", None)
    kept.write(b"new")
    new = kept.commit()
    older = ("file_00000000-0000-4000-8000-000000000001", "old.txt", 3, "text/plain", new.created_at_ns + 1)
    with store.write_transaction() as conn:  # an insert as a server without m007 makes it
        conn.execute(
            "INSERT INTO files (id, filename, size, content_type, created_at_ns) VALUES (?, ?, ?, ?, ?)",
            older,
        )
    assert store.list_entries(PageQuery(limit=100)) is None  # that page is built from the columns
    store.close()
    reopened = Storage(tmp_path / "data")
    try:
        left = "SELECT count(*) FROM files INDEXED BY files_without_list_entry WHERE list_entry IS NULL"
        assert reopened.read_connection().execute(left).fetchone()[0] == 0
        _assert_served_from_entries(reopened, files=2)
    finally:
        reopened.close()


def _assert_served_from_entries(store: Storage, *, files: int) -> None:
    """The first page of `store` comes from its stored entries, holding `files` files, and equals the
    reply built field by field from the same files' records."""
    page = store.list_entries(PageQuery(limit=100))
    assert page is not None and page.count == files
    expected = files_pb2.ListFilesResponse()
    for record in store.list_files(PageQuery(limit=100))[0]:
        expected.data.append(_expected_file(record))
    assert page.entries == expected.SerializeToString()
