"""The floor: the least a Python client must do for the same work, run as its own process by the benchmarks.

Usage: python benchmarks/floor_client.py OP ARGS...   (XAI_API_KEY and XAI_API_HOST in the environment)
  upload DIR [CONCURRENCY]      -> uploads every file in DIR (name = basename); prints the count
  seed FIRST COUNT SIZE         -> uploads COUNT generated files of SIZE bytes, seed-FIRST.txt onwards
  read ID                       -> streams the file's content and discards it; prints the byte count
  write SIZE PATH               -> writes SIZE bytes to PATH in 4 MiB blocks, then fsyncs (no network)

Uploads go over one plaintext grpc.aio channel, at most CONCURRENCY at once (default 50, as
`xai files batch-upload`), the key as per-call metadata, one init and one data message per file.
Nothing else: no retries, no progress, no per-file output. A failed call ends the process.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import grpc.aio

from xai_files_cli._pb import files_pb2, files_pb2_grpc

MESSAGE_LIMIT = 20 * 1024 * 1024
OPTIONS = [
    ("grpc.max_send_message_length", MESSAGE_LIMIT),
    ("grpc.max_receive_message_length", MESSAGE_LIMIT),
]
WRITE_BLOCK = 4 * 1024 * 1024
SEED_CONCURRENCY = 64


def _metadata() -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {os.environ['XAI_API_KEY']}"),)


def _messages(name: str, data: bytes) -> list[files_pb2.UploadFileChunk]:
    """The upload stream of one file: its init, then its bytes in one message (none for an empty file)."""
    init = files_pb2.UploadFileChunk(init=files_pb2.UploadFileInit(name=name))
    return [init, files_pb2.UploadFileChunk(data=data)] if data else [init]


async def upload_all(items: Iterator[tuple[str, bytes]], concurrency: int) -> int:
    """Upload every (name, bytes) of `items` with `concurrency` workers sharing one channel."""
    metadata = _metadata()
    async with grpc.aio.insecure_channel(os.environ["XAI_API_HOST"], options=OPTIONS) as channel:
        stub = files_pb2_grpc.FilesStub(channel)

        async def worker() -> int:
            done = 0
            for name, data in items:  # one shared iterator: each item is taken by exactly one worker
                await stub.UploadFile(iter(_messages(name, data)), metadata=metadata, timeout=120)
                done += 1
            return done

        return sum(await asyncio.gather(*(worker() for _ in range(concurrency))))


def files_of(folder: Path) -> Iterator[tuple[str, bytes]]:
    """Every regular file of `folder` (sorted), read when a worker takes it."""
    for path in sorted(folder.iterdir()):
        if path.is_file():
            yield path.name, path.read_bytes()


def generated(first: int, count: int, size: int) -> Iterator[tuple[str, bytes]]:
    """`count` distinct small files numbered from `first`: a numbered name and `size` bytes of content."""
    for index in range(first, first + count):
        stamp = f"{index:08d}\n".encode()
        yield f"seed-{index:06d}.txt", (stamp * (size // len(stamp) + 1))[:size]


def read_content(file_id: str) -> int:
    """Stream one file's content over a blocking channel and discard it; the byte count."""
    total = 0
    with grpc.insecure_channel(os.environ["XAI_API_HOST"], options=OPTIONS) as channel:
        stub = files_pb2_grpc.FilesStub(channel)
        request = files_pb2.RetrieveFileContentRequest(file_id=file_id)
        for chunk in stub.RetrieveFileContent(request, metadata=_metadata(), timeout=600):
            total += len(chunk.data)
    return total


def write_and_sync(size: int, path: Path) -> int:
    """Write `size` bytes to `path` from one reused buffer, then fsync: the disk's own pace."""
    block = os.urandom(WRITE_BLOCK)
    written = 0
    with path.open("wb", buffering=0) as out:
        while written < size:
            written += out.write(memoryview(block)[: min(WRITE_BLOCK, size - written)])
        os.fsync(out.fileno())
    return written


def main(op: str, *args: str) -> None:
    if op == "upload":
        concurrency = int(args[1]) if len(args) > 1 else 50
        print(asyncio.run(upload_all(files_of(Path(args[0])), concurrency)))
    elif op == "seed":
        first, count, size = (int(arg) for arg in args[:3])
        print(asyncio.run(upload_all(generated(first, count, size), SEED_CONCURRENCY)))
    elif op == "read":
        print(read_content(args[0]))
    elif op == "write":
        print(write_and_sync(int(args[0]), Path(args[1])))
    else:
        raise SystemExit(f"unknown op {op}")


if __name__ == "__main__":
    main(*sys.argv[1:])
