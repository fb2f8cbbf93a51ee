"""FilesClient against a real emulator: the happy paths, and lost replies, restarts, deadlines, cut or
wrong-sized downloads that never replace the destination."""

from __future__ import annotations

import hashlib
import io
import os
import threading
from pathlib import Path

import pytest

from tests.support.emulator import seed
from xai_files_cli.core.files import FilesClient
from xai_files_cli.core.records import UploadItem
from xai_files_cli.core.transfer import (
    CHUNK_SIZE,
    AtomicFileSink,
    FileChangedError,
    StreamSink,
    UploadSource,
)
from xai_files_cli.errors import (
    InternalError,
    NotFoundError,
    RejectedError,
    UnavailableError,
    UsageError,
)


class Recorder:
    """A Progress that remembers what it was told."""

    def __init__(self) -> None:
        self.events: list[tuple[str, object]] = []
        self.done = 0

    def start(self, total: int | None, description: str) -> None:
        self.events.append(("start", total))

    def advance(self, n: int) -> None:
        self.done += n

    def reset(self) -> None:
        self.events.append(("reset", self.done))
        self.done = 0

    def finish(self) -> None:
        self.events.append(("finish", self.done))


def _big_file(tmp_path: Path, chunks: int = 8) -> Path:
    path = tmp_path / "big.bin"
    block = os.urandom(1024 * 1024)
    with path.open("wb") as handle:
        for i in range(chunks * 3):
            handle.write(block[i:] + block[:i])
    return path


def _workdir(tmp_path: Path) -> Path:
    """A directory of its own, so temp-file checks do not see the emulator's data dir."""
    work = tmp_path / "work"
    work.mkdir()
    return work


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _download(client: FilesClient, file_id: str) -> bytes:
    buffer = io.BytesIO()
    client.download(file_id, StreamSink(buffer))
    return buffer.getvalue()


# -- happy paths ------------------------------------------------------------------------------------
def test_upload_get_download_delete_round_trip(client: FilesClient, tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(b"hello\n" * 1000)
    progress = Recorder()
    info = client.upload(path, name="notes.txt", expires_after=3600, progress=progress)
    assert (info.filename, info.size) == ("notes.txt", 6000)
    assert info.expires_at is not None
    assert (info.expires_at - info.created_at).total_seconds() == 3600
    assert progress.events == [("start", 6000), ("finish", 6000)]
    assert client.get(info.id) == info
    assert _download(client, info.id) == path.read_bytes()
    assert client.delete(info.id).already_deleted is False
    with pytest.raises(NotFoundError):
        client.get(info.id)


def test_empty_file_uploads_as_size_zero(client: FilesClient, tmp_path: Path) -> None:
    path = tmp_path / "empty"
    path.write_bytes(b"")
    info = client.upload(path, name="empty")
    assert info.size == 0
    assert _download(client, info.id) == b""


def test_multi_chunk_upload_is_byte_exact(client: FilesClient, tmp_path: Path) -> None:
    path = _big_file(tmp_path, chunks=2)
    path.open("ab").write(b"tail")
    info = client.upload(path, name="big.bin")
    assert info.size == 2 * CHUNK_SIZE + 4
    assert _sha(_download(client, info.id)) == _sha(path.read_bytes())


def test_client_side_checks_happen_before_any_rpc(faulty_client, tmp_path: Path) -> None:
    server, client = faulty_client()
    big = tmp_path / "huge.bin"
    with big.open("wb") as handle:
        handle.truncate(512 * 1000 * 1000 + 1)  # sparse: no disk used
    with pytest.raises(RejectedError, match="over the 512 MB limit"):
        client.upload(big, name="huge.bin")  # refused before anything is sent
    with pytest.raises(UsageError, match="between 1h and 30d"):
        client.upload(io.BytesIO(b"x"), name="x", expires_after=60)
    with pytest.raises(UsageError):
        client.upload(io.BytesIO(b"x"), name="")
    assert server.faults.calls("UploadFile") == 0


def test_listing_follows_tokens_with_the_same_sort(faulty_client) -> None:
    server, client = faulty_client()
    for i, size in enumerate([5, 1, 4, 2, 7, 3, 6]):
        seed(server, f"f{i}", b"x" * size)
    sizes = [f.size for f in client.iter_files(sort="size", descending=True, page_size=3, concurrency=1)]
    assert sizes == [7, 6, 5, 4, 3, 2, 1]
    assert server.faults.calls("ListFiles") == 3
    names = [f.filename for f in client.iter_files(sort="filename", page_size=2, limit=3, concurrency=1)]
    assert names == ["f0", "f1", "f2"]
    assert server.faults.calls("ListFiles") == 5  # the limit stops paging early
    windowed = [f.size for f in client.iter_files(sort="size", descending=True, page_size=3)]
    assert windowed == sizes  # several cursors over created_at windows: the same listing
    page = client.list_page(sort="created_at", page_size=100)
    assert len(page.files) == 7 and page.next_token is None
    with pytest.raises(UsageError, match="invalid sort key"):
        client.list_page(sort="colour")


def test_batch_upload_reports_each_file(client: FilesClient, tmp_path: Path) -> None:
    paths = []
    for i in range(6):
        path = tmp_path / f"f{i}.txt"
        path.write_bytes(b"x" * i)
        paths.append(path)
    items = [UploadItem(p) for p in paths] + [UploadItem(tmp_path / "missing.txt")]
    seen = []
    progress = Recorder()
    # Results handed over one by one are not also kept.
    assert client.batch_upload(items, concurrency=3, on_result=seen.append, progress=progress) == []
    results = seen
    assert len(results) == 7
    failed = [r for r in results if not r.ok]
    assert [r.item.path.name for r in failed] == ["missing.txt"]
    assert isinstance(failed[0].error, UsageError)
    assert sorted(r.file.filename for r in results if r.file) == [f"f{i}.txt" for i in range(6)]
    assert progress.events[0] == ("start", sum(range(6)))
    assert progress.done == sum(range(6))


def test_public_urls(client: FilesClient) -> None:
    info = client.upload(io.BytesIO(b"%PDF-1.4\n%%EOF\n"), name="doc.pdf")
    url = client.create_public_url(info.id, expires_after=3600)
    assert url.url and url.expires_at is not None
    assert client.get(info.id).public_url == url.url
    revoked = client.revoke_public_url(info.id)
    assert (revoked.revoked, revoked.url) == (True, url.url)
    assert client.revoke_public_url(info.id).revoked is False


# -- upload faults -----------------------------------------------------------------------------------
def test_upload_cut_mid_stream_restarts_from_byte_zero(faulty_client, tmp_path: Path) -> None:
    server, client = faulty_client("UploadFile:abort_upload:after=1")
    path = _big_file(tmp_path)
    progress, notices = Recorder(), []
    info = client.upload(path, name="big.bin", progress=progress, on_notice=notices.append)
    # Restarted from byte 0: exactly one stored file, byte-identical, and the progress was rolled back.
    assert server.faults.outcomes("UploadFile") == ["UNAVAILABLE", "OK"]
    assert [f.id for f in client.iter_files()] == [info.id]
    assert _sha(_download(client, info.id)) == _sha(path.read_bytes())
    assert progress.events[1][0] == "reset" and progress.events[1][1] > 0
    assert progress.done == path.stat().st_size
    assert len(notices) == 1
    assert notices[0].startswith("upload big.bin: upload interrupted after ")
    assert notices[0].endswith(f"of {path.stat().st_size:,} bytes; retrying from start (2/3)")


def test_upload_that_keeps_failing_gives_up_and_stores_nothing(faulty_client, tmp_path: Path) -> None:
    server, client = faulty_client("UploadFile:abort_upload:after=1,times=0")
    with pytest.raises(UnavailableError) as caught:
        client.upload(_big_file(tmp_path), name="big.bin")
    assert caught.value.status == "UNAVAILABLE"
    assert server.faults.calls("UploadFile") == 3
    assert list(client.iter_files()) == []  # NS


def test_lost_reply_after_everything_was_sent_is_not_resent(faulty_client) -> None:
    server, client = faulty_client("UploadFile:commit_drop")
    with pytest.raises(UnavailableError) as caught:
        client.upload(io.BytesIO(b"payload"), name="a.txt", size=7)
    # The server stored it once; we must neither resend nor claim it failed.
    assert "upload outcome unknown" in caught.value.message
    assert "xai files ls" in (caught.value.hint or "")
    assert server.faults.calls("UploadFile") == 1
    assert [f.filename for f in client.iter_files()] == ["a.txt"]


def test_file_changing_during_upload_aborts_the_stream(faulty_client, tmp_path: Path) -> None:
    server, client = faulty_client()
    path = tmp_path / "grows.bin"
    path.write_bytes(b"x" * (CHUNK_SIZE + 10))
    from xai_files_cli.core.transfer import UploadSource

    source = UploadSource.open_path(path)
    with path.open("ab") as handle:  # grows after the size was taken, before it is read
        handle.write(b"more")
    with pytest.raises(FileChangedError, match="file changed during upload"):
        client.upload(source, name="grows.bin")
    source.close()
    assert server.faults.wait_for(lambda plan: plan.outcomes("UploadFile") == ["CANCELLED"])
    assert list(client.iter_files()) == []  # NS


def test_upload_deadline_is_set_and_reported(faulty_client) -> None:
    _, client = faulty_client("UploadFile:delay:amount=1", timeout=0.3)
    with pytest.raises(UnavailableError) as caught:
        client.upload(io.BytesIO(b"abc"), name="slow.txt", size=3)
    assert caught.value.status == "DEADLINE_EXCEEDED"  # the upload has a deadline too
    assert "--timeout" in (caught.value.hint or "")


def test_server_refusal_is_not_retried(faulty_client) -> None:
    server, client = faulty_client()
    with pytest.raises(RejectedError) as caught:
        client.upload(io.BytesIO(b"abc"), name='bad"name', size=3)
    assert caught.value.status == "INVALID_ARGUMENT"
    assert server.faults.calls("UploadFile") == 1


# -- delete faults -----------------------------------------------------------------------------------
def test_delete_whose_reply_was_lost_reports_already_deleted(faulty_client) -> None:
    server, client = faulty_client("DeleteFile:commit_drop")
    keep = seed(server, "keep.txt")
    gone = seed(server, "gone.txt")
    result = client.delete(gone)
    assert (result.file_id, result.already_deleted) == (gone, True)  # not a failure: the file is gone
    assert server.faults.calls("DeleteFile") == 2
    assert [f.id for f in client.iter_files()] == [keep]


def test_delete_unknown_id_is_not_found_after_one_call(faulty_client) -> None:
    server, client = faulty_client()
    with pytest.raises(NotFoundError):
        client.delete("file_nope")
    assert server.faults.calls("DeleteFile") == 1


# -- download faults ---------------------------------------------------------------------------------
def test_download_broken_mid_stream_restarts_into_the_temp_file(faulty_client, tmp_path: Path) -> None:
    server, client = faulty_client("RetrieveFileContent:fail_stream:after=1")
    payload = os.urandom(2 * CHUNK_SIZE + 100)
    file_id = seed(server, "data.bin", payload)
    dest = _workdir(tmp_path) / "out.bin"
    progress = Recorder()
    with AtomicFileSink(dest) as sink:
        client.download(file_id, sink, progress)
    assert dest.read_bytes() == payload  # restarted from byte 0 after the cut
    assert ("reset", CHUNK_SIZE) in progress.events
    assert server.faults.outcomes("RetrieveFileContent") == ["UNAVAILABLE", "OK"]
    assert [p.name for p in dest.parent.iterdir()] == ["out.bin"]


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("RetrieveFileContent:truncate:amount=10", "incomplete download: got 10 of 100 bytes"),
        ("RetrieveFileContent:pad:amount=5", "size mismatch"),
    ],
)
def test_wrong_size_download_never_replaces_the_destination(
    faulty_client, tmp_path: Path, fault, message
) -> None:
    server, client = faulty_client(fault)
    file_id = seed(server, "data.bin", b"d" * 100)
    dest = _workdir(tmp_path) / "out.bin"
    dest.write_bytes(b"old content")
    with pytest.raises(InternalError, match=message), AtomicFileSink(dest) as sink:
        client.download(file_id, sink)
    assert dest.read_bytes() == b"old content"  # the old file, untouched
    assert [p.name for p in dest.parent.iterdir()] == ["out.bin"]  # no temp file left


def test_download_failing_every_time_keeps_the_old_file(faulty_client, tmp_path: Path) -> None:
    server, client = faulty_client("RetrieveFileContent:fail_stream:after=1,times=0")
    file_id = seed(server, "data.bin", b"d" * 100)
    dest = _workdir(tmp_path) / "out.bin"
    dest.write_bytes(b"old")
    with pytest.raises(UnavailableError), AtomicFileSink(dest) as sink:
        client.download(file_id, sink)
    assert dest.read_bytes() == b"old"
    assert [p.name for p in dest.parent.iterdir()] == ["out.bin"]


def test_text_download_skips_the_size_check(client: FilesClient) -> None:
    info = client.upload(io.BytesIO(b"plain words\n"), name="words.txt")
    buffer = io.BytesIO()
    client.download(info.id, StreamSink(buffer), text=True)
    assert buffer.getvalue().decode().strip() == "plain words"


class _SecondReadRacesTheRewind(io.BytesIO):
    """A seekable source whose second read is still running when the first attempt has failed.

    It waits (at most 1 s) for the restart's rewind, then reads on: the stale read of the failed
    attempt used to move the position under the new attempt ("file changed ... (it shrank)").
    """

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.reads = 0
        self.rewound = threading.Event()

    def read(self, size: int | None = -1) -> bytes:
        self.reads += 1
        if self.reads == 2:
            self.rewound.wait(1.0)
        return super().read(size)

    def seek(self, offset: int, whence: int = 0) -> int:
        if self.reads:
            self.rewound.set()
        return super().seek(offset, whence)


def test_restart_waits_for_the_failed_attempts_read_before_rewinding(faulty_client) -> None:
    server, client = faulty_client("UploadFile:abort_upload:after=1")
    payload = os.urandom(7 * 1024 * 1024)  # three 3 MiB chunks
    source = UploadSource.from_stream(_SecondReadRacesTheRewind(payload), label="racy", size=len(payload))
    info = client.upload(source, name="racy.bin")
    assert server.faults.outcomes("UploadFile") == ["UNAVAILABLE", "OK"]
    assert info.size == len(payload)
    assert _sha(_download(client, info.id)) == _sha(payload)
