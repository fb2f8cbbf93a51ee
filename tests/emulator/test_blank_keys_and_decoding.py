"""A blank key is no key, and a request that does not decode is bad input (INVALID_ARGUMENT).

`xai serve` refuses a whitespace-only key from the flag or the environment, with or without
--allow-remote; the server itself refuses to start with one, so `Bearer` plus spaces never
authenticates. A request message with bytes that are not valid UTF-8 in a string field (a raw
client sending a non-UTF-8 filename), or that is not protobuf at all, gets INVALID_ARGUMENT for
every kind of method, stores nothing, and an unauthenticated one still gets UNAUTHENTICATED.
"""

from __future__ import annotations

from collections.abc import Callable

import grpc
import pytest
from google.protobuf.message import Message

from tests.support.emulator import ServeProcess, disk_state, run_serve
from tests.support.raw_grpc import Files, error_of
from xai_files_cli._pb import chat_pb2, files_pb2
from xai_files_cli.emulator.auth import AuthInterceptor
from xai_files_cli.emulator.server import ServerConfig, start_server
from xai_files_cli.errors import UsageError

NOT_UTF8 = b"\xff\xfe bad \xc3("


@pytest.mark.parametrize(
    ("args", "env_key", "needle"),
    [
        (["--api-key", "   "], None, "--api-key is blank"),
        (["--api-key", ""], "a-real-key-from-env", "--api-key is blank"),
        ([], " \t ", "no API key for clients to present"),
        (["--host", "0.0.0.0", "--allow-remote", "--api-key", "  "], None, "--api-key is blank"),
        (["--host", "0.0.0.0", "--allow-remote"], "   ", "no API key for clients to present"),
    ],
    ids=["flag", "empty flag", "env", "remote flag", "remote env"],
)
def test_serve_refuses_a_blank_key(tmp_path, args, env_key, needle):
    result = run_serve("--port", "0", "--data-dir", str(tmp_path / "d"), *args, key=env_key)
    assert result.returncode == 2, result.stderr
    assert needle in result.stderr
    assert result.stderr.count("\n") == 1


def test_serve_strips_the_key_like_clients_do(tmp_path):
    serve = ServeProcess(tmp_path / "d", "--api-key", "  spaced-key-1234  ", key="spaced-key-1234")
    try:
        client = serve.client()
        assert list(client.list().data) == []
        client.close()
    finally:
        serve.kill()


@pytest.mark.parametrize("key", ["", " ", "\t \n"])
def test_a_blank_key_is_refused_and_bearer_with_spaces_never_authenticates(tmp_path, server, key):
    with pytest.raises(UsageError, match="the API key is blank"):
        start_server(ServerConfig(data_dir=tmp_path / "d", api_key=key))
    with pytest.raises(ValueError, match="the API key is blank"):
        AuthInterceptor(key)
    intruder = Files(server.target, None)
    try:
        for value in ("Bearer ", "Bearer    ", "Bearer"):
            intruder.metadata = [("authorization", value)]
            assert error_of(intruder.list).code() == grpc.StatusCode.UNAUTHENTICATED
    finally:
        intruder.close()


# -- undecodable requests --------------------------------------------------------------------------


def _with_raw_string(build: Callable[[str], Message], raw: bytes) -> bytes:
    """The wire form of `build(s)` with the string `s` replaced by `raw` bytes of the same length
    (protobuf itself refuses to build a message with a string that is not UTF-8)."""
    placeholder = "N" * len(raw)
    return build(placeholder).SerializeToString().replace(placeholder.encode(), raw)


def _upload_init(name: str) -> Message:
    return files_pb2.UploadFileChunk(init=files_pb2.UploadFileInit(name=name))


def _raw(channel: grpc.Channel, method: str, kind: str) -> Callable[..., object]:
    """A callable for `method` that sends and receives raw bytes."""
    return getattr(channel, kind)(method, request_serializer=None, response_deserializer=None)


def test_a_non_utf8_filename_is_invalid_argument_and_stores_nothing(server, files):
    upload = _raw(files.channel, "/xai_api.Files/UploadFile", "stream_unary")
    messages = [
        _with_raw_string(_upload_init, NOT_UTF8),
        files_pb2.UploadFileChunk(data=b"x").SerializeToString(),
    ]
    error = error_of(lambda: upload(iter(messages), metadata=files.metadata, timeout=10))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error.details()
    assert "xai_api.UploadFileChunk" in error.details() and "UTF-8" in error.details()
    assert files.list().data == []
    assert disk_state(server.data_dir) == (set(), set())
    assert files.upload("fine.txt", b"ok").filename == "fine.txt"  # the server is unharmed


METHODS = [
    ("/xai_api.Files/UploadFile", "stream_unary", _upload_init),
    ("/xai_api.Files/ListFiles", "unary_unary", lambda s: files_pb2.ListFilesRequest(filter=s)),
    ("/xai_api.Files/RetrieveFile", "unary_unary", lambda s: files_pb2.RetrieveFileRequest(file_id=s)),
    (
        "/xai_api.Files/RetrieveFileContent",
        "unary_stream",
        lambda s: files_pb2.RetrieveFileContentRequest(file_id=s),
    ),
    ("/xai_api.Chat/GetCompletion", "unary_unary", lambda s: chat_pb2.GetCompletionsRequest(model=s)),
    ("/xai_api.Chat/GetCompletionChunk", "unary_stream", lambda s: chat_pb2.GetCompletionsRequest(model=s)),
]


@pytest.mark.parametrize(("method", "kind", "build"), METHODS, ids=[m[0].rsplit("/", 1)[1] for m in METHODS])
@pytest.mark.parametrize("damage", ["not UTF-8", "not protobuf"])
def test_undecodable_requests_are_invalid_argument_for_every_kind(server, files, method, kind, build, damage):
    body = _with_raw_string(build, NOT_UTF8) if damage == "not UTF-8" else b"\xff\xff\xff"
    call = _raw(files.channel, method, kind)

    def invoke(metadata: list[tuple[str, str]]) -> object:
        argument = iter([body]) if kind == "stream_unary" else body
        result = call(argument, metadata=metadata, timeout=10)
        return list(result) if kind == "unary_stream" else result  # type: ignore[call-overload]

    error = error_of(lambda: invoke(files.metadata))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error.details()
    assert "cannot be decoded" in error.details()
    anonymous = error_of(lambda: invoke([("authorization", "Bearer wrong")]))
    assert anonymous.code() == grpc.StatusCode.UNAUTHENTICATED
