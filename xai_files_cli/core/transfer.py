"""Moving bytes: lazy upload sources, atomic download sinks, the Progress protocol, back-off.

Nothing here talks gRPC; `core.files`, `core.upload` and `core.batch` wire these pieces to the Files
RPCs. Memory stays O(chunk): uploads read one 3 MiB chunk at a time and downloads write each chunk as
it arrives.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import io
import os
import stat
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO, Protocol

from xai_files_cli.errors import InternalError, Interrupted, RejectedError, UsageError

try:
    import fcntl
except ImportError:  # Windows: no advisory locks, so no stale temp file is ever recognised
    fcntl = None  # type: ignore[assignment]

CHUNK_SIZE = 3 * 1024 * 1024  # what the SDK sends; the API recommends at most about 5 MB per message
MAX_UPLOAD_BYTES = 512 * 1000 * 1000  # the service limit, read as decimal megabytes
PARTIAL_SUFFIX = ".partial"


# -- progress -------------------------------------------------------------------------------------
class Progress(Protocol):
    """What a transfer reports; `output.progress` draws it, core never imports rich."""

    def start(self, total: int | None, description: str) -> None:
        """Begin a transfer of `total` bytes (None when unknown, e.g. stdin)."""

    def advance(self, n: int) -> None:
        """`n` more bytes were moved (negative to roll back)."""

    def reset(self) -> None:
        """The transfer restarts from byte 0."""

    def finish(self) -> None:
        """The transfer ended (successfully or not)."""


class NullProgress:
    """Progress that shows nothing (--quiet, piped stderr, tests)."""

    def start(self, total: int | None, description: str) -> None:
        pass

    def advance(self, n: int) -> None:
        pass

    def reset(self) -> None:
        pass

    def finish(self) -> None:
        pass


class ShareProgress:
    """One item's view of a shared batch progress: reset rolls back only this item's bytes."""

    def __init__(self, parent: Progress) -> None:
        self._parent = parent
        self._done = 0

    def start(self, total: int | None, description: str) -> None:
        pass

    def advance(self, n: int) -> None:
        self._done += n
        self._parent.advance(n)

    def reset(self) -> None:
        self._parent.advance(-self._done)
        self._done = 0

    def finish(self) -> None:
        pass


# -- upload sources --------------------------------------------------------------------------------
class TransferDeadline:
    """One time budget for a whole transfer: every attempt and every wait between attempts draws on
    it, so a restart gets only the time that is left, never a fresh deadline."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._ends = clock() + seconds

    def left(self) -> float:
        """Seconds still available (0 once the budget is spent)."""
        return max(0.0, self._ends - self._clock())


class FileChangedError(InternalError):
    """The local file changed size or mtime while it was being uploaded."""


def _open_error(path: Path, error: OSError) -> UsageError:
    reasons = {
        errno.ENOENT: "no such file",
        errno.EACCES: "permission denied",
        errno.EPERM: "permission denied",
        errno.EISDIR: "is a directory",
        errno.ENOTDIR: "no such file",
        errno.ELOOP: "too many symbolic links",
    }
    reason = reasons.get(error.errno or 0, error.strerror or str(error))
    return UsageError(f"cannot upload {path}: {reason}", path=str(path))


def check_regular_file(path: Path, mode: int) -> None:
    """Raise UsageError unless `mode` is a regular file's (directories, FIFOs, devices are refused)."""
    if stat.S_ISDIR(mode):
        raise UsageError(f"cannot upload {path}: is a directory", path=str(path))
    if not stat.S_ISREG(mode):
        raise UsageError(f"cannot upload {path}: not a regular file (FIFO, socket or device)", path=str(path))


class UploadSource:
    """Bytes to upload, read lazily: an opened regular file or a stream such as stdin.

    A file source knows its size and can be re-read from byte 0 (so a broken upload can restart);
    a stream source may have an unknown size and usually cannot.
    """

    def __init__(
        self,
        stream: BinaryIO,
        *,
        label: str,
        size: int | None,
        owned: bool = False,
        fd_stat: os.stat_result | None = None,
        origin: int | None = None,
    ) -> None:
        self._stream = stream
        self.label = label
        self.size = size
        self._owned = owned
        self._fd_stat = fd_stat
        self._origin: int | None = origin  # where `rewind` goes back to; found out below unless given
        if origin is None:
            try:
                self._origin = stream.tell() if stream.seekable() else None
            except (OSError, ValueError):
                self._origin = None

    @classmethod
    def open_path(cls, path: Path) -> UploadSource:
        """Open a regular file for reading; UsageError (exit 2) for anything that cannot be uploaded."""
        try:
            # O_NONBLOCK: opening a FIFO must not hang waiting for a writer; it is refused below.
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        except OSError as error:
            raise _open_error(path, error) from None
        try:
            info = os.fstat(fd)
            check_regular_file(path, info.st_mode)
            os.set_blocking(fd, True)
            stream = io.FileIO(fd, "rb")
        except BaseException:
            os.close(fd)
            raise
        # Just opened, a regular file is seekable and read from byte 0.
        return cls(stream, label=str(path), size=info.st_size, owned=True, fd_stat=info, origin=0)

    @classmethod
    def from_stream(cls, stream: BinaryIO, *, label: str = "-", size: int | None = None) -> UploadSource:
        """Wrap an already open binary stream (stdin); `size` if the caller knows it."""
        return cls(stream, label=label, size=size)

    @property
    def seekable(self) -> bool:
        """Whether `rewind` can restart the bytes from the beginning."""
        return self._origin is not None

    def rewind(self) -> None:
        """Go back to the first byte (only for seekable sources)."""
        if self._origin is None:
            raise InternalError(f"cannot re-read {self.label}")
        self._stream.seek(self._origin)

    def chunks(self, chunk_size: int = CHUNK_SIZE, cancel: threading.Event | None = None) -> Iterator[bytes]:
        """Yield the bytes in chunks of at most `chunk_size`, checking size and the upload limit.

        Raises:
            FileChangedError: the file grew, shrank or was modified while being read.
            RejectedError: more than 512 MB (only possible for streams of unknown size).
            Interrupted: `cancel` was set.
        """
        total = 0
        while True:
            if cancel is not None and cancel.is_set():
                raise Interrupted("interrupted; nothing uploaded")
            # A known size is read to its end and one byte past, never a whole chunk: reading 3 MiB
            # into a small file allocated (and cleared) the chunk first, the largest cost per small file.
            want = chunk_size if self.size is None else min(chunk_size, self.size - total + 1)
            try:
                data = self._stream.read(want)
            except OSError as error:
                raise InternalError(f"cannot read {self.label}: {error.strerror or error}") from None
            if not data:
                break
            total += len(data)
            if self.size is not None and total > self.size:
                raise FileChangedError(f"{self.label}: file changed during upload (it grew)", path=self.label)
            if total > MAX_UPLOAD_BYTES:
                raise too_large(self.label, total, at_least=True)
            yield data
            if total == self.size and self._fd_stat is not None:
                break  # no read for the end: a file that grows meanwhile changes the stat checked below
        if self.size is not None and total != self.size:
            raise FileChangedError(f"{self.label}: file changed during upload (it shrank)", path=self.label)
        self._check_unchanged()

    def _check_unchanged(self) -> None:
        if self._fd_stat is None:
            return
        now = os.fstat(self._stream.fileno())
        if now.st_size != self._fd_stat.st_size or now.st_mtime_ns != self._fd_stat.st_mtime_ns:
            raise FileChangedError(
                f"{self.label}: file changed during upload (modified while reading)", path=self.label
            )

    def close(self) -> None:
        if self._owned:
            with contextlib.suppress(OSError):
                self._stream.close()

    def __enter__(self) -> UploadSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def too_large(label: str, size: int, *, at_least: bool = False) -> RejectedError:
    """The error for a file over the 512 MB service limit (exit 5), raised before sending."""
    amount = f"more than {MAX_UPLOAD_BYTES:,}" if at_least else f"{size:,}"
    return RejectedError(
        f"cannot upload {label}: {amount} bytes is over the {MAX_UPLOAD_BYTES // 10**6} MB limit",
        status="RESOURCE_EXHAUSTED",
        path=label,
    )


# -- download sinks --------------------------------------------------------------------------------
class DownloadSink(Protocol):
    """Where downloaded bytes go; `rewindable` sinks let a broken download restart from byte 0."""

    rewindable: bool

    def write(self, data: bytes) -> None: ...

    def rewind(self) -> None: ...

    def commit(self) -> None: ...

    def abort(self) -> None: ...


class StreamSink:
    """Write straight to an open stream (stdout, a FIFO, a device); bytes written cannot be taken back.

    A failed write is an InternalError naming `label` (exit 1), except BrokenPipeError, which
    propagates: the root command turns it into a quiet exit 0. `owned` streams are closed on exit.
    """

    rewindable = False

    def __init__(self, stream: BinaryIO, *, label: str = "stdout", owned: bool = False) -> None:
        self._stream = stream
        self._label = label
        self._owned = owned

    def write(self, data: bytes) -> None:
        try:
            self._stream.write(data)
        except BrokenPipeError:
            raise
        except OSError as error:
            raise self._error(error) from None

    def isatty(self) -> bool:
        """Whether the stream is a terminal (`-o /dev/tty`)."""
        try:
            return self._stream.isatty()
        except (OSError, ValueError):
            return False

    def rewind(self) -> None:
        raise InternalError("cannot restart a download already written to a stream")

    def commit(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            raise
        except OSError as error:
            raise self._error(error) from None

    def _error(self, error: OSError) -> InternalError:
        return InternalError(f"cannot write to {self._label}: {error.strerror or error}", path=self._label)

    def abort(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self._stream.flush()

    def __enter__(self) -> StreamSink:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._owned:
            with contextlib.suppress(OSError):
                self._stream.close()


def download_sink(dest: Path) -> AtomicFileSink | StreamSink:
    """The sink for a download to `dest` (`cat -o DEST`), checked before any RPC.

    A regular file (or a new one) is replaced atomically by `AtomicFileSink`. A character device or
    a FIFO of ours (`/dev/null`, `/dev/stdout`, `>(cmd)`) is written in place, as curl does: renaming
    over it would destroy the node (as root, `/dev/null` itself).
    """
    try:
        target = os.stat(dest)  # follows symlinks: /dev/stdout -> /proc/self/fd/1 -> a tty or a pipe
    except OSError:
        target = None
    if target is None or not _written_in_place(target):
        return AtomicFileSink(dest)
    try:
        fd = os.open(dest, os.O_WRONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError as error:
        raise UsageError(f"cannot write {dest}: {error.strerror or error}", path=str(dest)) from None
    return StreamSink(os.fdopen(fd, "wb"), label=str(dest), owned=True)


def _written_in_place(target: os.stat_result) -> bool:
    if stat.S_ISCHR(target.st_mode):
        return True
    # Someone else's FIFO at the path could be a trap set to read what we download.
    geteuid = getattr(os, "geteuid", None)
    return stat.S_ISFIFO(target.st_mode) and (geteuid is None or target.st_uid == geteuid())


def check_destination(dest: Path) -> None:
    """UsageError (exit 2, before any RPC) when `dest` cannot receive a download."""
    if dest.is_dir():
        raise UsageError(f"cannot write {dest}: is a directory", path=str(dest))
    try:
        node = os.lstat(dest)
    except OSError:
        node = None
    if node is not None and not (stat.S_ISREG(node.st_mode) or stat.S_ISLNK(node.st_mode)):
        raise UsageError(f"cannot write {dest}: not a regular file (device, socket or FIFO)", path=str(dest))
    parent = dest.parent
    if not parent.is_dir():
        raise UsageError(f"cannot write {dest}: no such directory {parent}", path=str(dest))
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"cannot write {dest}: permission denied on {parent}", path=str(dest))


def _current_umask() -> int:
    """The process's umask, read without changing it where Linux tells it (no window in which
    another thread would create files under a different mask)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _final_mode(dest: Path) -> int:
    """The mode a download gets: that of the regular file it replaces (a private file stays
    private), else the umask default of a new file."""
    try:
        replaced = os.lstat(dest)
    except OSError:
        replaced = None
    if replaced is not None and stat.S_ISREG(replaced.st_mode):
        return stat.S_IMODE(replaced.st_mode) & 0o777
    return 0o666 & ~_current_umask()


def _partial_prefix(dest: Path) -> str:
    """How the names of `dest`'s temp files begin: `.<name>.`, then 8 hex digits and `.partial`."""
    return f".{dest.name[:200]}."


def _hold(fd: int) -> None:
    """Lock a temp file for as long as this process has it open, so it is never taken for stale."""
    if fcntl is not None:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


def remove_stale_partials(dest: Path) -> list[Path]:
    """Delete the temp files that downloads to `dest` left behind when they were killed (SIGKILL, a
    crash, a power cut); returns them. A temp file is stale when no process holds its lock (the lock
    of a process goes with it); a symlink or someone else's file is never touched."""
    if fcntl is None:
        return []
    prefix = _partial_prefix(dest)
    removed = []
    try:
        entries = list(os.scandir(dest.parent))
    except OSError:
        return []
    for entry in entries:
        if _is_partial_name(entry.name, prefix) and _remove_if_unheld(entry.path):
            removed.append(Path(entry.path))
    return removed


def _is_partial_name(name: str, prefix: str) -> bool:
    """Whether `name` is `prefix`, 8 lowercase hex digits, `.partial`: one of our temp files."""
    if not (name.startswith(prefix) and name.endswith(PARTIAL_SUFFIX)):
        return False
    middle = name[len(prefix) : -len(PARTIAL_SUFFIX)]
    return len(middle) == 8 and all(c in "0123456789abcdef" for c in middle)


def _remove_if_unheld(path: str) -> bool:
    """Unlink `path` if it is our own regular file and no process holds its lock."""
    assert fcntl is not None
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return False
    try:
        info = os.fstat(fd)
        geteuid = getattr(os, "geteuid", None)
        if not stat.S_ISREG(info.st_mode) or (geteuid is not None and info.st_uid != geteuid()):
            return False
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # OSError while a download holds it
        os.unlink(path)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


class _Writeback:
    """Has the kernel write a growing file to disk while more arrives, every WRITEBACK_BYTES, so that
    the fsync at the end finds little left and dirty pages stay bounded.

    On Linux, sync_file_range starts writing the newest window without waiting, and waits only for
    the window before it (written meanwhile); elsewhere fdatasync does both at once. Only a speed-up:
    a failure turns it off, and the final fsync still reports any write error.
    """

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._started = 0  # writeback was started for bytes [0, _started)
        self._settled = 0  # and waited for up to here
        self._range = _sync_file_range()
        self._enabled = True

    def wrote(self, end: int) -> None:
        """The file now has `end` bytes."""
        if not self._enabled or end - self._started < WRITEBACK_BYTES:
            return
        try:
            if self._range is None:
                _fdatasync(self._fd)
            else:
                self._call(self._started, end - self._started, _SYNC_FILE_RANGE_WRITE)
                if self._started > self._settled:
                    self._call(self._settled, self._started - self._settled, _SYNC_FILE_RANGE_SETTLE)
        except OSError:
            self._enabled = False
            return
        self._settled, self._started = self._started, end

    def _call(self, offset: int, count: int, flags: int) -> None:
        assert self._range is not None
        if self._range(self._fd, offset, count, flags) != 0:
            raise OSError(ctypes_errno(), "sync_file_range failed")

    def start_rest(self, end: int) -> None:
        """Start writing back what was written and not yet started, up to `end`, without waiting
        (the file goes on with direct writes, which bypass the page cache)."""
        if self._enabled and self._range is not None and end > self._started:
            with contextlib.suppress(OSError):
                self._call(self._started, end - self._started, _SYNC_FILE_RANGE_WRITE)
            self._started = end

    def reset(self) -> None:
        """The file was truncated to 0 bytes (a restarted download)."""
        self._started = self._settled = 0


WRITEBACK_BYTES = 64 * 1024 * 1024
_SYNC_FILE_RANGE_WAIT_BEFORE, _SYNC_FILE_RANGE_WRITE, _SYNC_FILE_RANGE_WAIT_AFTER = 1, 2, 4
_SYNC_FILE_RANGE_SETTLE = _SYNC_FILE_RANGE_WAIT_BEFORE | _SYNC_FILE_RANGE_WRITE | _SYNC_FILE_RANGE_WAIT_AFTER
_fdatasync: Callable[[int], None] = getattr(os, "fdatasync", os.fsync)


@functools.cache
def _sync_file_range() -> Callable[[int, int, int, int], int] | None:
    """Linux's sync_file_range from the C library (it releases the GIL), or None elsewhere."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        function = ctypes.CDLL(None, use_errno=True).sync_file_range
    except (OSError, AttributeError):
        return None
    function.argtypes = (ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint)
    function.restype = ctypes.c_int
    return function


# The file systems written with O_DIRECT: local disks' (ext2/3/4, XFS, Btrfs). Elsewhere buffered
# writes stay: tmpfs keeps files in the page cache anyway, and on NFS or FUSE every direct write
# would be a synchronous round trip; an unknown file system is never taken for a local disk.
_DIRECT_FILE_SYSTEMS = frozenset({"ext2", "ext3", "ext4", "xfs", "btrfs"})


def _on_local_disk(fd: int) -> bool:
    """Whether `fd`'s file system is one of _DIRECT_FILE_SYSTEMS."""
    from xai_files_cli.core.file_systems import type_of

    try:
        return type_of(os.fstat(fd).st_dev) in _DIRECT_FILE_SYSTEMS
    except OSError:
        return False


def ctypes_errno() -> int:
    import ctypes

    return ctypes.get_errno()


DIRECT_FROM = 8 * 1024 * 1024  # a file that reaches this size is written on with O_DIRECT (Linux)
DIRECT_BUFFER_BYTES = 4 * 1024 * 1024
_DIRECT_ALIGN = 4096  # the offsets and lengths of direct writes: a multiple of any disk's block size
_O_DIRECT: int = getattr(os, "O_DIRECT", 0)


def _set_direct(fd: int, on: bool) -> None:
    """Turn O_DIRECT on or off for `fd` (raises OSError when the file system refuses it)."""
    assert fcntl is not None
    flags = fcntl.fcntl(fd, fcntl.F_GETFL)
    fcntl.fcntl(fd, fcntl.F_SETFL, flags | _O_DIRECT if on else flags & ~_O_DIRECT)


def _write_all(fd: int, view: memoryview) -> None:
    while view:
        view = view[os.write(fd, view) :]


class _DirectWrites:
    """Writes a large file's bytes with O_DIRECT: gathered into one page-aligned buffer, which goes to
    the disk whole, bypassing the page cache.

    Copying into the buffer costs a fraction of the CPU time of a buffered write (the page cache's
    copy, page allocation and later writeback), and the file's pages do not crowd the cache; each
    write returns once the disk has the bytes. A file system without O_DIRECT refuses it at `enable`
    (EINVAL); a direct write refused with EINVAL is done again as a buffered one, and the file goes on
    buffered. `finish` writes the rest of the buffer with O_DIRECT cleared (any length will do).
    """

    def __init__(self, fd: int) -> None:
        import mmap

        self._fd = fd
        self._buffer = mmap.mmap(-1, DIRECT_BUFFER_BYTES)  # anonymous: page-aligned
        self._view = memoryview(self._buffer)
        self._filled = 0
        self._direct = True

    @classmethod
    def enable(cls, fd: int) -> _DirectWrites | None:
        """Turn O_DIRECT on for `fd`, whose offset is a multiple of _DIRECT_ALIGN; None where it cannot be."""
        if not _O_DIRECT or fcntl is None or not _on_local_disk(fd):
            return None
        try:
            _set_direct(fd, True)
        except OSError:
            return None
        return cls(fd)

    def write(self, data: memoryview) -> None:
        """Add `data` to the buffer, writing the buffer out each time it fills."""
        while data:
            taken = min(len(data), DIRECT_BUFFER_BYTES - self._filled)
            self._view[self._filled : self._filled + taken] = data[:taken]
            self._filled += taken
            data = data[taken:]
            if self._filled == DIRECT_BUFFER_BYTES:
                self._write(self._view)
                self._filled = 0

    def _write(self, pending: memoryview) -> None:
        while pending:
            try:
                pending = pending[os.write(self._fd, pending) :]
            except OSError as error:
                if error.errno != errno.EINVAL or not self._direct:
                    raise
                self._buffered()  # e.g. a device whose blocks are larger than _DIRECT_ALIGN

    def _buffered(self) -> None:
        _set_direct(self._fd, False)
        self._direct = False

    def finish(self) -> None:
        """Write what the buffer holds: its whole blocks directly, then the rest with O_DIRECT cleared
        (the file's end need not be aligned)."""
        whole = self._filled - self._filled % _DIRECT_ALIGN
        self._write(self._view[:whole])
        if self._direct:
            self._buffered()
        self._write(self._view[whole : self._filled])
        self._filled = 0

    def discard(self) -> None:
        """Drop the buffer and what it holds, and clear O_DIRECT (the file restarts, or is removed)."""
        if self._direct:
            with contextlib.suppress(OSError):
                self._buffered()
        self._view.release()
        with contextlib.suppress(BufferError):  # a failed write's traceback may hold a view of it
            self._buffer.close()


class AtomicFileSink:
    """Download into `.<name>.<rand>.partial` next to `dest`, then rename over it when complete.

    The destination is untouched until `commit` (an old file stays byte-identical on failure), the
    temp file is created O_CREAT|O_EXCL with mode 0600 and removed on any failure or interrupt, and
    a symlink at the destination is replaced, never followed. The write that takes the file to
    DIRECT_FROM bytes and all later ones go to the disk with O_DIRECT where the file system allows
    it (`_DirectWrites`); what is written buffered is written back to disk as the file grows
    (`_Writeback`). A process killed before `commit` (SIGKILL, a power cut) leaves its temp file
    behind: `remove_stale_partials` deletes those of other processes next time.
    """

    rewindable = True

    def __init__(self, dest: Path) -> None:
        check_destination(dest)
        self.dest = dest
        self.temp: Path | None = None
        self._fd: int | None = None
        self._size = 0
        self._writeback: _Writeback | None = None
        self._direct: _DirectWrites | None = None
        self._direct_tried = False  # at DIRECT_FROM bytes; once per attempt

    def _open(self) -> int:
        if self._fd is None:
            remove_stale_partials(self.dest)
            for _ in range(10):
                temp = self.dest.with_name(_partial_prefix(self.dest) + os.urandom(4).hex() + PARTIAL_SUFFIX)
                flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
                flags |= getattr(os, "O_NOFOLLOW", 0)
                try:
                    self._fd = os.open(temp, flags, 0o600)
                except FileExistsError:
                    continue
                except OSError as error:
                    raise self._io_error(error) from None
                _hold(self._fd)
                self.temp = temp
                break
            else:
                raise InternalError(f"cannot create a temporary file next to {self.dest}")
        return self._fd

    def _io_error(self, error: OSError) -> InternalError:
        return InternalError(f"cannot write {self.dest}: {error.strerror or error}", path=str(self.dest))

    def write(self, data: bytes | memoryview) -> None:
        """Write `data`: as it is (a view is not copied), or once the file reaches DIRECT_FROM bytes,
        through the direct writes' buffer."""
        fd = self._open()
        view = memoryview(data)
        try:
            if not self._direct_tried and self._size + len(view) >= DIRECT_FROM:
                view = self._go_direct(fd, view)
            if self._direct is not None:
                self._direct.write(view)
            else:
                _write_all(fd, view)
        except OSError as error:
            raise self._io_error(error) from None
        self._size += len(data)
        if self._direct is None:
            self._writeback_for(fd).wrote(self._size)

    def _writeback_for(self, fd: int) -> _Writeback:
        if self._writeback is None:
            self._writeback = _Writeback(fd)
        return self._writeback

    def _go_direct(self, fd: int, view: memoryview) -> memoryview:
        """Write the head of `view` that takes the file to an aligned size, start writing back what
        the page cache holds, and turn O_DIRECT on; the rest of `view`, to be written directly."""
        head = (-self._size) % _DIRECT_ALIGN
        if head >= len(view):
            return view  # not up to an aligned size yet: this one is written buffered
        self._direct_tried = True
        _write_all(fd, view[:head])
        self._writeback_for(fd).start_rest(self._size + head)
        self._direct = _DirectWrites.enable(fd)
        return view[head:]

    def rewind(self) -> None:
        fd = self._open()
        try:
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
        except OSError as error:
            raise self._io_error(error) from None
        self._size = 0
        self._stop_direct()
        if self._writeback is not None:
            self._writeback.reset()

    def _stop_direct(self) -> None:
        """Drop the direct writes' buffer (a restart, or a failure) and go back to buffered writes."""
        if self._direct is not None:
            self._direct.discard()
            self._direct = None
        self._direct_tried = False

    def commit(self) -> None:
        """fsync, give the file the usual umask mode, and rename it over the destination."""
        fd = self._open()
        try:
            if self._direct is not None:
                self._direct.finish()
            os.fsync(fd)
            os.fchmod(fd, _final_mode(self.dest))
            os.close(fd)
            self._fd = None
            os.replace(self.temp, self.dest)  # type: ignore[arg-type]
        except OSError as error:
            self.abort()
            raise self._io_error(error) from None
        self.temp = None

    def abort(self) -> None:
        """Close and remove the temp file; the destination keeps its old content."""
        self._stop_direct()
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None
        if self.temp is not None:
            with contextlib.suppress(OSError):
                os.unlink(self.temp)
            self.temp = None

    def __enter__(self) -> AtomicFileSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.abort()  # a no-op after commit
