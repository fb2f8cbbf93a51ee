"""One download's content stream: received on one thread, written on another, without copying it.

- `content_call` is RetrieveFileContent with a reply parser that hands over each chunk's bytes as a
  view into the message gRPC received (protobuf would copy them twice: into the message, then out).
- `ContentWriter.write_stream` pulls the stream on a thread of its own, at most RECEIVE_AHEAD chunks
  ahead, while the calling thread checks the size and writes: the network and the disk work at the
  same time, memory stays flat, and the writing stays in the calling thread, where Ctrl-C interrupts
  a write to a pipe nobody reads.
- The sink writes a large file past the page cache with O_DIRECT, or starts the disk's writeback
  as the file grows (`transfer.AtomicFileSink`), so the fsync before the rename finds little left.
- A download's deadline is one budget for all its attempts and the waits between them
  (`transfer.TransferDeadline`): a restart gets only what is left, and `timed_out` says how far
  the download got.
"""

from __future__ import annotations

import contextlib
import os
import queue
import sys
import threading
from collections.abc import Iterator
from typing import Any

import grpc

from xai_files_cli._pb import files_pb2
from xai_files_cli.core.rpc import TIMEOUT_HINT
from xai_files_cli.core.transfer import DownloadSink, Progress, TransferDeadline
from xai_files_cli.errors import InternalError, UnavailableError

RECEIVE_AHEAD = 2  # chunks received but not yet written (up to 3 MiB each): slack for a slow write
_CONTENT_METHOD = "/xai_api.Files/RetrieveFileContent"
_DATA_FIELD_TAG = b"\x0a"  # FileContentChunk.data: field 1, length-delimited
_M_ARENA_MAX = -8  # glibc's mallopt parameter


def share_one_malloc_arena() -> None:
    """With glibc, have every thread allocate from one malloc arena; call before gRPC starts its threads.

    A download's chunks are allocated on gRPC's threads and the receiving one and freed on the writing
    one; with an arena per thread, each keeps freed chunks of its own: about 15 MB more peak RSS for a
    large download. These threads mostly wait on I/O, so sharing one arena costs nothing measurable.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        if not os.confstr("CS_GNU_LIBC_VERSION"):
            return
    except (ValueError, OSError):
        return  # not glibc (musl has no arenas to limit)
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).mallopt(_M_ARENA_MAX, 1)


def content_call(channel: grpc.Channel) -> Any:
    """RetrieveFileContent on `channel`, whose replies are the chunks' bytes (see `chunk_data`)."""
    return channel.unary_stream(
        _CONTENT_METHOD,
        request_serializer=files_pb2.RetrieveFileContentRequest.SerializeToString,
        response_deserializer=chunk_data,
    )


def chunk_data(message: bytes) -> memoryview:
    """The `data` of a serialized FileContentChunk, as a view into `message` (no copy).

    A chunk is the field's tag, a varint length and the bytes; anything else (an empty chunk, other
    fields, the field repeated) is parsed by protobuf.
    """
    view = memoryview(message)
    if message[:1] == _DATA_FIELD_TAG:
        length, shift, position = 0, 0, 1
        while position < len(message) and shift < 64:
            byte = message[position]
            length |= (byte & 0x7F) << shift
            position += 1
            if not byte & 0x80:
                if position + length == len(message):
                    return view[position:]
                break
            shift += 7
    return memoryview(files_pb2.FileContentChunk.FromString(message).data)


class _Failed:
    """The exception that ended the stream, handed from the receiving thread to the writing one."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


_END = object()


class _Receiver:
    """Iterates a server stream on a thread of its own, at most `ahead` messages ahead of the reader."""

    def __init__(self, call: Any, ahead: int) -> None:
        self._call = call
        self._queue: queue.Queue[object] = queue.Queue(ahead)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._pull, name="xai-download-receiver", daemon=True)
        self._thread.start()

    def _pull(self) -> None:
        try:
            for message in self._call:
                self._queue.put(message)
                if self._stop.is_set():
                    return
            self._queue.put(_END)
        except BaseException as error:  # the call's RpcError, raised again in the reading thread
            self._queue.put(_Failed(error))

    def __iter__(self) -> Iterator[Any]:
        while True:
            item = self._queue.get()
            if item is _END:
                return
            if isinstance(item, _Failed):
                raise item.error
            yield item

    def stop(self) -> None:
        """Cancel the call (a no-op once it ended) and wait for the thread, emptying the queue so that
        the thread is never left waiting to hand over a chunk."""
        self._stop.set()
        self._call.cancel()
        while self._thread.is_alive():
            self._drain()
            self._thread.join(0.01)
        self._drain()
        self._call.cancel()  # a call started meanwhile (a repeat after back-pressure) ends too

    def _drain(self) -> None:
        try:
            while True:
                self._queue.get_nowait()
        except queue.Empty:
            pass


class ContentWriter:
    """Writes one download attempt's stream into a sink, counting and checking its bytes."""

    def __init__(
        self, sink: DownloadSink, progress: Progress, *, expected: int | None, operation: str, file_id: str
    ) -> None:
        self.received = 0
        self._sink = sink
        self._progress = progress
        self._expected = expected
        self._operation = operation
        self._file_id = file_id

    def write_stream(self, call: Any) -> None:
        """Write every chunk of `call` (an iterator of bytes views, see `content_call`) as it arrives.

        Raises what ended the call (grpc.RpcError) once the chunks before it are written, or
        InternalError as soon as the server sends more than `expected` bytes. The call is cancelled
        on any failure and its thread is gone when this returns.
        """
        receiver = _Receiver(call, RECEIVE_AHEAD)
        try:
            for data in receiver:
                size = len(data)
                if self._expected is not None and self.received + size > self._expected:
                    raise InternalError(
                        f"{self._operation}: size mismatch: the server sent more than the "
                        f"{self._expected:,} bytes of the file",
                        file_id=self._file_id,
                    )
                self._sink.write(data)
                self.received += size
                self._progress.advance(size)
                del data  # let the chunk go before the next one is taken
        finally:
            receiver.stop()

    def check_complete(self) -> None:
        """InternalError unless exactly the expected bytes arrived (nothing to check without a size)."""
        if self._expected is not None and self.received != self._expected:
            raise InternalError(
                f"{self._operation}: incomplete download: got {self.received:,} of {self._expected:,} bytes",
                file_id=self._file_id,
            )


def received_note(received: int, expected: int | None) -> str:
    """`20,000,000 of 100,000,000 bytes received` (without `of ...` when the size is unknown)."""
    of = f" of {expected:,}" if expected is not None else ""
    return f"{received:,}{of} bytes received"


def timed_out(
    operation: str, deadline: TransferDeadline, received: int, expected: int | None, file_id: str
) -> UnavailableError:
    """The error of a download whose whole budget ran out; `received` is how far it got."""
    return UnavailableError(
        f"{operation}: timed out after {deadline.seconds:g} s ({received_note(received, expected)})",
        status="DEADLINE_EXCEEDED",
        hint=TIMEOUT_HINT,
        file_id=file_id,
    )
