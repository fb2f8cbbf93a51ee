"""Every RPC kind requires `authorization: Bearer <key>`; nothing is stored or logged otherwise."""

from __future__ import annotations

import logging

import grpc
import pytest

from tests.support.constants import TEST_KEY
from tests.support.emulator import disk_state
from tests.support.raw_grpc import Files, error_of, init
from xai_files_cli._pb import files_pb2
from xai_files_cli.emulator.auth import AuthInterceptor

BAD_METADATA = [
    [],
    [("authorization", "Bearer wrong-key")],
    [("authorization", f"bearer {TEST_KEY}")],
    [("authorization", TEST_KEY)],
    [("authorization", f"Bearer {TEST_KEY} ")],
    [("authorization", f"Bearer {TEST_KEY[:-1]}")],
    [("x-api-key", TEST_KEY)],
    [("authorization", f"Bearer {TEST_KEY}"), ("authorization", "Bearer other")],
]


def _all_calls(client: Files, file_id: str):
    request_id = files_pb2.RetrieveFileRequest(file_id=file_id)
    md = client.metadata
    stub = client.stub
    return {
        "UploadFile": lambda: stub.UploadFile(iter([init("a.txt")]), metadata=md),
        "ListFiles": lambda: stub.ListFiles(files_pb2.ListFilesRequest(), metadata=md),
        "RetrieveFile": lambda: stub.RetrieveFile(request_id, metadata=md),
        "DeleteFile": lambda: stub.DeleteFile(files_pb2.DeleteFileRequest(file_id=file_id), metadata=md),
        "RetrieveFileContent": lambda: list(
            stub.RetrieveFileContent(files_pb2.RetrieveFileContentRequest(file_id=file_id), metadata=md)
        ),
        "CreatePublicUrl": lambda: stub.CreatePublicUrl(
            files_pb2.CreatePublicUrlRequest(file_id=file_id), metadata=md
        ),
        "RevokePublicUrl": lambda: stub.RevokePublicUrl(
            files_pb2.RevokePublicUrlRequest(file_id=file_id), metadata=md
        ),
    }


@pytest.mark.parametrize("metadata", BAD_METADATA, ids=range(len(BAD_METADATA)))
def test_every_method_rejects_a_missing_or_wrong_key(server, files, metadata, caplog):
    caplog.set_level(logging.DEBUG)
    existing = files.upload("keep.png", b"\x89PNG\r\n\x1a\n")
    intruder = Files(server.target, None)
    intruder.metadata = metadata
    try:
        for name, call in _all_calls(intruder, existing.id).items():
            error = error_of(call)
            assert error.code() == grpc.StatusCode.UNAUTHENTICATED, name
            assert TEST_KEY not in (error.details() or "")
    finally:
        intruder.close()
    assert [f.id for f in files.list().data] == [existing.id]  # nothing uploaded, nothing deleted
    assert disk_state(server.data_dir) == ({existing.id}, set())
    assert TEST_KEY not in caplog.text


def test_the_right_key_works_for_every_method(files):
    existing = files.upload("keep.png", b"\x89PNG\r\n\x1a\n")
    for name, call in _all_calls(files, existing.id).items():
        if name != "DeleteFile":
            call()
    files.delete(existing.id)


def test_comparison_is_exact():
    interceptor = AuthInterceptor("k3y")
    assert interceptor.is_authorized([("authorization", "Bearer k3y")])
    assert interceptor.is_authorized([("user-agent", "x"), ("authorization", "Bearer k3y")])
    for bad in (
        [],
        None,
        [("authorization", "Bearer k3")],
        [("authorization", "Bearer k3yy")],
        [("authorization", "Bearer k3y\udcff")],
        [("authorization", b"Bearer k3y\xff")],
    ):
        assert not interceptor.is_authorized(bad)


def test_no_auth_server_accepts_anonymous_calls(make_server):
    _, client = make_server(api_key=None)
    assert client.metadata == []
    assert client.upload("a.txt", b"x").size == 1
