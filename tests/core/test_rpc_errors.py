"""core.rpc: every status code maps to the documented error class, message and exit code; retries."""

from __future__ import annotations

import time

import grpc
import pytest

from tests.support.processes import unused_port
from tests.support.raw_grpc import FakeRpcError
from xai_files_cli.core.channel import connect
from xai_files_cli.core.files import FilesClient
from xai_files_cli.core.rpc import error_from_rpc, never_reached_server, translate
from xai_files_cli.errors import (
    AuthError,
    InternalError,
    NotFoundError,
    RejectedError,
    UnavailableError,
    XaiError,
)

S = grpc.StatusCode


@pytest.mark.parametrize(
    ("code", "cls", "exit_code"),
    [
        (S.UNAUTHENTICATED, AuthError, 3),
        (S.PERMISSION_DENIED, AuthError, 3),
        (S.NOT_FOUND, NotFoundError, 4),
        (S.INVALID_ARGUMENT, RejectedError, 5),
        (S.FAILED_PRECONDITION, RejectedError, 5),
        (S.OUT_OF_RANGE, RejectedError, 5),
        (S.RESOURCE_EXHAUSTED, RejectedError, 5),
        (S.ALREADY_EXISTS, RejectedError, 5),
        (S.UNAVAILABLE, UnavailableError, 6),
        (S.DEADLINE_EXCEEDED, UnavailableError, 6),
        (S.UNIMPLEMENTED, InternalError, 1),
        (S.INTERNAL, InternalError, 1),
        (S.UNKNOWN, InternalError, 1),
        (S.DATA_LOSS, InternalError, 1),
        (S.CANCELLED, InternalError, 1),
    ],
)
def test_status_mapping(code: grpc.StatusCode, cls: type[XaiError], exit_code: int) -> None:
    error = error_from_rpc(FakeRpcError(code, "server said so"), "list files")
    assert type(error) is cls
    assert int(error.exit_code) == exit_code
    assert error.status == code.name


def test_message_keeps_operation_and_server_text() -> None:
    error = error_from_rpc(FakeRpcError(S.INVALID_ARGUMENT, "bad name ';'"), "upload a;b", file_id="f1")
    assert error.message == "upload a;b: bad name ';'"
    assert error.file_id == "f1"


def test_auth_errors_carry_the_login_hint() -> None:
    error = error_from_rpc(FakeRpcError(S.UNAUTHENTICATED, "invalid key"), "list files")
    assert error.hint == "run `xai auth login`, set XAI_API_KEY, or use --local"


def test_deadline_hint_mentions_timeout() -> None:
    error = error_from_rpc(FakeRpcError(S.DEADLINE_EXCEEDED, "Deadline Exceeded"), "get f", timeout=2)
    assert error.message == "get f: timed out after 2 s"
    assert "--timeout" in (error.hint or "")


def test_connection_refused_names_the_target() -> None:
    details = "failed to connect to all addresses; last error: ipv4:127.0.0.1:9: Connection refused"
    raw = FakeRpcError(S.UNAVAILABLE, details)
    error = error_from_rpc(raw, "list files", target="127.0.0.1:9", attempts=5)
    assert (
        error.message
        == "list files: cannot connect to 127.0.0.1:9: connection refused; gave up after 5 attempts"
    )
    assert never_reached_server(raw)
    assert not never_reached_server(FakeRpcError(S.UNAVAILABLE, "injected fault"))


def test_oversized_message_is_internal_not_rejected() -> None:
    raw = FakeRpcError(S.RESOURCE_EXHAUSTED, "Received message larger than max (30000000 vs. 20971520)")
    error = error_from_rpc(raw, "download f")
    assert isinstance(error, InternalError)
    assert "message too large" in error.message


def test_translate_reraises_as_domain_error() -> None:
    with pytest.raises(NotFoundError, match="get x: gone"), translate("get x"):
        raise FakeRpcError(S.NOT_FOUND, "gone")


# -- against a real emulator ------------------------------------------------------------------------
def test_server_down_fails_fast_with_target(tmp_path) -> None:
    port = unused_port()
    channel = connect(f"127.0.0.1:{port}", "xai-whatever")
    started = time.monotonic()
    with pytest.raises(UnavailableError) as caught:
        FilesClient(channel).get("file_x")
    assert time.monotonic() - started < 10
    assert f"cannot connect to 127.0.0.1:{port}" in caught.value.message
    assert caught.value.status == "UNAVAILABLE"
    assert not list(tmp_path.iterdir())  # nothing local created or touched
    channel.close()


@pytest.mark.usefixtures("fast_retries")
def test_transient_unavailable_is_retried_transparently(faulty_client) -> None:
    server, client = faulty_client("ListFiles:fail:times=3", "RetrieveFile:fail:times=2")
    assert list(client.iter_files()) == []
    assert server.faults.calls("ListFiles") == 4  # 3 failures + the successful attempt
    with pytest.raises(NotFoundError):
        client.get("file_missing")
    assert server.faults.calls("RetrieveFile") == 3


@pytest.mark.usefixtures("fast_retries")
def test_persistent_unavailable_gives_up_after_five_attempts(faulty_client) -> None:
    server, client = faulty_client("ListFiles:fail:times=0")
    with pytest.raises(UnavailableError, match="gave up after 5 attempts"):
        list(client.iter_files())
    assert server.faults.calls("ListFiles") == 5


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        ("INVALID_ARGUMENT", RejectedError),
        ("NOT_FOUND", NotFoundError),
        ("PERMISSION_DENIED", AuthError),
        ("UNAUTHENTICATED", AuthError),
        ("FAILED_PRECONDITION", RejectedError),
    ],
)
def test_non_retryable_codes_are_tried_once(faulty_client, code: str, cls: type[XaiError]) -> None:
    server, client = faulty_client(f"ListFiles:fail:code={code},times=0,message=nope \x1b[31m")
    with pytest.raises(cls) as caught:
        list(client.iter_files())
    assert server.faults.calls("ListFiles") == 1  # exactly one attempt
    assert caught.value.status == code
    assert caught.value.message == "list files: nope \x1b[31m"  # escaped later, at the terminal


def test_special_status_message_survives(faulty_client) -> None:
    _, client = faulty_client("RetrieveFile:fail:code=INTERNAL,message=  ünïcödé ✓ \t tab")
    with pytest.raises(InternalError) as caught:
        client.get("file_x")
    assert caught.value.message == "get file_x:   ünïcödé ✓ \t tab"  # kept intact, whitespace and all
