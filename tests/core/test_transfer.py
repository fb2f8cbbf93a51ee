"""core.transfer without a server: lazy bounded chunks, change detection, atomic sinks, the pool."""

from __future__ import annotations

import io
import os
import stat
import threading
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest

from xai_files_cli.core import transfer
from xai_files_cli.core.transfer import (
    CHUNK_SIZE,
    AtomicFileSink,
    FileChangedError,
    NullProgress,
    ShareProgress,
    StreamSink,
    UploadSource,
)
from xai_files_cli.errors import InternalError, Interrupted, RejectedError, UsageError


class CountingReader(io.RawIOBase):
    """A stream that produces `size` bytes on demand and records the largest read asked of it."""

    def __init__(self, size: int) -> None:
        self.remaining = size
        self.largest_read = 0

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        assert n > 0, "the whole stream must never be read at once"
        self.largest_read = max(self.largest_read, n)
        take = min(n, self.remaining)
        self.remaining -= take
        return b"z" * take


def test_chunks_are_lazy_and_bounded() -> None:
    reader = CountingReader(3 * CHUNK_SIZE + 5)
    source = UploadSource.from_stream(reader)  # type: ignore[arg-type]
    chunks = source.chunks()
    first = next(chunks)
    assert len(first) == CHUNK_SIZE
    assert reader.remaining == 2 * CHUNK_SIZE + 5  # only one chunk was read so far
    sizes = [len(first)] + [len(c) for c in chunks]
    assert sizes == [CHUNK_SIZE, CHUNK_SIZE, CHUNK_SIZE, 5]
    assert reader.largest_read == CHUNK_SIZE


def test_open_path_refuses_what_cannot_be_uploaded(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such file"):
        UploadSource.open_path(tmp_path / "missing")
    with pytest.raises(UsageError, match="is a directory"):
        UploadSource.open_path(tmp_path)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(UsageError, match="not a regular file"):
        UploadSource.open_path(fifo)  # must not hang waiting for a writer
    with pytest.raises(UsageError, match="not a regular file"):
        UploadSource.open_path(Path("/dev/null"))


def test_open_path_permission_denied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "secret"
    target.write_bytes(b"x")

    def deny(*args: object, **kwargs: object) -> int:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(transfer.os, "open", deny)
    with pytest.raises(UsageError, match="permission denied"):
        UploadSource.open_path(target)


def test_empty_file_has_no_chunks(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    with UploadSource.open_path(empty) as source:
        assert source.size == 0
        assert list(source.chunks()) == []


def test_a_small_file_is_read_without_a_whole_chunk_of_memory(tmp_path: Path) -> None:
    """Reading a 4 KiB file asks for its size (and one byte more, to see growth), not CHUNK_SIZE:
    a chunk-sized read allocated the whole 3 MiB first, the largest cost of a small file's upload."""
    small = tmp_path / "small.txt"
    small.write_bytes(b"s" * 4096)
    with UploadSource.open_path(small) as source:
        tracemalloc.start()
        try:
            chunks = list(source.chunks())
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert chunks == [b"s" * 4096]
    assert peak < 64 * 1024 < CHUNK_SIZE, peak


def _grow(path: Path) -> None:
    with path.open("ab") as handle:
        handle.write(b"b" * 100)


def _shrink(path: Path) -> None:
    os.truncate(path, 70)


def _rewrite_in_place(path: Path) -> None:
    st = path.stat()  # same size, a later modification time
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_grow, "file changed during upload"),
        (_shrink, "it shrank"),
        (_rewrite_in_place, "modified while reading"),
    ],
    ids=["growing", "shrinking", "same-size rewrite"],
)
def test_a_file_changed_while_it_is_read_is_detected(
    tmp_path: Path, change: Callable[[Path], None], message: str
) -> None:
    path = tmp_path / "changes"
    path.write_bytes(b"a" * 100)
    with UploadSource.open_path(path) as source:
        chunks = source.chunks(chunk_size=60)
        next(chunks)
        change(path)
        with pytest.raises(FileChangedError, match=message):
            list(chunks)


def test_stream_over_the_limit_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(transfer, "MAX_UPLOAD_BYTES", 10)
    source = UploadSource.from_stream(io.BytesIO(b"x" * 11), label="stdin")
    with pytest.raises(RejectedError, match="over the"):
        list(source.chunks(chunk_size=4))


def test_cancel_stops_reading() -> None:
    cancel = threading.Event()
    source = UploadSource.from_stream(io.BytesIO(b"x" * 100))
    chunks = source.chunks(chunk_size=10, cancel=cancel)
    next(chunks)
    cancel.set()
    with pytest.raises(Interrupted):
        next(chunks)


def test_rewind_restarts_from_the_first_byte(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"0123456789")
    with UploadSource.open_path(path) as source:
        assert source.seekable
        assert next(source.chunks(chunk_size=4)) == b"0123"
        source.rewind()
        assert b"".join(source.chunks(chunk_size=4)) == b"0123456789"


class Unseekable(io.BytesIO):
    def seekable(self) -> bool:
        return False


def test_pipes_cannot_rewind() -> None:
    source = UploadSource.from_stream(Unseekable(b"abc"))  # type: ignore[arg-type]
    assert not source.seekable
    with pytest.raises(InternalError):
        source.rewind()


# -- sinks ------------------------------------------------------------------------------------------
def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".partial"))


def test_atomic_sink_replaces_only_on_commit(tmp_path: Path) -> None:
    dest = tmp_path / "out.bin"
    dest.write_bytes(b"old content")
    with AtomicFileSink(dest) as sink:
        sink.write(b"new ")
        assert dest.read_bytes() == b"old content"  # untouched while downloading
        (temp,) = _leftovers(tmp_path)
        assert temp.startswith(".out.bin.") and temp.endswith(".partial")
        assert stat.S_IMODE((tmp_path / temp).stat().st_mode) == 0o600
        sink.write(b"content")
        sink.commit()
    assert dest.read_bytes() == b"new content"
    assert _leftovers(tmp_path) == []
    assert stat.S_IMODE(dest.stat().st_mode) == 0o666 & ~_umask()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_atomic_sink_failure_keeps_old_file_and_removes_temp(tmp_path: Path) -> None:
    dest = tmp_path / "out.bin"
    dest.write_bytes(b"old")
    with pytest.raises(RuntimeError), AtomicFileSink(dest) as sink:
        sink.write(b"partial")
        raise RuntimeError("stream broke")
    assert dest.read_bytes() == b"old"
    assert _leftovers(tmp_path) == []


def test_atomic_sink_interrupt_removes_temp(tmp_path: Path) -> None:
    dest = tmp_path / "new.bin"
    with pytest.raises(KeyboardInterrupt), AtomicFileSink(dest) as sink:
        sink.write(b"partial")
        raise KeyboardInterrupt
    assert not dest.exists()
    assert list(tmp_path.iterdir()) == []


def test_atomic_sink_replaces_a_symlink_instead_of_following_it(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    link = tmp_path / "link"
    link.symlink_to(victim)
    with AtomicFileSink(link) as sink:
        sink.write(b"downloaded")
        sink.commit()
    assert victim.read_bytes() == b"precious"
    assert not link.is_symlink()
    assert link.read_bytes() == b"downloaded"


def test_atomic_sink_rewind_truncates(tmp_path: Path) -> None:
    dest = tmp_path / "out"
    with AtomicFileSink(dest) as sink:
        sink.write(b"garbage")
        sink.rewind()
        sink.write(b"good")
        sink.commit()
    assert dest.read_bytes() == b"good"


def test_disk_full_is_reported_and_cleaned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dest = tmp_path / "out"

    def full(fd: int, data: object) -> int:
        raise OSError(28, "No space left on device")

    with pytest.raises(InternalError, match="No space left on device"), AtomicFileSink(dest) as sink:
        monkeypatch.setattr(transfer.os, "write", full)
        sink.write(b"data")
    assert list(tmp_path.iterdir()) == []  # no partial file, no temp file


def test_stale_temp_files_are_removed_but_never_a_running_downloads(tmp_path: Path) -> None:
    dest = tmp_path / "out.bin"
    stale = tmp_path / ".out.bin.0badf00d.partial"  # left by a download that was killed
    stale.write_bytes(b"half")
    others = [tmp_path / ".out.bin.mine.partial", tmp_path / ".other.bin.0badf00d.partial"]
    for path in others:
        path.write_bytes(b"not ours to delete")
    lookalike = tmp_path / ".out.bin.1badf00d.partial"
    lookalike.symlink_to(others[0])
    with AtomicFileSink(dest) as running:
        running.write(b"first")  # its temp file is held open while it downloads
        assert not stale.exists()
        assert running.temp is not None and running.temp.exists()
        with AtomicFileSink(dest) as second:
            second.write(b"second")
            assert running.temp.exists()  # held by a live download: not stale
            second.commit()
        running.write(b" wins")
        running.commit()
    assert dest.read_bytes() == b"first wins"
    assert all(path.read_bytes() == b"not ours to delete" for path in others)
    assert lookalike.is_symlink()
    assert _leftovers(tmp_path) == sorted([".other.bin.0badf00d.partial", lookalike.name, others[0].name])


def test_a_large_download_is_written_back_as_it_grows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = transfer._sync_file_range()
    if real is None:
        pytest.skip("sync_file_range is Linux's")
    calls: list[tuple[int, int, int]] = []

    def recorded(fd: int, offset: int, count: int, flags: int) -> int:
        calls.append((offset, count, flags))
        return real(fd, offset, count, flags)

    window = 64 * 1024
    monkeypatch.setattr(transfer, "WRITEBACK_BYTES", window)
    monkeypatch.setattr(transfer, "_sync_file_range", lambda: recorded)
    dest = tmp_path / "out.bin"
    block = os.urandom(window)
    start, settle = 2, 1 | 2 | 4  # write; wait before, write, wait after
    with AtomicFileSink(dest) as sink:
        sink.write(block[:100])  # under a window: nothing yet
        assert calls == []
        sink.write(block)
        assert calls == [(0, window + 100, start)]  # writing starts, nothing waits
        sink.write(block)
        assert calls[1:] == [(window + 100, window, start), (0, window + 100, settle)]  # one window behind
        sink.rewind()  # a restarted download starts over from byte 0
        calls.clear()
        sink.write(memoryview(block))
        assert calls == [(0, window, start)]
        sink.commit()
    assert dest.read_bytes() == block


def test_destination_checks(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="is a directory"):
        AtomicFileSink(tmp_path)
    with pytest.raises(UsageError, match="no such directory"):
        AtomicFileSink(tmp_path / "nope" / "out")


def test_stream_sink_passes_bytes_through() -> None:
    buffer = io.BytesIO()
    sink = StreamSink(buffer)
    sink.write(b"abc")
    sink.commit()
    assert buffer.getvalue() == b"abc"
    assert not sink.rewindable


# -- progress and pool -------------------------------------------------------------------------------
class Recorder:
    def __init__(self) -> None:
        self.done = 0
        self.lock = threading.Lock()

    def start(self, total: int | None, description: str) -> None:
        pass

    def advance(self, n: int) -> None:
        with self.lock:
            self.done += n

    def reset(self) -> None:
        self.done = 0

    def finish(self) -> None:
        pass


def test_share_progress_rolls_back_only_its_own_bytes() -> None:
    parent = Recorder()
    a, b = ShareProgress(parent), ShareProgress(parent)
    a.advance(10)
    b.advance(5)
    a.reset()
    assert parent.done == 5
    NullProgress().advance(1)  # the null display accepts everything
