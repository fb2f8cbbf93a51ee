"""The SHA-256 an upload records is taken in the same read pass as the upload, off the thread that
sends, and is that of the bytes of the attempt that was stored (a restart starts a fresh hash)."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path

from tests.support.cli import run_xai
from tests.support.emulator import Emulators
from tests.support.stored import index_rows, sha256_of, stored_by_name
from xai_files_cli.core.content_hash import HashingSource, ThreadedHasher
from xai_files_cli.core.files import FilesClient
from xai_files_cli.core.transfer import CHUNK_SIZE


class SendingThreads:
    """A Progress that notes, at each chunk handed to gRPC, which thread hands it over and whether
    the hashing thread is running then."""

    def __init__(self) -> None:
        self.senders: set[str] = set()
        self.hasher_alive: list[bool] = []

    def start(self, total: int | None, description: str) -> None:
        pass

    def advance(self, n: int) -> None:
        self.senders.add(threading.current_thread().name)
        self.hasher_alive.append(any(t.name == "xai-sha256" for t in threading.enumerate()))

    def reset(self) -> None:
        pass

    def finish(self) -> None:
        pass


def _payload(path: Path, size: int) -> Path:
    block = os.urandom(1024 * 1024)
    with path.open("wb") as handle:
        while size > 0:
            size -= handle.write(block[: min(size, len(block))])
    return path


def test_a_large_upload_is_hashed_by_its_own_thread_while_it_is_sent(
    client: FilesClient, tmp_path: Path
) -> None:
    path = _payload(tmp_path / "big.bin", 3 * CHUNK_SIZE + 5)
    seen = SendingThreads()
    with HashingSource.open_path(path) as source:
        assert isinstance(source.hasher, ThreadedHasher)
        client.upload(source, name="big.bin", progress=seen)
        assert source.hexdigest() == sha256_of(path)
    assert "xai-sha256" not in seen.senders and threading.main_thread().name not in seen.senders
    assert all(seen.hasher_alive) and len(seen.hasher_alive) == 4


def test_a_restarted_upload_records_the_hash_of_the_content_once(
    emulators: Emulators, tmp_path: Path
) -> None:
    # The first attempt breaks after one chunk; the restart sends the file again from byte 0.
    server = emulators.start("UploadFile:abort_upload:after=1")
    path = _payload(tmp_path / "big.bin", 8 * CHUNK_SIZE + 7)  # more than gRPC buffers before the cut
    manifest = tmp_path / "m.jsonl"
    result = run_xai("files", "upload", str(path), "--manifest", str(manifest))
    assert result.code == 0, result
    assert server.faults is not None and server.faults.outcomes("UploadFile") == ["UNAVAILABLE", "OK"]
    digest = sha256_of(path)
    assert json.loads(manifest.read_text())["sha256"] == digest
    assert [row[3] for row in index_rows(Path(os.environ["XAI_STATE_DIR"]), "uploads")] == [digest]
    assert stored_by_name(server)["big.bin"] == [(result.stdout.strip(), digest)]


def test_batch_items_carry_the_hash_of_what_was_sent(emulators: Emulators, tmp_path: Path) -> None:
    server = emulators.start("UploadFile:abort_upload:after=1")
    docs = tmp_path / "docs"
    docs.mkdir()
    large = _payload(docs / "large.bin", 8 * CHUNK_SIZE + 3)  # read (and hashed) in a worker thread
    small = docs / "small.txt"
    small.write_text("small\n")  # read (and hashed) on the event loop
    result = run_xai("files", "batch-upload", str(docs), "-c", "1", "--manifest", str(tmp_path / "m.jsonl"))
    assert result.code == 0, result
    assert server.faults is not None and server.faults.outcomes("UploadFile") == ["UNAVAILABLE", "OK", "OK"]
    lines = {
        Path(line["path"]).name: line
        for line in map(json.loads, (tmp_path / "m.jsonl").read_text().splitlines())
    }
    assert lines["large.bin"]["sha256"] == sha256_of(large)
    assert lines["small.txt"]["sha256"] == hashlib.sha256(b"small\n").hexdigest()
