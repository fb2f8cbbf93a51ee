"""RetrieveFileContent sends a file's original bytes as ready wire chunks: each one must be exactly the
FileContentChunk protobuf would serialize, for every length width, and the faults must still cut and
pad them."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import grpc
import pytest

from tests.support.raw_grpc import Files
from xai_files_cli._pb import files_pb2
from xai_files_cli.emulator.faults import FaultPlan
from xai_files_cli.emulator.server import RunningServer
from xai_files_cli.emulator.wire_chunks import CHUNK_SIZE, chunk_header

MakeServer = Callable[..., tuple[RunningServer, Files]]

_METHOD = "/xai_api.Files/RetrieveFileContent"


def _payload(size: int) -> bytes:
    """`size` bytes that differ from chunk to chunk (a counter hashed), so order and offsets show."""
    blocks = (hashlib.sha256(index.to_bytes(8, "big")).digest() for index in range(size // 32 + 1))
    return b"".join(blocks)[:size]


def _wire_messages(client: Files, file_id: str) -> list[bytes]:
    """The stream's messages as the bytes that came over the wire (no deserializer)."""
    call = client.channel.unary_stream(
        _METHOD, request_serializer=files_pb2.RetrieveFileContentRequest.SerializeToString
    )
    return list(call(files_pb2.RetrieveFileContentRequest(file_id=file_id), metadata=client.metadata))


@pytest.mark.parametrize(
    "size", [1, 2, 127, 128, 16_383, 16_384, 2_097_151, 2_097_152, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1]
)
def test_chunk_header_is_what_protobuf_writes_before_the_data(size: int) -> None:
    expected = files_pb2.FileContentChunk(data=b"\0" * size).SerializeToString()[:-size]
    assert chunk_header(size) == expected


@pytest.mark.parametrize(
    "size", [1, 127, 128, 16_384, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 2 * CHUNK_SIZE + 128]
)
def test_every_chunk_on_the_wire_is_the_message_protobuf_would_send(files: Files, size: int) -> None:
    payload = _payload(size)
    file_id = files.upload("chunks.bin", payload).id
    messages = _wire_messages(files, file_id)
    pieces = [payload[start : start + CHUNK_SIZE] for start in range(0, size, CHUNK_SIZE)]
    assert [len(m) for m in messages] == [len(chunk_header(len(p))) + len(p) for p in pieces]
    for message, piece in zip(messages, pieces, strict=True):
        assert message == files_pb2.FileContentChunk(data=piece).SerializeToString()
        assert message == chunk_header(len(piece)) + piece


def test_an_empty_file_is_sent_as_no_chunks(files: Files) -> None:
    file_id = files.upload("empty.bin", b"").id
    assert _wire_messages(files, file_id) == []


@pytest.mark.parametrize("amount", [CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 200, 2 * CHUNK_SIZE])
def test_truncate_cuts_the_wire_chunks_at_any_offset(make_server: MakeServer, amount: int) -> None:
    plan = FaultPlan.parse([f"RetrieveFileContent:truncate:amount={amount},times=0"])
    _, client = make_server(faults=plan)
    payload = _payload(2 * CHUNK_SIZE + 7)
    file_id = client.upload("cut.bin", payload).id
    messages = _wire_messages(client, file_id)
    received = b"".join(files_pb2.FileContentChunk.FromString(m).data for m in messages)
    assert received == payload[:amount]
    assert all(len(m) > 0 for m in messages)
    assert plan.outcomes("RetrieveFileContent") == ["OK"]


def test_pad_appends_one_chunk_after_the_wire_chunks(make_server: MakeServer) -> None:
    plan = FaultPlan.parse(["RetrieveFileContent:pad:amount=300"])
    _, client = make_server(faults=plan)
    payload = _payload(CHUNK_SIZE + 3)
    file_id = client.upload("long.bin", payload).id
    chunks = [files_pb2.FileContentChunk.FromString(m).data for m in _wire_messages(client, file_id)]
    assert chunks == [payload[:CHUNK_SIZE], payload[CHUNK_SIZE:], b"\0" * 300]


def test_fail_stream_still_ends_the_wire_chunks_with_its_code(make_server: MakeServer) -> None:
    plan = FaultPlan.parse(["RetrieveFileContent:fail_stream:after=1,code=DATA_LOSS"])
    _, client = make_server(faults=plan)
    payload = _payload(CHUNK_SIZE + 9)
    file_id = client.upload("broken.bin", payload).id
    received: list[bytes] = []
    call = client.channel.unary_stream(
        _METHOD, request_serializer=files_pb2.RetrieveFileContentRequest.SerializeToString
    )
    with pytest.raises(grpc.RpcError) as failure:
        for message in call(files_pb2.RetrieveFileContentRequest(file_id=file_id), metadata=client.metadata):
            received.append(message)
    assert failure.value.code() == grpc.StatusCode.DATA_LOSS
    assert received == [chunk_header(CHUNK_SIZE) + payload[:CHUNK_SIZE]]
