"""An upload cancelled by its client while the server's async handler waits at any of its await points
stores nothing: no row, no blob, no temp file. Over real gRPC, against the emulator.

The handler waits for request messages on the event loop and for the commit (with its fsync) on the
thread pool. A cancellation reaches it as asyncio's CancelledError at such an await, while the
commit's thread runs on: the commit must then learn that the upload is no longer wanted, before it
inserts the row or right after (and then delete the file at once). The commit is held at two points
here (before and after it inserts the row) by a wrapper around the store's own publish step.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence

import grpc
import pytest

from tests.support.emulator import Emulators, disk_state
from tests.support.raw_grpc import Files, data, init
from xai_files_cli._pb import files_pb2
from xai_files_cli.emulator.group_commit import Ticket
from xai_files_cli.emulator.server import RunningServer
from xai_files_cli.emulator.storage import Upload

HOLD_SECONDS = 10.0
LOOP_THREAD = "xai-emulator-loop"  # the thread the grpc.aio server's event loop runs on


def _open_stream(messages: list[files_pb2.UploadFileChunk], close: threading.Event) -> Iterator[object]:
    """The messages, then no half-close until `close` is set (the test cancels before)."""
    yield from messages
    close.wait(HOLD_SECONDS)


def _nothing_stored(server: RunningServer) -> bool:
    blobs_or_inline, temps = disk_state(server.data_dir)
    return server.storage.all_ids() == set() and blobs_or_inline == set() and temps == set()


def _cancelled_once(server: RunningServer) -> None:
    plan = server.faults
    assert plan is not None
    assert plan.wait_for(lambda p: p.outcomes("UploadFile") == ["CANCELLED"], HOLD_SECONDS)


def _record_abort_threads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the threads every Upload.abort that has something to do runs on, from now on."""
    threads: list[str] = []
    abort = Upload.abort

    def recorded(upload: Upload) -> None:
        if not upload._done:  # a later call is a no-op
            threads.append(threading.current_thread().name)
        abort(upload)

    monkeypatch.setattr(Upload, "abort", recorded)
    return threads


@pytest.mark.parametrize(
    "messages",
    [[init("only-init.txt")], [init("half.bin"), data(b"d" * 5000)]],
    ids=["waiting-for-data", "waiting-after-data-in-a-temp-file"],
)
def test_cancel_while_the_handler_waits_for_messages(
    emulators: Emulators, messages: list[files_pb2.UploadFileChunk], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stall holds the handler at its wait for the next message, after every message sent. The
    upload is aborted on the thread pool (removing a large temp file takes milliseconds)."""
    chunks = sum(message.WhichOneof("chunk") == "data" for message in messages)
    server = emulators.start(f"UploadFile:stall_upload:after={chunks},amount={HOLD_SECONDS}", point_cli=False)
    server.storage.inline_limit = 0  # the data goes to a temp file at once
    threads = _record_abort_threads(monkeypatch)
    client = Files(server.target, server.api_key)
    close = threading.Event()
    try:
        call = client.stub.UploadFile.future(_open_stream(messages, close), metadata=client.metadata)
        assert server.faults is not None and server.faults.wait_for(lambda p: p.held("UploadFile") == 1)
        call.cancel()
        _cancelled_once(server)
    finally:
        close.set()
        client.close()
    assert LOOP_THREAD not in threads and (threads or chunks == 0)  # held before its init: no upload
    assert _nothing_stored(server)


class _HeldPublisher:
    """Runs the store's own publish of a group, holding its thread before or after it (the row is
    inserted then) until the upload is no longer wanted, as the handler's cancellation must signal."""

    def __init__(self, publish: Callable[[Sequence[Ticket[Upload]]], None], hold_after: bool) -> None:
        self._publish = publish
        self._hold_after = hold_after
        self.reached = threading.Event()
        self.unwanted = threading.Event()

    def __call__(self, tickets: Sequence[Ticket[Upload]]) -> None:
        if self._hold_after:
            self._publish(tickets)
        self.reached.set()
        self._wait_until_unwanted(tickets[0].item)
        if not self._hold_after:
            self._publish(tickets)

    def _wait_until_unwanted(self, upload: Upload) -> None:
        stop = threading.Event()
        for _ in range(int(HOLD_SECONDS / 0.01)):  # the flag is a plain callable: it is polled
            if not upload._still_wanted():
                self.unwanted.set()
                return
            stop.wait(0.01)


@pytest.mark.parametrize("hold_after", [False, True], ids=["before-the-row", "after-the-row"])
def test_cancel_while_the_commit_runs_stores_nothing(emulators: Emulators, hold_after: bool) -> None:
    server = emulators.start(point_cli=False)
    held = _HeldPublisher(server.storage._publish, hold_after)
    server.storage._publish = held  # type: ignore[method-assign]  # the store's own publish runs inside
    client = Files(server.target, server.api_key)
    try:
        messages = [init("committing.txt"), data(b"c" * 100)]
        call = client.stub.UploadFile.future(iter(messages), metadata=client.metadata)
        assert held.reached.wait(HOLD_SECONDS)  # the stream ended cleanly; the commit is under way
        call.cancel()
        _cancelled_once(server)
        with pytest.raises(grpc.FutureCancelledError):
            call.result()
    finally:
        client.close()
    assert held.unwanted.is_set()  # the commit was told, while it ran, that the call had ended
    assert _nothing_stored(server)


def test_a_commit_that_fails_is_aborted_off_the_event_loop(
    emulators: Emulators, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The abort may wait for the database's write lock (it drops the upload's note): on the loop,
    # that would hold up every call the server has in flight, for up to the busy timeout.
    server = emulators.start(point_cli=False)
    server.storage.inline_limit = 0  # a temp file, fsynced and noted before the group runs

    def busy(tickets: Sequence[Ticket[Upload]]) -> None:
        raise sqlite3.OperationalError("database is locked")

    server.storage._publish = busy  # type: ignore[method-assign]
    threads = _record_abort_threads(monkeypatch)
    client = Files(server.target, server.api_key)
    try:
        with pytest.raises(grpc.RpcError) as failed:
            client.stub.UploadFile(iter([init("busy.bin"), data(b"b" * 5000)]), metadata=client.metadata)
    finally:
        client.close()
    assert failed.value.code() == grpc.StatusCode.UNAVAILABLE
    assert threads and LOOP_THREAD not in threads
    assert _nothing_stored(server)
