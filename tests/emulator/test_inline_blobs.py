"""Small files live in files.db, not in blobs/: no file per upload, same durability and behaviour.

A file of at most INLINE_LIMIT bytes is stored with its row (table `inline_blobs`) in the row's own
transaction; a larger one still goes through tmp/ into blobs/. Every read path (content, public
link, chat attachment), delete and expiry treat both alike, and a data dir made before the change
opens and keeps serving its blob files.
"""

from __future__ import annotations

import hashlib
import random
import sqlite3
import urllib.request
from pathlib import Path

import grpc
import pytest

from tests.support.emulator import FakeClock, ServeProcess, inline_ids
from tests.support.raw_grpc import data, init, request, status_of, user
from tests.support.samples import NOTES
from xai_files_cli._pb import chat_pb2_grpc
from xai_files_cli.emulator import migrations
from xai_files_cli.emulator.storage import INLINE_LIMIT


def _fetch(url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) of one GET of a public link."""
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as response:
        return response.status, dict(response.headers), response.read()


def _blob_names(data_dir: Path) -> set[str]:
    return {path.name for path in (Path(data_dir) / "blobs").iterdir()}


def _intents(data_dir: Path) -> int:
    with sqlite3.connect(Path(data_dir) / "files.db") as db:
        return db.execute("SELECT COUNT(*) FROM blob_intents").fetchone()[0]


def test_a_small_upload_makes_no_blob_file_and_survives_sigkill_right_after_the_reply(tmp_path):
    payload = random.Random(7).randbytes(4096)
    serve = ServeProcess(tmp_path / "data")
    client = serve.client()
    try:
        created = client.upload("small.bin", payload)
    finally:
        serve.kill()  # SIGKILL as soon as the reply arrived: only what was synced survives
        client.close()
    assert _blob_names(tmp_path / "data") == set()
    assert list((tmp_path / "data" / "tmp").iterdir()) == []
    restarted = ServeProcess(tmp_path / "data")
    client = restarted.client()
    try:
        assert [f.id for f in client.list_all()] == [created.id]
        assert client.content(created.id) == payload
        assert client.get(created.id).size == 4096
    finally:
        client.close()
        restarted.kill()
    assert inline_ids(tmp_path / "data") == {created.id}
    assert _blob_names(tmp_path / "data") == set()


@pytest.mark.parametrize(
    "size", [0, 1, INLINE_LIMIT, INLINE_LIMIT + 1, 3 * INLINE_LIMIT], ids=lambda size: f"{size}B"
)
def test_files_up_to_the_limit_are_inline_and_larger_ones_are_blob_files(server, files, size):
    payload = hashlib.sha256(str(size).encode()).digest() * (size // 32 + 1)
    payload = payload[:size]
    chunks = [payload[start : start + 1000] for start in range(0, size, 1000)]  # crosses the limit
    created = files.upload_messages([init(f"f{size}.bin"), *(data(chunk) for chunk in chunks)])
    assert created.size == size
    assert files.content(created.id) == payload
    inline = size <= INLINE_LIMIT
    assert (created.id in inline_ids(server.data_dir)) == inline
    assert _blob_names(server.data_dir) == (set() if inline else {created.id})
    assert list((Path(server.data_dir) / "tmp").iterdir()) == []
    assert _intents(server.data_dir) == 0


def test_deleting_an_inline_file_removes_its_bytes_with_the_row(server, files):
    created = files.upload("gone.txt", b"short-lived")
    kept = files.upload("kept.txt", b"stays")
    assert files.delete(created.id).deleted
    assert status_of(lambda: files.content(created.id)) == grpc.StatusCode.NOT_FOUND
    assert inline_ids(server.data_dir) == {kept.id}
    assert _intents(server.data_dir) == 0  # no blob to unlink, so no note left behind
    assert files.content(kept.id) == b"stays"


def test_an_expired_inline_file_is_swept_with_its_bytes(make_server):
    clock = FakeClock()
    running, client = make_server(clock=clock)
    short = client.upload("short.txt", b"bye", ttl=3600)
    keep = client.upload("keep.txt", b"keep")
    clock.advance(3600)
    assert status_of(lambda: client.content(short.id)) == grpc.StatusCode.NOT_FOUND
    assert running.storage.sweep_expired() == 1
    assert inline_ids(running.data_dir) == {keep.id}
    assert client.content(keep.id) == b"keep"


def test_a_public_link_to_an_inline_file_serves_its_bytes_and_ranges(make_server):
    running, client = make_server(serve_public_links=True, public_port=0)
    payload = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 16  # a small image: public links are for media
    created = client.upload("shared.png", payload)
    assert created.id in inline_ids(running.data_dir)
    url = client.create_url(created.id).public_url
    status, headers, body = _fetch(url)
    assert (status, body) == (200, payload)
    assert headers["Content-Length"] == str(len(payload))
    status, headers, body = _fetch(url, Range="bytes=20-39")
    assert (status, body) == (206, payload[20:40])
    assert headers["Content-Range"] == f"bytes 20-39/{len(payload)}"


def test_a_chat_attachment_from_an_inline_file_answers_from_its_bytes(server, files):
    stored = files.upload("notes.txt", NOTES.encode())
    assert stored.id in inline_ids(server.data_dir)
    chat = chat_pb2_grpc.ChatStub(files.channel)
    reply = chat.GetCompletion(
        request(user("What are the risks?", stored.id)), metadata=files.metadata, timeout=30
    )
    answer = reply.outputs[-1].message.content
    assert "> The main risk is that the vendor misses the March deadline" in answer


def test_a_data_dir_made_before_inline_storage_opens_and_serves_its_blob_files(tmp_path, monkeypatch):
    data_dir = tmp_path / "data"
    (data_dir / "blobs").mkdir(parents=True, mode=0o700)
    (data_dir / "tmp").mkdir(mode=0o700)
    before = [name for name, _ in migrations.MIGRATIONS if name < "m006"]
    monkeypatch.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[: len(before)])
    db = sqlite3.connect(data_dir / "files.db", isolation_level=None)  # the previous release's schema
    migrations.apply_migrations(db)
    monkeypatch.undo()
    old_id = "file_33333333-3333-4333-8333-333333333333"
    db.execute(
        "INSERT INTO files (id, filename, size, content_type, created_at_ns) VALUES (?, ?, ?, ?, ?)",
        (old_id, "old.txt", 21, "text/plain", 1_800_000_000_000_000_000),
    )
    db.close()
    (data_dir / "blobs" / old_id).write_bytes(b"stored as a blob file")
    serve = ServeProcess(data_dir)
    client = serve.client()
    try:
        assert client.content(old_id) == b"stored as a blob file"
        new = client.upload("new.txt", b"stored inline")
        assert client.content(new.id) == b"stored inline"
        assert {f.id for f in client.list_all()} == {old_id, new.id}
    finally:
        client.close()
        serve.kill()
    assert _blob_names(data_dir) == {old_id}
    assert inline_ids(data_dir) == {new.id}
