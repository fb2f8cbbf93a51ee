"""ListFiles reads a page on the server's event loop when SQLite answers within a small budget of steps,
and on the thread pool otherwise: a page is answered while every pool thread is busy, a read that runs
past its budget (a filter scanning many files) is made again on the pool and gives the same files, and
such a call cancelled while it waits for the pool leaves the server serving."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import grpc
import pytest

from tests.support.raw_grpc import Files
from xai_files_cli._pb import files_pb2
from xai_files_cli.emulator import storage as storage_module
from xai_files_cli.emulator.server import RunningServer
from xai_files_cli.emulator.storage import PageQuery, ReadWouldBlock, Storage

MakeServer = Callable[..., tuple[RunningServer, Files]]
POOL_THREADS = 2


@contextmanager
def _busy_pool(running: RunningServer) -> Iterator[None]:
    """Every thread of the server's pool held by a job that waits until the block ends."""
    release = threading.Event()
    started = threading.Barrier(POOL_THREADS + 1)

    def hold() -> None:
        started.wait()
        release.wait()

    jobs = [running._executor.submit(hold) for _ in range(POOL_THREADS)]
    started.wait(timeout=10)
    try:
        yield
    finally:
        release.set()
        for job in jobs:
            job.result(timeout=10)


def _names(files: list[files_pb2.File]) -> list[str]:
    return [file.filename for file in files]


def _list_all(client: Files, **fields: object) -> list[files_pb2.File]:
    """Every page, each call with a 5 s deadline."""
    request = files_pb2.ListFilesRequest(**fields)  # type: ignore[arg-type]
    found: list[files_pb2.File] = []
    while True:
        page = client.stub.ListFiles(request, metadata=client.metadata, timeout=5)
        found.extend(page.data)
        if not page.HasField("pagination_token"):
            return found
        request.pagination_token = page.pagination_token


def _no_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every quick read gives up at its first step (for connections made from now on)."""
    monkeypatch.setattr(storage_module, "QUICK_READ_STEPS", 0)
    monkeypatch.setattr(storage_module, "STEP_COUNT_INTERVAL", 1)


def _stored_names(running: RunningServer, descending: bool = False, min_size: int = -1) -> list[str]:
    records, _ = running.storage.list_files(PageQuery(descending=descending, limit=100))
    return [record.filename for record in records if record.size > min_size]


@pytest.fixture
def small_pool(make_server: MakeServer) -> tuple[RunningServer, Files]:
    running, client = make_server(max_concurrent_rpcs=POOL_THREADS)
    for index in range(12):
        client.upload(f"f{index:02d}.txt", b"x" * index)
    return running, client


def _first_page_later(client: Files) -> grpc.Future:
    """A first page of 5 asked for without waiting for it (the read needs a pool thread)."""
    return client.stub.ListFiles.future(
        files_pb2.ListFilesRequest(limit=5), metadata=client.metadata, timeout=30
    )


def test_a_page_is_answered_while_every_pool_thread_is_busy(small_pool: tuple[RunningServer, Files]) -> None:
    running, client = small_pool
    with _busy_pool(running):
        pages = _list_all(client, limit=5)
        filtered = _list_all(client, filter="size_bytes > 9")
    assert _names(pages) == [f"f{index:02d}.txt" for index in range(12)]
    assert _names(filtered) == ["f10.txt", "f11.txt"]


def test_a_read_past_its_budget_is_made_on_the_pool_with_the_same_files(
    small_pool: tuple[RunningServer, Files], monkeypatch: pytest.MonkeyPatch
) -> None:
    running, client = small_pool
    _no_budget(monkeypatch)
    with _busy_pool(running):
        waiting = _first_page_later(client)
        with pytest.raises(grpc.FutureTimeoutError):
            waiting.result(timeout=0.3)  # it needs a pool thread, and none is free
    assert _names(list(waiting.result(timeout=10).data)) == _stored_names(running)[:5]
    for order in (files_pb2.ASCENDING, files_pb2.DESCENDING):
        listed = _list_all(client, limit=5, order=order, filter="size_bytes > 2")
        assert _names(listed) == _stored_names(running, order == files_pb2.DESCENDING, min_size=2)


def test_a_call_cancelled_while_it_waits_for_the_pool_leaves_the_server_serving(
    small_pool: tuple[RunningServer, Files], monkeypatch: pytest.MonkeyPatch
) -> None:
    running, client = small_pool
    _no_budget(monkeypatch)
    with _busy_pool(running):
        assert _first_page_later(client).cancel()
    assert len(_list_all(client, limit=5)) == 12
    running.stop(grace=5)  # a cancelled call's late read holds nothing up


def test_quick_reads_give_up_on_a_scan_past_the_budget_and_only_then(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(storage_module, "STEP_COUNT_INTERVAL", 100)
    store = Storage(tmp_path / "data")
    try:
        for index in range(300):
            upload = store.begin_upload(f"f{index:03d}.txt", None)
            upload.write(b"x")
            upload.commit()
        scan = PageQuery(where=("size > ?", (1,)))  # matches nothing: every file is read
        monkeypatch.setattr(storage_module, "QUICK_READ_STEPS", 2_000)  # less than reading 300 files takes
        with store.quick_reads():
            assert store.list_entries(PageQuery(limit=3)) is not None  # a short page: within the budget
        with pytest.raises(ReadWouldBlock), store.quick_reads():
            store.list_entries(scan)
        with store.quick_reads():  # the budget is per block: the next one starts afresh
            assert store.list_entries(PageQuery(limit=3)) is not None
        page = store.list_entries(scan)  # outside a block there is no budget
        assert page is not None and page.count == 0
    finally:
        store.close()
