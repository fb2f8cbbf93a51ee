"""Raw gRPC for emulator tests (our generated `_pb`, no CLI code in between): a thin Files client,
chat request builders, and helpers for the status codes calls fail with."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import grpc

from tests.support.constants import MIB
from xai_files_cli._pb import chat_pb2, files_pb2, files_pb2_grpc

SDK_CHUNK = 3 * MIB
ALLOWED_CODES = {
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.UNAUTHENTICATED,
}


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


def user(text: str, *file_ids: str, data: bytes | None = None, filename: str = "") -> chat_pb2.Message:
    """A user message with `text`, stored files by id and, with `data`, one inline file."""
    content = [chat_pb2.Content(text=text)]
    content += [chat_pb2.Content(file=chat_pb2.FileContent(file_id=fid)) for fid in file_ids]
    if data is not None:
        content.append(chat_pb2.Content(file=chat_pb2.FileContent(data=data, filename=filename)))
    return chat_pb2.Message(role=chat_pb2.ROLE_USER, content=content)


def request(
    *messages: chat_pb2.Message, model: str = "grok-4", **fields: Any
) -> chat_pb2.GetCompletionsRequest:
    """A completion request for `messages`."""
    return chat_pb2.GetCompletionsRequest(model=model, messages=list(messages), **fields)


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


class FakeRpcError(grpc.RpcError):
    """An RpcError with a chosen status, for mapping tests that need no server."""

    def __init__(self, code: grpc.StatusCode, details: str = "") -> None:
        super().__init__()
        self._code = code
        self._details = details

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details
