"""RetrieveFileContent's chunks of a file's original bytes, as ready wire bytes: each a serialized
FileContentChunk read straight from the blob, which the response serializer passes through as it is.

No message is built and serialized (that would copy every chunk twice more). Where the interpreter
allows it (CPython), a chunk is read from the blob into the very bytes object that is sent, so the
server copies each byte once on its way from the file to gRPC, instead of reading it into a buffer
and copying it out (see `_unfilled_bytes`). What the page cache holds is read right on the event
loop (the usual case: a file just written or read); only a read that must wait for the disk goes to
the thread pool, so a download costs no thread hand-off per chunk.
"""

from __future__ import annotations

import asyncio
import errno
import io
import os
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Executor
from typing import BinaryIO

CHUNK_SIZE = 3 * 1024 * 1024
_DATA_TAG = 0x0A  # FileContentChunk.data: field 1, length-delimited

# A new bytes object of the given size, not yet seen by anyone, and a writable view of its bytes.
_Unfilled = Callable[[int], tuple[bytes, memoryview]]


def chunk_header(size: int) -> bytes:
    """What precedes `size` bytes of data in a serialized FileContentChunk: the tag, then the length
    as a varint (7 bits a byte, low bits first, the high bit set on every byte but the last)."""
    header = bytearray((_DATA_TAG,))
    while size > 0x7F:
        header.append(0x80 | (size & 0x7F))
        size >>= 7
    header.append(size)
    return bytes(header)


def _unfilled_bytes() -> _Unfilled | None:
    """CPython's own way for C code to build a bytes object, as a Python function: an object of
    `size` bytes whose contents are written in place before it is handed out (the bytes of a chunk
    are read into it); the view keeps the object alive. None where that is not available or does
    not behave as expected (another interpreter): chunks are then read into a buffer and copied out."""
    try:
        import ctypes

        prototype = ctypes.PYFUNCTYPE(ctypes.py_object, ctypes.c_void_p, ctypes.c_ssize_t)
        new_bytes = prototype(("PyBytes_FromStringAndSize", ctypes.pythonapi))
    except (ImportError, AttributeError, OSError):
        return None
    data_offset = bytes.__basicsize__ - 1  # where a bytes object's contents start, past its header

    def unfilled(size: int) -> tuple[bytes, memoryview]:
        if size < 2:  # the empty and one-byte objects may be shared ones: never written in place
            raise ValueError("only objects of two bytes or more are built in place")
        made: bytes = new_bytes(None, size)
        contents = (ctypes.c_char * size).from_address(id(made) + data_offset)
        contents.owner = made  # type: ignore[attr-defined]  # a view of the contents keeps `made` alive
        return made, memoryview(contents).cast("B")

    try:
        probe, view = unfilled(8)
        view[:] = b"xai-wire"
    except (TypeError, ValueError, OSError):
        return None
    return unfilled if probe == b"xai-wire" and hash(probe) == hash(b"xai-wire") else None


_UNFILLED = _unfilled_bytes()


def reads_in_place() -> bool:
    """Whether chunks are read into the bytes objects that are sent (else through a buffer)."""
    return _UNFILLED is not None


def _message_buffer(size: int) -> tuple[bytes | bytearray, memoryview]:
    """A message of `size` bytes to fill through the returned view: a bytes object built in place, or
    a bytearray (`bytes(message)` is then the one copy; of a bytes object, it is the object itself)."""
    if _UNFILLED is not None:
        return _UNFILLED(size)
    message = bytearray(size)
    return message, memoryview(message)


class WireChunks:
    """A blob's bytes as wire chunks, read on the event loop as far as the page cache holds them (a
    read that never waits for the disk) and on a pool thread otherwise; a blob in memory is read on
    the loop. `close` (from any thread, at any time) closes the blob at once, or as soon as a pool
    read in progress ends; no read starts after it."""

    def __init__(self, blob: BinaryIO) -> None:
        self._blob = blob
        self._fd = blob.fileno() if isinstance(blob, io.BufferedReader | io.FileIO) else None
        self._nowait = _NOWAIT is not None  # the file system may turn it down: then every read waits
        self._offset = blob.tell() if self._fd is not None else 0
        self._end = os.fstat(self._fd).st_size if self._fd is not None else 0
        self._lock = threading.Lock()
        self._reading = False
        self._closed = False

    async def chunks(self, executor: Executor) -> AsyncIterator[bytes]:
        """The chunks in order, each read once gRPC has taken the one before (which its transport may
        still be writing): one chunk in memory besides those. A blob that ends early ends them early."""
        if self._fd is None:  # a blob in memory (a small file): read here, through a copy
            while not self._closed and (chunk := _copied_chunk(self._blob)) is not None:
                yield chunk
            return
        loop = asyncio.get_running_loop()
        while not self._closed and (size := min(CHUNK_SIZE, self._end - self._offset)) > 0:
            header = chunk_header(size)
            message, view = _message_buffer(len(header) + size)
            view[: len(header)] = header
            data = view[len(header) :]
            got = self._read_cached(self._fd, data, self._offset)
            if got < size:
                rest = (message, data[got:], self._offset + got)  # the pool read keeps `message` alive
                got += await loop.run_in_executor(executor, self._read_waiting, *rest)
            if got == 0:
                return
            self._offset += got
            yield bytes(message) if got == size else chunk_header(got) + bytes(data[:got])

    def _read_cached(self, fd: int, data: memoryview, offset: int) -> int:
        """What the page cache holds of the range at `offset`, read without waiting for the disk; 0
        when its first bytes are not cached."""
        if _NOWAIT is None or not self._nowait:
            return 0
        try:
            return os.preadv(fd, [data], offset, _NOWAIT)
        except BlockingIOError:
            return 0
        except OSError as error:
            if error.errno not in (errno.EOPNOTSUPP, errno.EINVAL):
                raise
            self._nowait = False
            return 0

    def _read_waiting(self, message: bytes | bytearray, data: memoryview, offset: int) -> int:
        """Fill `data` (part of `message`) from `offset`, waiting for the disk (on a pool thread); how
        many bytes were read: fewer at the blob's end, 0 once closed."""
        with self._lock:
            if self._closed:
                return 0
            self._reading = True
        try:
            return _read_fully(self._blob.fileno(), data, offset)
        finally:
            with self._lock:
                self._reading = False
                closed = self._closed
            if closed:
                self._blob.close()

    def close(self) -> None:
        """Close the blob (now, or when the pool read in progress ends). Idempotent."""
        with self._lock:
            self._closed = True
            reading = self._reading
        if not reading:
            self._blob.close()


def _copied_chunk(blob: BinaryIO) -> bytes | None:
    """The next up to CHUNK_SIZE bytes of a blob without a file descriptor as a chunk; None at its end."""
    data = blob.read(CHUNK_SIZE)
    return chunk_header(len(data)) + data if data else None


def _read_fully(fd: int, data: memoryview, offset: int) -> int:
    """Fill `data` from `offset` of `fd`; how many bytes were read (fewer at the end of the file)."""
    got = 0
    while got < len(data) and (step := os.preadv(fd, [data[got:]], offset + got)):
        got += step
    return got


_NOWAIT: int | None = getattr(os, "RWF_NOWAIT", None)  # Linux: a read that only takes what is cached
