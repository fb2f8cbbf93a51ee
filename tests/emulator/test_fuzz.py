"""Random ids, tokens, filters and raw request bytes only ever get defined status codes."""

from __future__ import annotations

import grpc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.constants import TEST_KEY
from xai_files_cli._pb import files_pb2
from xai_files_cli.emulator.filters import FilterError, compile_filter
from xai_files_cli.emulator.pagination import TokenError, decode

FIXTURE_OK = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
DESERIALIZE_FAILURE = "Exception deserializing request!"
METHODS = {
    "/xai_api.Files/ListFiles": "unary",
    "/xai_api.Files/RetrieveFile": "unary",
    "/xai_api.Files/DeleteFile": "unary",
    "/xai_api.Files/CreatePublicUrl": "unary",
    "/xai_api.Files/RevokePublicUrl": "unary",
    "/xai_api.Files/RetrieveFileContent": "stream",
    "/xai_api.Files/UploadFile": "client_stream",
}
filter_alphabet = st.sampled_from(
    [*'()"=!<> \\', "AND ", "OR ", "NOT ", "null", "name", "size_bytes", "created_at", "1", "-", "a", "é"]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(filter_alphabet, max_size=30).map("".join) | st.text(max_size=60))
def test_filter_parser_only_raises_filter_error(text):
    try:
        compiled = compile_filter(text, 0)
    except FilterError:
        return
    assert compiled.sql.count("?") == len(compiled.params)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80) | st.binary(max_size=80).map(lambda b: "p1." + b.hex()))
def test_token_decoder_only_raises_token_error(token):
    with pytest.raises(TokenError):
        decode(token, sort="created_at", descending=False, filter_text=None)


@FIXTURE_OK
@given(file_id=st.text(max_size=100))
def test_random_ids_are_not_found(files, file_id):
    for call in (files.get, files.delete, files.content):
        with pytest.raises(grpc.RpcError) as failure:
            call(file_id)
        assert failure.value.code() == grpc.StatusCode.NOT_FOUND


@FIXTURE_OK
@given(
    token=st.text(min_size=1, max_size=100), filter_text=st.lists(filter_alphabet, max_size=12).map("".join)
)
def test_random_tokens_and_filters_are_ok_or_invalid_argument(files, token, filter_text):
    for request in ({"pagination_token": token}, {"filter": filter_text}):
        try:
            files.list(**request)
        except grpc.RpcError as error:
            assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, (request, error.details())


def _raw_call(channel: grpc.Channel, method: str, kind: str, payload: bytes):
    metadata = [("authorization", f"Bearer {TEST_KEY}")]
    identity = {"request_serializer": None, "response_deserializer": None}
    if kind == "unary":
        return channel.unary_unary(method, **identity)(payload, metadata=metadata, timeout=10)
    if kind == "stream":
        return list(channel.unary_stream(method, **identity)(payload, metadata=metadata, timeout=10))
    return channel.stream_unary(method, **identity)(iter([payload, payload]), metadata=metadata, timeout=10)


@FIXTURE_OK
@given(method=st.sampled_from(sorted(METHODS)), payload=st.binary(max_size=200))
def test_random_request_bytes_get_defined_codes(server, files, method, payload):
    """Arbitrary bytes as serialized requests; only well-defined outcomes, never UNKNOWN."""
    try:
        _raw_call(files.channel, method, METHODS[method], payload)
    except grpc.RpcError as error:
        code = error.code()
        if code == grpc.StatusCode.INTERNAL:
            assert error.details() == DESERIALIZE_FAILURE  # gRPC's own parse failure, not ours
        else:
            assert code in {
                grpc.StatusCode.INVALID_ARGUMENT,
                grpc.StatusCode.NOT_FOUND,
                grpc.StatusCode.RESOURCE_EXHAUSTED,
            }, (code, error.details())


def test_valid_messages_through_the_raw_path_work(files):
    """The raw-bytes helper above really reaches the handlers (so the fuzz test can fail)."""
    created = files.upload("a.txt", b"abc")
    request = files_pb2.RetrieveFileRequest(file_id=created.id).SerializeToString()
    raw = _raw_call(files.channel, "/xai_api.Files/RetrieveFile", "unary", request)
    assert files_pb2.File.FromString(raw).id == created.id
