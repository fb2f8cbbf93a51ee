"""core.download: chunk bytes handed over without a copy, received on a thread of their own at most a
chunk or two ahead of the writer, and a failing writer stopping the stream (real gRPC, the emulator)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.emulator import seed
from xai_files_cli._pb import files_pb2
from xai_files_cli.core import download
from xai_files_cli.core.download import ContentWriter, chunk_data, content_call
from xai_files_cli.core.files import FilesClient
from xai_files_cli.core.transfer import NullProgress
from xai_files_cli.emulator.files_service import CHUNK_SIZE
from xai_files_cli.errors import InternalError


@pytest.mark.parametrize("size", [1, 127, 128, 16_383, 16_384, 3 * 1024 * 1024])
def test_chunk_data_is_a_view_into_the_received_message(size: int) -> None:
    data = os.urandom(size)
    message = files_pb2.FileContentChunk(data=data).SerializeToString()
    view = chunk_data(message)
    assert view == data
    assert view.obj is message  # no copy: the bytes stay where gRPC put them


@pytest.mark.parametrize(
    "message",
    [
        b"",  # an empty chunk
        files_pb2.FileContentChunk(data=b"first").SerializeToString()
        + files_pb2.FileContentChunk(data=b"last").SerializeToString(),  # the field twice: the last wins
        files_pb2.FileContentChunk(data=b"data").SerializeToString() + b"\x10\x01",  # an unknown field 2
        b"\x0a\x05abc",  # a length past the end
    ],
)
def test_chunk_data_parses_anything_else_as_protobuf_does(message: bytes) -> None:
    try:
        expected = files_pb2.FileContentChunk.FromString(message).data
    except Exception:  # protobuf refuses it: so must we
        with pytest.raises(Exception):  # noqa: B017 - protobuf's DecodeError, whatever its module
            chunk_data(message)
        return
    assert chunk_data(message) == expected


class Recording:
    """A sink that records what it is given and on which thread."""

    rewindable = True

    def __init__(self) -> None:
        self.kinds: set[type] = set()
        self.threads: set[str] = set()
        self.data = bytearray()

    def write(self, data: bytes | memoryview) -> None:
        self.kinds.add(type(data))
        self.threads.add(threading.current_thread().name)
        self.data += data

    def rewind(self) -> None:
        self.data.clear()

    def commit(self) -> None:
        pass

    def abort(self) -> None:
        pass


def test_download_writes_views_of_the_received_chunks_in_the_calling_thread(
    client: FilesClient, server
) -> None:
    payload = os.urandom(2 * CHUNK_SIZE + 10)
    file_id = seed(server, "data.bin", payload)
    sink = Recording()
    client.download(file_id, sink)
    assert sink.data == payload
    assert sink.kinds == {memoryview}  # what gRPC received, never copied into new bytes
    assert sink.threads == {threading.current_thread().name}
    assert not _receivers()


def _receivers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "xai-download-receiver"]


class Counted:
    """A real RetrieveFileContent call that counts the chunks taken from it and signals when `limit`
    have been taken and when more than that have."""

    def __init__(self, call: Any, limit: int) -> None:
        self.call = call
        self.limit = limit
        self.taken = 0
        self.at_limit = threading.Event()
        self.past_limit = threading.Event()

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        chunk = next(self.call)
        self.taken += 1
        if self.taken >= self.limit:
            self.at_limit.set()
        if self.taken > self.limit:
            self.past_limit.set()
        return chunk

    def cancel(self) -> None:
        self.call.cancel()


class Held:
    """A sink whose first write waits for `release`: a disk that has stalled."""

    rewindable = True

    def __init__(self) -> None:
        self.release = threading.Event()
        self.writes = 0

    def write(self, data: bytes | memoryview) -> None:
        self.writes += 1
        assert self.release.wait(10)

    def rewind(self) -> None:
        pass

    def commit(self) -> None:
        pass

    def abort(self) -> None:
        pass


def test_the_receiver_stays_at_most_a_chunk_ahead_of_a_stalled_writer(client: FilesClient, server) -> None:
    file_id = seed(server, "big.bin", os.urandom(6 * CHUNK_SIZE))
    request = files_pb2.RetrieveFileContentRequest(file_id=file_id)
    # The chunk being written, RECEIVE_AHEAD waiting for it, and one held by the receiving thread.
    limit = 1 + download.RECEIVE_AHEAD + 1
    call = Counted(content_call(client._channel)(request, timeout=30), limit)
    sink = Held()
    writer = ContentWriter(
        sink, NullProgress(), expected=6 * CHUNK_SIZE, operation="download", file_id=file_id
    )
    worker = threading.Thread(target=writer.write_stream, args=(call,))
    worker.start()
    try:
        assert call.at_limit.wait(10)  # receiving went on while the first write was stuck...
        assert not call.past_limit.wait(0.3)  # ...but no further: memory stays flat
        assert sink.writes == 1
    finally:
        sink.release.set()
        worker.join(10)
    writer.check_complete()
    assert call.taken == 6


class Failing(Recording):
    """A sink whose second write fails, as a full disk would."""

    def write(self, data: bytes | memoryview) -> None:
        if self.data:
            raise InternalError("cannot write out.bin: No space left on device")
        super().write(data)


def test_a_failing_write_cancels_the_stream_and_ends_the_receiving_thread(faulty_client) -> None:
    server, client = faulty_client("RetrieveFileContent:stall:after=2,amount=60")  # then nothing more
    file_id = seed(server, "big.bin", os.urandom(4 * CHUNK_SIZE))
    with pytest.raises(InternalError, match="No space left"):
        client.download(file_id, Failing())
    assert server.faults.wait_for(lambda plan: plan.outcomes("RetrieveFileContent") == ["CANCELLED"])
    assert not _receivers()
