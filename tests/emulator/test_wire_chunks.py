"""The wire chunks of RetrieveFileContent read straight from a blob: each chunk is read into the bytes
object that is sent (one copy on CPython), stays intact while later chunks are read, reads from the
page cache on the event loop and what is not cached on the pool, ends early with a blob that ends
early, and a close during a pool read closes the blob only when that read ends."""

from __future__ import annotations

import asyncio
import errno
import io
import os
import threading
from collections.abc import AsyncIterator
from concurrent import futures
from pathlib import Path
from typing import BinaryIO

import grpc
import pytest

from xai_files_cli._pb import files_pb2, files_pb2_grpc
from xai_files_cli.emulator import wire_chunks
from xai_files_cli.emulator.files_service import FilesServicer, add_files_servicer
from xai_files_cli.emulator.loop_server import LoopServer
from xai_files_cli.emulator.storage import Storage
from xai_files_cli.emulator.wire_chunks import CHUNK_SIZE, WireChunks


def _payload(size: int) -> bytes:
    return bytes(range(251)) * (size // 251) + bytes(range(size % 251))


def _serialized(payload: bytes) -> list[bytes]:
    pieces = [payload[start : start + CHUNK_SIZE] for start in range(0, len(payload), CHUNK_SIZE)]
    return [files_pb2.FileContentChunk(data=piece).SerializeToString() for piece in pieces]


async def _all(chunks: AsyncIterator[bytes]) -> list[bytes]:
    return [chunk async for chunk in chunks]


class _CountingPool(futures.ThreadPoolExecutor):
    """A thread pool that counts the jobs it is given."""

    def __init__(self, workers: int = 1) -> None:
        super().__init__(max_workers=workers)
        self.jobs = 0

    def submit(self, *args, **kwargs):  # type: ignore[no-untyped-def, override]
        self.jobs += 1
        return super().submit(*args, **kwargs)


def _read(blob: BinaryIO, pool: futures.Executor) -> list[bytes]:
    return asyncio.run(_all(WireChunks(blob).chunks(pool)))


def test_chunks_are_read_into_the_bytes_that_are_sent() -> None:
    assert wire_chunks.reads_in_place()  # CPython: no buffer to copy each chunk out of


def test_cached_chunks_are_read_on_the_loop_and_stay_intact(tmp_path: Path) -> None:
    payload = _payload(2 * CHUNK_SIZE + 300)
    path = tmp_path / "blob"
    path.write_bytes(payload)  # just written: in the page cache
    with _CountingPool() as pool, path.open("rb") as blob:
        taken = _read(blob, pool)
    assert taken == _serialized(payload)  # every chunk intact after the later ones were read
    assert len({id(chunk) for chunk in taken}) == len(taken)
    assert hash(taken[0]) == hash(bytes(bytearray(taken[0])))
    assert pool.jobs == 0


def test_what_is_not_cached_is_read_on_the_pool(tmp_path: Path) -> None:
    payload = _payload(CHUNK_SIZE + 4096)
    path = tmp_path / "blob"
    path.write_bytes(payload)
    with path.open("rb") as blob:
        os.fsync(blob.fileno())  # written back: the cache can be dropped
        os.posix_fadvise(blob.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
        with _CountingPool() as pool:
            taken = _read(blob, pool)
    assert taken == _serialized(payload)
    assert pool.jobs >= 1


def test_a_blob_in_memory_is_read_on_the_loop() -> None:
    payload = _payload(16_384)
    with _CountingPool() as pool:
        assert _read(io.BytesIO(payload), pool) == _serialized(payload)
        assert pool.jobs == 0


def test_a_blob_cut_short_after_opening_ends_the_chunks_early(tmp_path: Path) -> None:
    payload = _payload(CHUNK_SIZE + 5000)
    path = tmp_path / "blob"
    path.write_bytes(payload)
    with path.open("rb") as blob, _CountingPool() as pool:
        chunks = WireChunks(blob)
        os.truncate(path, CHUNK_SIZE + 1000)
        taken = asyncio.run(_all(chunks.chunks(pool)))
    assert (
        b"".join(files_pb2.FileContentChunk.FromString(c).data for c in taken) == payload[: CHUNK_SIZE + 1000]
    )


def test_a_close_during_a_pool_read_closes_the_blob_once_that_read_ends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "blob"
    path.write_bytes(_payload(5000))
    started, release = threading.Event(), threading.Event()
    read_fully = wire_chunks._read_fully

    def held_read(fd: int, data: memoryview, offset: int) -> int:  # the disk read, held mid-way
        started.set()
        assert release.wait(10)
        return read_fully(fd, data, offset)

    monkeypatch.setattr(wire_chunks, "_read_fully", held_read)
    monkeypatch.setattr(wire_chunks, "_NOWAIT", None)  # as on a file system without cached reads
    with path.open("rb") as blob, futures.ThreadPoolExecutor(max_workers=1) as pool:
        chunks = WireChunks(blob)

        async def first_chunk_then_call_ends() -> None:
            stream = chunks.chunks(pool)
            taking = asyncio.ensure_future(anext(stream))
            await asyncio.get_running_loop().run_in_executor(None, started.wait, 10)
            chunks.close()  # the call ended while its read waits for the disk
            assert not blob.closed  # that read still uses the blob
            taking.cancel()
            release.set()

        asyncio.run(first_chunk_then_call_ends())
    assert blob.closed
    with _CountingPool() as pool:
        assert asyncio.run(_all(chunks.chunks(pool))) == []  # no read starts after the close


def test_a_reader_closed_before_its_first_read_reads_nothing(tmp_path: Path) -> None:
    path = tmp_path / "blob"
    path.write_bytes(_payload(5000))
    with path.open("rb") as blob, _CountingPool() as pool:
        chunks = WireChunks(blob)
        chunks.close()
        assert blob.closed
        assert asyncio.run(_all(chunks.chunks(pool))) == []
        assert pool.jobs == 0


@pytest.mark.parametrize("size", [1, 127, 128, 16_384, CHUNK_SIZE - 1, CHUNK_SIZE])
def test_in_place_chunks_equal_the_serialized_message(tmp_path: Path, size: int) -> None:
    payload = _payload(size)
    path = tmp_path / "blob"
    path.write_bytes(payload)
    with path.open("rb") as blob, _CountingPool() as pool:
        assert _read(blob, pool) == _serialized(payload)


def _serve(storage: Storage, pool: futures.ThreadPoolExecutor) -> tuple[LoopServer, int]:
    server = LoopServer(pool)
    servicer = FilesServicer(storage, lambda: "http://127.0.0.1:1/public/", executor=pool)
    add_files_servicer(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, port


def _upload(stub: files_pb2_grpc.FilesStub, payload: bytes) -> str:
    init = files_pb2.UploadFileChunk(init=files_pb2.UploadFileInit(name="blob.bin"))
    pieces = [payload[start : start + CHUNK_SIZE] for start in range(0, len(payload), CHUNK_SIZE)]
    return stub.UploadFile(iter([init, *(files_pb2.UploadFileChunk(data=piece) for piece in pieces)])).id


def test_a_download_of_a_cached_file_hands_no_chunk_to_the_thread_pool(tmp_path: Path) -> None:
    """Over real gRPC: the server's pool runs the lookup and open, and no job per chunk after them."""
    payload = _payload(3 * CHUNK_SIZE + 1234)
    storage = Storage(tmp_path / "data")
    with _CountingPool(workers=4) as pool:
        server, port = _serve(storage, pool)
        try:
            with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
                stub = files_pb2_grpc.FilesStub(channel)
                file_id = _upload(stub, payload)  # written just now: in the page cache
                jobs_before = pool.jobs
                request = files_pb2.RetrieveFileContentRequest(file_id=file_id)
                received = [chunk.data for chunk in stub.RetrieveFileContent(request)]
        finally:
            server.stop(None)
            storage.close()
    assert b"".join(received) == payload
    assert len(received) == 4
    assert pool.jobs - jobs_before == 1  # the lookup and open only


def test_a_disk_read_error_mid_download_ends_the_call_internal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over real gRPC: the first chunk arrives, the disk fails reading the second: INTERNAL, named."""
    read_fully, reads = wire_chunks._read_fully, []

    def failing_second_read(fd: int, data: memoryview, offset: int) -> int:
        reads.append(offset)
        if len(reads) > 1:
            raise OSError(errno.EIO, "Input/output error")
        return read_fully(fd, data, offset)

    monkeypatch.setattr(wire_chunks, "_read_fully", failing_second_read)
    monkeypatch.setattr(wire_chunks, "_NOWAIT", None)  # every read waits for the disk: on the pool
    storage = Storage(tmp_path / "data")
    with futures.ThreadPoolExecutor(max_workers=4) as pool:
        server, port = _serve(storage, pool)
        try:
            with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
                stub = files_pb2_grpc.FilesStub(channel)
                request = files_pb2.RetrieveFileContentRequest(
                    file_id=_upload(stub, _payload(2 * CHUNK_SIZE))
                )
                stream = stub.RetrieveFileContent(request)
                assert len(next(stream).data) == CHUNK_SIZE
                with pytest.raises(grpc.RpcError) as failure:
                    next(stream)
        finally:
            server.stop(None)
            storage.close()
    assert failure.value.code() == grpc.StatusCode.INTERNAL
    assert failure.value.details() == "server storage error: Input/output error"
