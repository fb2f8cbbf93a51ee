"""The 20 MiB request message limit is enforced by the handlers of every kind of method.

The server's transport accepts somewhat larger messages so that the limit is decided inside the
handler, deterministically (a receive refused by the transport ends a request stream like a clean
half-close). Every method must still refuse a request above 20 MiB with RESOURCE_EXHAUSTED, in the
words grpc uses, and accept one of exactly 20 MiB.
"""

from __future__ import annotations

from collections.abc import Callable

import grpc
import pytest
from google.protobuf.message import Message

from tests.support.constants import MIB
from tests.support.raw_grpc import error_of
from xai_files_cli._pb import chat_pb2, files_pb2
from xai_files_cli.emulator.faults import FaultPlan

LIMIT = 20 * MIB

METHODS: list[tuple[str, str, Callable[[str], Message]]] = [
    (
        "UploadFile",
        "stream_unary",
        lambda s: files_pb2.UploadFileChunk(init=files_pb2.UploadFileInit(name=s)),
    ),
    ("ListFiles", "unary_unary", lambda s: files_pb2.ListFilesRequest(filter=s)),
    ("RetrieveFile", "unary_unary", lambda s: files_pb2.RetrieveFileRequest(file_id=s)),
    ("RetrieveFileContent", "unary_stream", lambda s: files_pb2.RetrieveFileContentRequest(file_id=s)),
    ("GetCompletion", "unary_unary", lambda s: chat_pb2.GetCompletionsRequest(model=s)),
    ("GetCompletionChunk", "unary_stream", lambda s: chat_pb2.GetCompletionsRequest(model=s)),
]


def _serialized_of_size(build: Callable[[str], Message], size: int) -> bytes:
    """The wire form of `build(text)` with `text` chosen so that it is exactly `size` bytes."""
    overhead = build("x" * size).ByteSize() - size
    body = build("x" * (size - overhead)).SerializeToString()
    assert len(body) == size
    return body


def _invoke(channel: grpc.Channel, method: str, kind: str, body: bytes, metadata: list) -> object:
    service = "Chat" if method.startswith("GetCompletion") else "Files"
    call = getattr(channel, kind)(f"/xai_api.{service}/{method}")  # raw bytes in and out
    result = call(iter([body]) if kind == "stream_unary" else body, metadata=metadata, timeout=30)
    return list(result) if kind == "unary_stream" else result


@pytest.mark.parametrize(("method", "kind", "build"), METHODS, ids=[m[0] for m in METHODS])
def test_a_request_above_the_limit_is_refused_by_the_handler(make_server, method, kind, build):
    plan = FaultPlan()
    _, client = make_server(faults=plan)
    body = _serialized_of_size(build, LIMIT + 1)
    error = error_of(lambda: _invoke(client.channel, method, kind, body, client.metadata))
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, error.details()
    assert error.details() == f"Received message larger than max ({LIMIT + 1} vs. {LIMIT})"
    assert plan.wait_for(lambda p: p.outcomes(method) == ["RESOURCE_EXHAUSTED"]), plan.outcomes(method)
    assert client.list().data == []


def test_a_request_of_exactly_the_limit_reaches_the_method(make_server):
    """20 MiB is within the limit: the method itself answers (here: no file has that id)."""
    _, client = make_server()
    body = _serialized_of_size(METHODS[2][2], LIMIT)
    error = error_of(lambda: _invoke(client.channel, "RetrieveFile", "unary_unary", body, client.metadata))
    assert error.code() == grpc.StatusCode.NOT_FOUND, error.details()
