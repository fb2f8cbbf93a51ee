"""SHA-256 of what an upload sends, taken in the same read pass and off the sending thread.

`HashingSource` is an `UploadSource` that hands every chunk it yields to a hasher as well; a restart
from byte 0 starts a fresh hash, so the digest is always that of the bytes of the last attempt.

- `ThreadedHasher` hashes in a thread of its own, fed the same chunk objects (no copy) through a
  small bounded queue: the thread that sends the chunks only queues them. hashlib releases the GIL
  for updates above 2 KiB, so the two threads really run side by side.
- `InlineHasher` hashes in the thread that reads. A batch reads files above 256 KiB in worker
  threads, never on its event loop, so their hashing happens there too; a small file's hash costs
  microseconds, less than handing it to a thread.
"""

from __future__ import annotations

import hashlib
import os
import queue
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Protocol

from xai_files_cli.core.transfer import CHUNK_SIZE, UploadSource
from xai_files_cli.errors import InternalError

# Sources up to this size are hashed inline by `HashingSource.open_path`; larger ones in a thread.
INLINE_HASH_BYTES = 256 * 1024
QUEUED_CHUNKS = 4  # at most this many chunks (3 MiB each) wait for the hashing thread
UNKNOWN_DIGEST = ""  # the digest of content sent without a hash
_READ_FLAGS = os.O_RDONLY | getattr(os, "O_BINARY", 0)  # bytes as they are, on Windows too


class Hasher(Protocol):
    """Receives the bytes of one read pass; `reset` starts over, `hexdigest` ends the pass."""

    def reset(self) -> None: ...

    def feed(self, data: bytes) -> None: ...

    def hexdigest(self) -> str: ...

    def close(self) -> None: ...


class InlineHasher:
    """SHA-256 computed in the caller's thread."""

    def __init__(self) -> None:
        self._sha = hashlib.sha256()

    def reset(self) -> None:
        self._sha = hashlib.sha256()

    def feed(self, data: bytes) -> None:
        self._sha.update(data)

    def hexdigest(self) -> str:
        return self._sha.hexdigest()

    def close(self) -> None:
        pass


class NoHasher:
    """Takes no hash: its digest is UNKNOWN_DIGEST (see `HashingSource.open_path`)."""

    def reset(self) -> None:
        pass

    def feed(self, data: bytes) -> None:
        pass

    def hexdigest(self) -> str:
        return UNKNOWN_DIGEST

    def close(self) -> None:
        pass


_RESET = object()
_DIGEST = object()
_STOP = object()


class ThreadedHasher:
    """SHA-256 computed in a thread of its own, fed through a bounded queue of chunk objects.

    `feed` only queues the chunk (it waits when QUEUED_CHUNKS are already waiting, so memory stays
    bounded); `hexdigest` waits for the queue to drain. The thread starts with the first chunk and
    ends at `close`.
    """

    def __init__(self) -> None:
        self._queue: queue.Queue[object] = queue.Queue(maxsize=QUEUED_CHUNKS)
        self._digests: queue.Queue[str] = queue.Queue()
        self._thread: threading.Thread | None = None

    def _run(self) -> None:
        sha = hashlib.sha256()
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            if item is _RESET:
                sha = hashlib.sha256()
            elif item is _DIGEST:
                self._digests.put(sha.hexdigest())
            else:
                sha.update(item)  # type: ignore[arg-type]

    def _put(self, item: object) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="xai-sha256", daemon=True)
            self._thread.start()
        self._queue.put(item)

    def reset(self) -> None:
        if self._thread is not None:
            self._queue.put(_RESET)

    def feed(self, data: bytes) -> None:
        self._put(data)

    def hexdigest(self) -> str:
        self._put(_DIGEST)
        return self._digests.get()

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join()
            self._thread = None


class HashingSource(UploadSource):
    """An UploadSource whose read pass also feeds `hasher`; `read_to_end` says whether the last
    pass yielded every byte (only then can the server have stored the file, and only then is
    `hexdigest` the content's hash)."""

    def __init__(self, stream: BinaryIO, **fields: object) -> None:
        super().__init__(stream, **fields)  # type: ignore[arg-type]
        self.hasher: Hasher = InlineHasher()
        self.read_to_end = False
        self.read_started_ns = 0  # wall clock when the last read pass began
        self._digest: str | None = None

    @classmethod
    def open_path(cls, path: Path, *, hash_in_thread: bool = True, digest: bool = True) -> HashingSource:
        """Open a regular file (UsageError otherwise); with `hash_in_thread`, a file above
        INLINE_HASH_BYTES is hashed by a ThreadedHasher, else in the thread that reads it.

        Without `digest` (nothing asked for the hash), a file above INLINE_HASH_BYTES is not hashed:
        its `hexdigest` is UNKNOWN_DIGEST, and the SHA-256 costs nothing (about a quarter of the CPU
        of a large upload). A smaller file is hashed anyway: it costs microseconds.
        """
        source = super().open_path(path)
        assert isinstance(source, HashingSource)
        if source.size is not None and source.size > INLINE_HASH_BYTES:
            if not digest:
                source.hasher = NoHasher()
            elif hash_in_thread:
                source.hasher = ThreadedHasher()
        return source

    def want_digest(self) -> None:
        """Hash the coming read pass after all (a source opened without `digest`), in a thread."""
        if isinstance(self.hasher, NoHasher):
            self.hasher = ThreadedHasher()

    @property
    def opened_stat(self) -> os.stat_result | None:
        """The file's stat when it was opened (None for a stream)."""
        return self._fd_stat

    def chunks(self, chunk_size: int = CHUNK_SIZE, cancel: threading.Event | None = None) -> Iterator[bytes]:
        self.read_to_end, self._digest = False, None
        self.read_started_ns = time.time_ns()
        self.hasher.reset()
        for data in super().chunks(chunk_size, cancel):
            self.hasher.feed(data)
            yield data
        self.read_to_end = True

    def hexdigest(self) -> str:
        """The SHA-256 of the bytes read in the last, complete pass (also after `close`), or
        UNKNOWN_DIGEST when this source takes no hash."""
        if not self.read_to_end:
            raise InternalError(f"{self.label}: no complete read to take a hash of")
        if self._digest is None:
            self._digest = self.hasher.hexdigest()
        return self._digest

    def close(self) -> None:
        if self.read_to_end and self._digest is None:
            self._digest = self.hasher.hexdigest()
        self.hasher.close()
        super().close()

    def __enter__(self) -> HashingSource:
        return self


def hash_file(path: Path, chunk_size: int = 1024 * 1024) -> tuple[str, os.stat_result]:
    """SHA-256 of a file's content and the stat it had when opened; OSError if it cannot be read.

    A file that changed while it was read (size or mtime) is read again, up to three times.
    """
    for _ in range(3):
        fd = os.open(path, _READ_FLAGS)  # no file object: most files are small
        try:
            before = os.fstat(fd)
            sha = hashlib.sha256()
            while data := os.read(fd, chunk_size):
                sha.update(data)
            after = os.fstat(fd)
        finally:
            os.close(fd)
        if (before.st_size, before.st_mtime_ns) == (after.st_size, after.st_mtime_ns):
            return sha.hexdigest(), before
    raise OSError(f"{path} keeps changing while it is read")


class HashSink:
    """A download sink that keeps only the SHA-256 of what it receives (to compare content)."""

    rewindable = True

    def __init__(self) -> None:
        self._sha = hashlib.sha256()
        self.digest: str | None = None

    def write(self, data: bytes) -> None:
        self._sha.update(data)

    def rewind(self) -> None:
        self._sha = hashlib.sha256()

    def commit(self) -> None:
        self.digest = self._sha.hexdigest()

    def abort(self) -> None:
        pass
