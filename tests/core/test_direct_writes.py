"""A large download is written with O_DIRECT past its first DIRECT_FROM bytes (on a local disk's file
system): every byte arrives, whatever the write sizes, restarts and refusals, and the file's pages past
that point never pass through the page cache."""

from __future__ import annotations

import ctypes
import mmap
import os
import random
from pathlib import Path

import pytest

from tests.support.emulator import seed
from xai_files_cli.core import transfer
from xai_files_cli.core.transfer import CHUNK_SIZE, DIRECT_FROM, AtomicFileSink

_PAGE = mmap.PAGESIZE


def _direct_writes_possible(directory: Path) -> bool:
    """Whether the sink would write into `directory` with O_DIRECT (Linux, a local disk's file system)."""
    probe = directory / "probe"
    fd = os.open(probe, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        return bool(getattr(os, "O_DIRECT", 0)) and transfer._on_local_disk(fd)
    finally:
        os.close(fd)
        probe.unlink()


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """A directory of its own on a file system written with O_DIRECT (the test is skipped elsewhere)."""
    directory = tmp_path / "work"
    directory.mkdir()
    if not _direct_writes_possible(directory):
        pytest.skip("O_DIRECT writes are for Linux's local disk file systems")
    return directory


def _is_direct(sink: AtomicFileSink) -> bool:
    """Whether the sink's temp file is open with O_DIRECT now (the kernel's flags, /proc/self/fdinfo)."""
    assert sink._fd is not None
    info = Path(f"/proc/self/fdinfo/{sink._fd}").read_text()
    flags = int(next(line for line in info.splitlines() if line.startswith("flags:")).split()[1], 8)
    return bool(flags & os.O_DIRECT)


def _cached_pages(path: Path) -> list[bool]:
    """Which of the file's pages the page cache holds (mincore on a mapping that is never touched)."""
    size = path.stat().st_size
    pages = (size + _PAGE - 1) // _PAGE
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mincore.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p)
    vector = (ctypes.c_ubyte * pages)()
    with path.open("rb") as handle, mmap.mmap(handle.fileno(), size, access=mmap.ACCESS_COPY) as mapped:
        anchor = ctypes.c_char.from_buffer(mapped)
        result = libc.mincore(ctypes.addressof(anchor), size, vector)
        del anchor  # the mapping closes only without exported pointers
    assert result == 0, os.strerror(ctypes.get_errno())
    return [bool(byte & 1) for byte in vector]


def _write_in_pieces(sink: AtomicFileSink, payload: bytes, seed_value: int) -> None:
    """Write `payload` in pieces of uneven sizes, from one byte to more than the direct buffer."""
    sizes = [1, 7, 4095, 4097, 65_536, CHUNK_SIZE, transfer.DIRECT_BUFFER_BYTES + 3]
    pick = random.Random(seed_value)
    view = memoryview(payload)
    while view:
        size = pick.choice(sizes)
        sink.write(view[:size])
        view = view[size:]


def test_a_large_download_skips_the_page_cache_past_direct_from(client, server, work: Path) -> None:
    payload = os.urandom(DIRECT_FROM + 2 * CHUNK_SIZE + 5)
    file_id = seed(server, "large.bin", payload)
    dest = work / "large.bin"
    with AtomicFileSink(dest) as sink:
        client.download(file_id, sink)
    assert not any(_cached_pages(dest)[DIRECT_FROM // _PAGE : -1])  # all but the last page
    assert dest.read_bytes() == payload
    assert [p.name for p in work.iterdir()] == ["large.bin"]


def test_a_download_restarted_after_direct_writes_began_keeps_every_byte(faulty_client, work: Path) -> None:
    server, client = faulty_client(f"RetrieveFileContent:fail_stream:after={DIRECT_FROM // CHUNK_SIZE + 1}")
    payload = os.urandom(DIRECT_FROM + 3 * CHUNK_SIZE + 4097)
    file_id = seed(server, "restarted.bin", payload)
    dest = work / "restarted.bin"
    with AtomicFileSink(dest) as sink:
        client.download(file_id, sink)
    assert server.faults.outcomes("RetrieveFileContent") == ["UNAVAILABLE", "OK"]
    assert not any(_cached_pages(dest)[DIRECT_FROM // _PAGE : -1])
    assert dest.read_bytes() == payload


@pytest.mark.parametrize("seed_value", [1, 2, 3])
def test_direct_writes_keep_every_byte_of_uneven_writes_and_a_rewind(work: Path, seed_value: int) -> None:
    payload = os.urandom(DIRECT_FROM + 3 * transfer.DIRECT_BUFFER_BYTES + 1234)
    dest = work / "out.bin"
    with AtomicFileSink(dest) as sink:
        _write_in_pieces(sink, payload[: DIRECT_FROM - 1], seed_value)
        assert not _is_direct(sink)  # small files stay buffered
        _write_in_pieces(sink, payload[DIRECT_FROM - 1 : DIRECT_FROM + 5], seed_value)
        assert _is_direct(sink)
        sink.rewind()  # a restarted download starts buffered again, from byte 0
        assert not _is_direct(sink)
        _write_in_pieces(sink, payload, seed_value)
        assert _is_direct(sink)
        sink.commit()
    assert dest.read_bytes() == payload
    assert [p.name for p in work.iterdir()] == ["out.bin"]


def test_a_direct_write_the_disk_refuses_is_written_buffered(
    work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(transfer, "_DIRECT_ALIGN", 1)  # O_DIRECT turned on at an unaligned offset
    payload = os.urandom(DIRECT_FROM + 2 * transfer.DIRECT_BUFFER_BYTES + 11)
    dest = work / "out.bin"
    with AtomicFileSink(dest) as sink:
        sink.write(payload[: DIRECT_FROM - 100])
        sink.write(payload[DIRECT_FROM - 100 : DIRECT_FROM + 1000])
        assert _is_direct(sink)
        sink.write(payload[DIRECT_FROM + 1000 :])  # the first direct write: EINVAL, so written buffered
        assert not _is_direct(sink)
        sink.commit()
    assert dest.read_bytes() == payload


def test_an_interrupted_direct_download_leaves_no_file(work: Path) -> None:
    dest = work / "out.bin"
    dest.write_bytes(b"old")
    with pytest.raises(KeyboardInterrupt), AtomicFileSink(dest) as sink:
        sink.write(os.urandom(DIRECT_FROM + transfer.DIRECT_BUFFER_BYTES + 1))
        assert _is_direct(sink)
        raise KeyboardInterrupt
    assert dest.read_bytes() == b"old"
    assert [p.name for p in work.iterdir()] == ["out.bin"]
