"""An upload stream that ends by a cancel or a dead connection, rather than by the client's
half-close, stores nothing: not an empty file (only the init arrived), not a whole one (the data
arrived but the client never said it was done).

grpc.aio ends a handler's request stream the same way for both; the cancellation that tells them apart
reaches the upload handler's task a moment later, at one of its awaits: the one more receive it asks
gRPC for after the end, or the commit it waits for on the thread pool (test_upload_cancel_points.py)."""

from __future__ import annotations

import asyncio
import signal
import subprocess
from collections.abc import AsyncIterator
from typing import Any

import grpc

from tests.support.constants import TEST_KEY
from tests.support.emulator import Emulators
from tests.support.processes import python_command, xai_subprocess_env
from xai_files_cli._pb import files_pb2
from xai_files_cli.emulator.decoding import tolerant_handler

STREAMS = 48
ROUNDS = 3

# Opens STREAMS uploads, writes the init of each and the data of every other one (never
# half-closing any), says so, then waits to be killed.
_CLIENT = """
import asyncio, sys
import grpc
from xai_files_cli._pb import files_pb2, files_pb2_grpc

async def main(target, key, streams):
    channel = grpc.aio.insecure_channel(target)
    stub = files_pb2_grpc.FilesStub(channel)
    calls = [stub.UploadFile(metadata=(("authorization", "Bearer " + key),)) for _ in range(streams)]
    for index, call in enumerate(calls):
        await call.write(files_pb2.UploadFileChunk(init=files_pb2.UploadFileInit(name=f"cut{index}.txt")))
        if index % 2:
            await call.write(files_pb2.UploadFileChunk(data=b"x" * 64))
    print("written", flush=True)
    await asyncio.sleep(60)

asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
"""


def test_uploads_of_a_killed_client_store_nothing(emulators: Emulators) -> None:
    server = emulators.start(point_cli=False)
    plan = server.faults
    assert plan is not None
    for round_ in range(1, ROUNDS + 1):
        client = subprocess.Popen(
            python_command("-c", _CLIENT, server.target, TEST_KEY, str(STREAMS)),
            env=xai_subprocess_env(),
            stdout=subprocess.PIPE,
            text=True,
        )
        assert client.stdout is not None
        assert client.stdout.readline() == "written\n"
        assert plan.wait_for(lambda p, n=round_ * STREAMS: p.calls("UploadFile") >= n, 10)
        client.send_signal(signal.SIGKILL)  # the connection dies with every stream open
        client.communicate(timeout=10)
        assert plan.wait_for(lambda p, n=round_ * STREAMS: len(p.outcomes("UploadFile")) >= n, 10)
    stored = [server.storage.get(file_id) for file_id in server.storage.all_ids()]
    assert [(record.filename, record.size) for record in stored if record is not None] == []
    assert "OK" not in plan.outcomes("UploadFile")


class _Receives:
    """A request stream that counts how often it is asked for a message, as gRPC's would be."""

    def __init__(self, messages: list[files_pb2.UploadFileChunk]) -> None:
        self._messages = iter(messages)
        self.asked = 0

    def __aiter__(self) -> AsyncIterator[files_pb2.UploadFileChunk]:
        return self

    async def __anext__(self) -> files_pb2.UploadFileChunk:
        self.asked += 1
        message = next(self._messages, None)
        if message is None:
            raise StopAsyncIteration
        return message


def test_the_decoding_wrapper_asks_grpc_for_a_message_only_when_the_handler_does() -> None:
    """No read-ahead: a message the handler has not asked for stays with gRPC (where a cancellation or
    a fault can still end the stream before it), and the end is passed on as the end."""
    seen: list[int] = []

    async def behaviour(requests: AsyncIterator[Any], context: Any) -> int:
        async for _ in requests:
            seen.append(receives.asked)
        return len(seen)

    handler = tolerant_handler(grpc.stream_unary_rpc_method_handler(behaviour))
    assert handler is not None and handler.stream_unary is not None
    message = files_pb2.UploadFileChunk(init=files_pb2.UploadFileInit(name="a"))
    receives = _Receives([message, message])
    assert asyncio.run(handler.stream_unary(receives, None)) == 2
    assert seen == [1, 2] and receives.asked == 3  # each message when asked for, then the end
