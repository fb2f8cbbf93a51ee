"""core.channel: the key travels as per-call metadata, at no thread per call, next to the caller's."""

from __future__ import annotations

import threading

import grpc
import pytest

from tests.support.constants import TEST_KEY
from xai_files_cli._pb import files_pb2, files_pb2_grpc
from xai_files_cli.core.channel import connect
from xai_files_cli.core.files import FilesClient


def test_blocking_calls_start_no_thread_to_attach_the_key(server, monkeypatch: pytest.MonkeyPatch) -> None:
    # A call credentials plugin makes grpc-python start one Python thread per call; a list page
    # then cost twice the CPU of the call itself.
    channel = connect(server.target, TEST_KEY)
    client = FilesClient(channel, timeout=10)
    client.list_page(page_size=1)  # the connection is up before counting
    started: list[str] = []
    real_start = threading.Thread.start

    def counting_start(thread: threading.Thread) -> None:
        if not thread.name.startswith("xai-emulator"):  # the in-process server's own workers
            started.append(thread.name)
        real_start(thread)

    monkeypatch.setattr(threading.Thread, "start", counting_start)
    for _ in range(20):
        client.list_page(page_size=1)
    monkeypatch.undo()
    channel.close()
    assert started == []


def test_the_callers_metadata_goes_along_with_the_key(server) -> None:
    channel = connect(server.target, TEST_KEY)
    stub = files_pb2_grpc.FilesStub(channel)
    request = files_pb2.ListFilesRequest(limit=1)
    reply, call = stub.ListFiles.with_call(request, metadata=(("x-trace", "1"),), timeout=10)
    assert call.code() == grpc.StatusCode.OK
    assert len(reply.data) == 0
    future = stub.ListFiles.future(request, metadata=[("x-trace", "2")], timeout=10)
    assert future.result().data == reply.data  # a future carries the key too
    channel.close()
