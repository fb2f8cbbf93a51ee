"""FilesClient.batch_upload on grpc.aio: restarts from byte 0, lost replies, files changed while sent,
server statuses kept intact, lazy item start, and cancellation."""

from __future__ import annotations

import hashlib
import io
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.constants import TEST_KEY
from tests.support.emulator import Emulators
from tests.support.tls import TlsCerts
from xai_files_cli.core.files import FilesClient
from xai_files_cli.core.records import UploadItem, UploadResult
from xai_files_cli.core.transfer import CHUNK_SIZE, FileChangedError, StreamSink
from xai_files_cli.errors import Interrupted, RejectedError, UnavailableError


class Bytes:
    """A Progress that sums what it is told (advance may come from a reader thread)."""

    def __init__(self) -> None:
        self.done = 0
        self.total: int | None = -1
        self._lock = threading.Lock()

    def start(self, total: int | None, description: str) -> None:
        self.total = total

    def advance(self, n: int) -> None:
        with self._lock:
            self.done += n

    def reset(self) -> None:
        raise AssertionError("a batch rolls back one item's bytes with advance(-n), never reset()")

    def finish(self) -> None:
        pass


def _big_file(path: Path, chunks: int = 8) -> Path:
    block = os.urandom(1024 * 1024)
    with path.open("wb") as handle:
        for i in range(chunks * 3):
            handle.write(block[i:] + block[:i])
    return path


def _small_files(folder: Path, count: int) -> list[Path]:
    folder.mkdir(exist_ok=True)
    paths = []
    for i in range(count):
        path = folder / f"s{i}.txt"
        path.write_bytes(b"s" * (i + 1))
        paths.append(path)
    return paths


def _content(client: FilesClient, file_id: str) -> bytes:
    buffer = io.BytesIO()
    client.download(file_id, StreamSink(buffer))
    return buffer.getvalue()


def test_unavailable_mid_stream_restarts_each_file_from_zero(faulty_client, tmp_path: Path) -> None:
    server, client = faulty_client("UploadFile:abort_upload:after=1,times=2")
    big = _big_file(tmp_path / "big.bin")
    small = _small_files(tmp_path / "small", 3)
    # The two big files take the first two calls (concurrency 2), and both are cut after one chunk.
    items = [UploadItem(big, name="a.bin"), UploadItem(big, name="b.bin")] + [UploadItem(p) for p in small]
    progress, notices = Bytes(), []
    results = client.batch_upload(items, concurrency=2, progress=progress, on_notice=notices.append)
    assert all(r.ok for r in results), [r.error for r in results]
    outcomes = server.faults.outcomes("UploadFile")
    assert sorted(outcomes) == ["OK"] * 5 + ["UNAVAILABLE"] * 2  # one restart each, nothing else
    assert sorted(n.split(":")[0] for n in notices) == ["upload a.bin", "upload b.bin"]
    assert all(n.endswith("; retrying from start (2/3)") for n in notices)
    stored = {r.file.filename: r.file.id for r in results if r.file}
    assert len(server.storage.all_ids()) == len(stored) == 5
    digest = hashlib.sha256(big.read_bytes()).hexdigest()
    for name in ("a.bin", "b.bin"):
        assert hashlib.sha256(_content(client, stored[name])).hexdigest() == digest
    sizes = 2 * big.stat().st_size + sum(p.stat().st_size for p in small)
    assert (progress.total, progress.done) == (sizes, sizes)  # the cut attempts were rolled back


def test_lost_reply_is_reported_once_and_not_resent(faulty_client, tmp_path: Path) -> None:
    server, client = faulty_client("UploadFile:commit_drop")
    first, second = _small_files(tmp_path / "small", 2)
    results = client.batch_upload([UploadItem(first), UploadItem(second)], concurrency=1)
    lost, fine = results
    assert isinstance(lost.error, UnavailableError) and lost.item.path == first
    assert "upload outcome unknown" in lost.error.message  # never claimed failed or resent
    assert lost.error.path == str(first)
    assert fine.ok
    assert server.faults.calls("UploadFile") == 2
    assert len(server.storage.all_ids()) == 2  # the server did store the first one


def test_server_rejection_during_a_large_upload_keeps_its_status(faulty_client, tmp_path: Path) -> None:
    # grpc.aio reports INTERNAL when a write is in flight as the server ends the call; the server's
    # own status (here: a forbidden character in the name) must reach the user instead.
    server, client = faulty_client()
    big = _big_file(tmp_path / "big.bin", chunks=2)
    items = [UploadItem(big, name=f'bad"name{i}.bin') for i in range(4)]
    results = client.batch_upload(items, concurrency=4)
    for result in results:
        assert isinstance(result.error, RejectedError), result.error
        assert result.error.status == "INVALID_ARGUMENT"
    assert server.storage.all_ids() == set()


def test_a_file_changing_while_read_fails_alone_and_stores_nothing(faulty_client, tmp_path: Path) -> None:
    server, client = faulty_client()
    big = _big_file(tmp_path / "grows.bin", chunks=1)
    (fine,) = _small_files(tmp_path / "small", 1)

    class Appender(Bytes):
        def advance(self, n: int) -> None:
            super().advance(n)
            if n == CHUNK_SIZE:  # after the big file's first chunk, before its end is read
                with big.open("ab") as handle:
                    handle.write(b"more")

    results = client.batch_upload([UploadItem(big), UploadItem(fine)], concurrency=1, progress=Appender())
    changed, ok = results
    assert isinstance(changed.error, FileChangedError)  # the file grew while it was sent
    assert ok.ok
    assert server.faults.outcomes("UploadFile") == ["CANCELLED", "OK"]
    assert [server.storage.get(i).filename for i in server.storage.all_ids()] == ["s0.txt"]


def test_items_are_pulled_only_as_slots_free_up(client: FilesClient, tmp_path: Path) -> None:
    (sample,) = _small_files(tmp_path / "small", 1)
    pulled = 0
    finished = 0
    widest = 0

    def items() -> Iterator[UploadItem]:
        nonlocal pulled
        for i in range(10_000):
            pulled += 1
            yield UploadItem(sample, name=f"f{i}.txt")

    class Enough(Exception):
        pass

    def on_result(result: UploadResult) -> None:
        nonlocal finished, widest
        assert result.ok, result.error
        finished += 1
        widest = max(widest, pulled - finished)
        if finished == 40:
            raise Enough

    with pytest.raises(Enough):
        client.batch_upload(items(), concurrency=8, on_result=on_result)
    assert widest <= 8  # never more items started than slots
    assert pulled <= 40 + 8


def test_cancel_from_another_thread_cancels_calls_in_flight(faulty_client, tmp_path: Path) -> None:
    server, client = faulty_client("UploadFile:delay:amount=1.5,times=0")
    paths = _small_files(tmp_path / "small", 6)
    seen: list[UploadResult] = []
    raised: list[BaseException] = []

    def batch() -> None:
        try:
            client.batch_upload([UploadItem(p) for p in paths], concurrency=3, on_result=seen.append)
        except BaseException as error:
            raised.append(error)

    worker = threading.Thread(target=batch)
    worker.start()
    assert server.faults.wait_for(lambda plan: plan.calls("UploadFile") == 3)
    client.cancel.set()
    worker.join(timeout=5)
    assert not worker.is_alive()
    assert len(raised) == 1 and isinstance(raised[0], Interrupted)
    assert seen == []
    assert server.faults.wait_for(lambda plan: plan.outcomes("UploadFile") == ["CANCELLED"] * 3)
    assert server.faults.calls("UploadFile") == 3  # nothing started after the cancel
    assert server.storage.all_ids() == set()


def test_the_aio_channel_uses_the_same_tls_roots(
    tmp_path: Path, tls_certs: TlsCerts, emulators: Emulators
) -> None:
    from xai_files_cli.core.channel import connect

    cert, key = tls_certs.pair()
    running = emulators.start(point_cli=False, host="localhost", tls_cert=cert, tls_key=key)
    channel = connect(f"localhost:{running.port}", TEST_KEY, ca_cert=tls_certs.ca.read_bytes())
    try:
        paths = _small_files(tmp_path / "small", 3)
        results = FilesClient(channel).batch_upload([UploadItem(p) for p in paths], concurrency=3)
        assert all(r.ok for r in results), [r.error for r in results]
        assert running.faults is not None and running.faults.calls("UploadFile") == 3
    finally:
        channel.close()


def test_the_aio_twin_applies_the_rules_of_connect(server) -> None:
    from xai_files_cli.core.channel import DialSettings, connect, dial_settings
    from xai_files_cli.errors import AuthError, UsageError

    with pytest.raises(UsageError, match="refusing to send API key over plaintext"):
        DialSettings("http://files.example.com:80", TEST_KEY).open_aio()
    with pytest.raises(AuthError):
        DialSettings(server.target, " ").open_aio()
    channel = connect(server.target, TEST_KEY)
    try:
        settings = dial_settings(channel)
        assert settings is not None and settings.target == server.target
        assert TEST_KEY not in repr(settings)
    finally:
        channel.close()
    assert dial_settings(object()) is None  # type: ignore[arg-type]
