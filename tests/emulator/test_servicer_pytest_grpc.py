"""FilesServicer on its own (no auth, no interceptors), through pytest-grpc's server fixtures.

pytest-grpc 0.8 works with grpcio 1.85 in its default mode (a real server on a local port); its
`--grpc-fake-server` mode does not, because generated code now also calls
`server.add_registered_method_handlers`, which its FakeServer lacks. The server is the emulator's
grpc.aio one (UploadFile is an async handler), which pytest-grpc drives like the sync `grpc.server`.
"""

from __future__ import annotations

from concurrent import futures

import grpc
import pytest

from xai_files_cli._pb import files_pb2, files_pb2_grpc
from xai_files_cli.emulator.files_service import FilesServicer, add_files_servicer
from xai_files_cli.emulator.loop_server import LoopServer
from xai_files_cli.emulator.storage import Storage


@pytest.fixture(scope="module")
def _grpc_server():
    """pytest-grpc's server: the emulator's grpc.aio server instead of a sync grpc.server."""
    with futures.ThreadPoolExecutor(max_workers=4) as pool:
        yield LoopServer(pool)


@pytest.fixture(scope="module")
def grpc_add_to_server():
    return add_files_servicer  # the generated registration, with ListFiles' replies sent as bytes


@pytest.fixture(scope="module")
def grpc_servicer(tmp_path_factory):
    storage = Storage(tmp_path_factory.mktemp("servicer-data"))
    yield FilesServicer(storage, lambda: "http://127.0.0.1:1/public/")
    storage.close()


@pytest.fixture(scope="module")
def grpc_stub_cls(grpc_channel):
    return files_pb2_grpc.FilesStub


def _upload(stub, name: str, payload: bytes) -> files_pb2.File:
    messages = [files_pb2.UploadFileChunk(init=files_pb2.UploadFileInit(name=name))]
    messages += [files_pb2.UploadFileChunk(data=payload)] if payload else []
    return stub.UploadFile(iter(messages))


def test_upload_get_download_delete(grpc_stub):
    created = _upload(grpc_stub, "servicer.txt", b"hello servicer")
    assert grpc_stub.RetrieveFile(files_pb2.RetrieveFileRequest(file_id=created.id)) == created
    chunks = grpc_stub.RetrieveFileContent(files_pb2.RetrieveFileContentRequest(file_id=created.id))
    assert b"".join(c.data for c in chunks) == b"hello servicer"
    deleted = grpc_stub.DeleteFile(files_pb2.DeleteFileRequest(file_id=created.id))
    assert (deleted.id, deleted.deleted) == (created.id, True)
    with pytest.raises(grpc.RpcError) as failure:
        grpc_stub.RetrieveFile(files_pb2.RetrieveFileRequest(file_id=created.id))
    assert failure.value.code() == grpc.StatusCode.NOT_FOUND


def test_missing_init_is_invalid_argument(grpc_stub):
    with pytest.raises(grpc.RpcError) as failure:
        grpc_stub.UploadFile(iter([files_pb2.UploadFileChunk(data=b"x")]))
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_list_pages_with_tokens(grpc_stub):
    made = {_upload(grpc_stub, f"page{i}", b"x" * i).id for i in range(5)}
    seen = []
    request = files_pb2.ListFilesRequest(limit=2, sort_by=files_pb2.FILES_SORT_BY_SIZE)
    while True:
        page = grpc_stub.ListFiles(request)
        seen.extend(f.id for f in page.data)
        if not page.HasField("pagination_token"):
            break
        request.pagination_token = page.pagination_token
    assert made <= set(seen) and len(seen) == len(set(seen))
