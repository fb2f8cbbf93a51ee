"""A thin raw-stub client for emulator tests (our generated `_pb`, no CLI code in between)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import grpc

from xai_files_cli._pb import files_pb2, files_pb2_grpc

MIB = 1024 * 1024
SDK_CHUNK = 3 * MIB
ALLOWED_CODES = {
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.UNAUTHENTICATED,
}


class FakeClock:
    """An injectable nanosecond clock that only moves when told to."""

    def __init__(self, start_s: int = 1_800_000_000) -> None:
        self.now = start_s * 1_000_000_000

    def __call__(self) -> int:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += int(seconds * 1_000_000_000)


def init(name: str, ttl: int | None = None) -> files_pb2.UploadFileChunk:
    message = files_pb2.UploadFileInit(name=name)
    if ttl is not None:
        message.expires_after = ttl
    return files_pb2.UploadFileChunk(init=message)


def data(payload: bytes) -> files_pb2.UploadFileChunk:
    return files_pb2.UploadFileChunk(data=payload)


def chunked(payload: bytes, size: int = SDK_CHUNK) -> Iterator[files_pb2.UploadFileChunk]:
    for start in range(0, len(payload), size):
        yield data(payload[start : start + size])


class Files:
    """Files RPCs with the auth metadata attached; every method returns protos or raises RpcError."""

    def __init__(self, target: str, key: str | None, max_message: int = 64 * MIB) -> None:
        self.channel = grpc.insecure_channel(
            target,
            options=[
                ("grpc.max_send_message_length", max_message),
                ("grpc.max_receive_message_length", max_message),
            ],
        )
        self.stub = files_pb2_grpc.FilesStub(self.channel)
        self.metadata = [("authorization", f"Bearer {key}")] if key else []

    def close(self) -> None:
        self.channel.close()

    def upload_messages(self, messages: Iterable[files_pb2.UploadFileChunk]) -> files_pb2.File:
        return self.stub.UploadFile(iter(messages), metadata=self.metadata, timeout=60)

    def upload(self, name: str, payload: bytes = b"", *, ttl: int | None = None) -> files_pb2.File:
        return self.upload_messages([init(name, ttl), *chunked(payload)])

    def list(self, **fields: Any) -> files_pb2.ListFilesResponse:
        return self.stub.ListFiles(files_pb2.ListFilesRequest(**fields), metadata=self.metadata, timeout=30)

    def list_all(self, **fields: Any) -> list[files_pb2.File]:
        """Follow pagination tokens to the end; fails if a page repeats a file."""
        out: list[files_pb2.File] = []
        token = None
        while True:
            request = dict(fields)
            if token is not None:
                request["pagination_token"] = token
            page = self.list(**request)
            out.extend(page.data)
            if not page.HasField("pagination_token"):
                return out
            token = page.pagination_token

    def get(self, file_id: str) -> files_pb2.File:
        return self.stub.RetrieveFile(files_pb2.RetrieveFileRequest(file_id=file_id), metadata=self.metadata)

    def delete(self, file_id: str) -> files_pb2.DeleteFileResponse:
        return self.stub.DeleteFile(files_pb2.DeleteFileRequest(file_id=file_id), metadata=self.metadata)

    def chunks(self, file_id: str, fmt: int | None = None) -> list[bytes]:
        request = files_pb2.RetrieveFileContentRequest(file_id=file_id)
        if fmt is not None:
            request.format = fmt
        stream = self.stub.RetrieveFileContent(request, metadata=self.metadata, timeout=60)
        return [chunk.data for chunk in stream]

    def content(self, file_id: str, fmt: int | None = None) -> bytes:
        return b"".join(self.chunks(file_id, fmt))

    def create_url(self, file_id: str, expires_after: int | None = None) -> files_pb2.CreatePublicUrlResponse:
        request = files_pb2.CreatePublicUrlRequest(file_id=file_id)
        if expires_after is not None:
            request.expires_after = expires_after
        return self.stub.CreatePublicUrl(request, metadata=self.metadata)

    def revoke_url(self, file_id: str) -> files_pb2.RevokePublicUrlResponse:
        return self.stub.RevokePublicUrl(
            files_pb2.RevokePublicUrlRequest(file_id=file_id), metadata=self.metadata
        )


def status_of(call: Callable[[], object]) -> grpc.StatusCode:
    """Run `call` and return the status code it failed with (fails the test if it succeeded)."""
    try:
        call()
    except grpc.RpcError as error:
        return error.code()
    raise AssertionError("the call succeeded but an error status was expected")


def error_of(call: Callable[[], object]) -> grpc.RpcError:
    """Run `call` and return the RpcError it raised."""
    try:
        call()
    except grpc.RpcError as error:
        return error
    raise AssertionError("the call succeeded but an error status was expected")


def disk_state(data_dir: Any) -> tuple[set[str], set[str]]:
    """(blob names, temp names) on disk under a data dir."""
    return (
        {p.name for p in (data_dir / "blobs").iterdir()},
        {p.name for p in (data_dir / "tmp").iterdir()},
    )


class ServeProcess:
    """`xai serve` in a subprocess on a free port (or `port`); waits for its "listening on" line.

    `verbose=True` runs `xai -v serve`, which logs each injected fault and the start of a graceful
    stop on stderr: markers for `expect_line`.
    """

    def __init__(
        self,
        data_dir: Any,
        *extra: str,
        key: str | None = "serve-test-key-0123456789",
        port: int = 0,
        verbose: bool = False,
    ) -> None:
        import subprocess
        import sys

        from tests.conftest import xai_subprocess_env

        self.data_dir = data_dir
        self.key = key
        args = [sys.executable, "-m", "xai_files_cli", *(["-v"] if verbose else []), "serve"]
        args += ["--port", str(port), "--data-dir", str(data_dir)]
        env = xai_subprocess_env()
        env.pop("XAI_API_KEY", None)
        if key is not None:
            env["XAI_API_KEY"] = key
        self.proc = subprocess.Popen([*args, *extra], stderr=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        self.first_line = self.proc.stderr.readline().decode()
        if "listening on" not in self.first_line:
            self.proc.kill()
            rest = self.proc.communicate(timeout=10)[1].decode()
            raise RuntimeError(f"xai serve did not start: {self.first_line}{rest}")
        self.target = self.first_line.split("listening on ", 1)[1].split(" ", 1)[0]
        self.port = int(self.target.rsplit(":", 1)[1])
        self.lines: list[str] = []  # stderr lines read by expect_line, after the first
        self._lines: Any = None  # queue.Queue of lines from a reader thread, once expect_line is used

    def client(self) -> Files:
        return Files(self.target, self.key)

    def expect_line(self, needle: str, timeout: float = 30.0) -> str:
        """A stderr line containing `needle`, already printed or waited for (fails on timeout or if
        the process ends first); lines printed in any order are found."""
        import queue
        import threading

        for line in self.lines:
            if needle in line:
                return line

        if self._lines is None:
            self._lines = queue.Queue()
            threading.Thread(target=self._read_stderr, daemon=True).start()
        while True:
            try:
                line = self._lines.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"xai serve did not print {needle!r}; it printed {self.lines}") from None
            if line is None:
                raise AssertionError(f"xai serve ended without printing {needle!r}; it printed {self.lines}")
            self.lines.append(line)
            if needle in line:
                return line

    def _read_stderr(self) -> None:
        for raw in iter(self.proc.stderr.readline, b""):
            self._lines.put(raw.decode())
        self._lines.put(None)

    def finish(self, timeout: float = 15.0) -> tuple[int, str]:
        """Wait for exit; returns (exit code, the rest of stderr: what expect_line did not consume)."""
        if self._lines is None:
            _, err = self.proc.communicate(timeout=timeout)
            return self.proc.returncode, err.decode()
        self.proc.wait(timeout)
        rest = []
        while (line := self._lines.get(timeout=timeout)) is not None:
            rest.append(line)
        self._lines.put(None)  # keep the end marker for a later call
        return self.proc.returncode, "".join(rest)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        if self._lines is None:
            self.proc.communicate(timeout=10)
        else:
            self.proc.wait(10)
