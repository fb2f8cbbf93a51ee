"""The connect timeout: seconds for a slow handshake, within the call deadline, and named when it expires.

The end-to-end behaviour (a 100-400 ms round trip, a server that never answers) is in
tests/test_latency.py; these pin the channel options and the wording of gRPC's timeout messages.
"""

from __future__ import annotations

import grpc
import pytest

from tests.support.raw_grpc import FakeRpcError
from xai_files_cli.core import channel as channel_module
from xai_files_cli.core.rpc import CONNECT_TIMEOUT_HINT, error_from_rpc, never_reached_server
from xai_files_cli.errors import UnavailableError

S = grpc.StatusCode
PREFIX = "failed to connect to all addresses; last error: "


def test_the_connect_timeout_is_seconds_and_reconnects_stay_quick() -> None:
    options = dict(channel_module.channel_options("xai-cli/test"))
    assert options["grpc.min_reconnect_backoff_ms"] == 10_000  # gRPC's connect timeout
    assert options["grpc.initial_reconnect_backoff_ms"] == 200
    assert options["grpc.max_reconnect_backoff_ms"] == 2_000


@pytest.mark.parametrize(
    ("call_timeout", "expected"), [(None, 10.0), (60.0, 10.0), (8.0, 4.0), (3.0, 1.5), (0.1, 0.1)]
)
def test_connecting_gets_at_most_half_the_call_deadline(call_timeout: float | None, expected: float) -> None:
    assert channel_module.connect_timeout_for(call_timeout) == expected


def test_dial_settings_carry_the_deadline_to_the_aio_twin() -> None:
    channel = channel_module.connect("127.0.0.1:1", "xai-key", call_timeout=4.0)
    try:
        settings = channel_module.dial_settings(channel)
        assert settings is not None and settings.call_timeout == 4.0
    finally:
        channel.close()


@pytest.mark.parametrize(
    ("details", "cause"),
    [
        ("UNAVAILABLE: ipv4:127.0.0.1:9: Handshake read failed (Endpoint closing)", "the TLS handshake"),
        (
            "UNKNOWN: ipv4:127.0.0.1:9: connection attempt timed out before receiving SETTINGS frame",
            "the server did not complete the HTTP/2 set-up in time",
        ),
        ("UNKNOWN: ipv4:10.0.0.1:443: tcp connect: Timeout occurred", "no answer in time"),
    ],
)
def test_a_connect_timeout_is_named_as_such(details: str, cause: str) -> None:
    raw = FakeRpcError(S.UNAVAILABLE, PREFIX + details)
    error = error_from_rpc(raw, "list files", target="api.example:443", attempts=5)
    assert isinstance(error, UnavailableError)
    assert error.message.startswith("list files: cannot connect to api.example:443: connect timed out (")
    assert cause in error.message and "refused" not in error.message
    assert error.hint == CONNECT_TIMEOUT_HINT
    assert never_reached_server(raw)  # an upload may restart: no server saw it


def test_a_server_saying_timed_out_is_not_a_connect_timeout() -> None:
    error = error_from_rpc(FakeRpcError(S.UNAVAILABLE, "upstream timed out"), "get f", target="h:1")
    assert error.message == "get f: server unavailable: upstream timed out"


@pytest.mark.parametrize(
    ("details", "expected"),
    [
        ("UNAVAILABLE: ipv4:127.0.0.1:9: Connection refused", "cannot connect to h:1: connection refused"),
        (
            "UNAVAILABLE: ipv4:127.0.0.1:9: Handshake read failed (recvmsg:Connection reset by peer (104))",
            "TLS handshake with h:1 failed",
        ),
    ],
)
def test_refusals_and_resets_are_not_called_timeouts(details: str, expected: str) -> None:
    error = error_from_rpc(FakeRpcError(S.UNAVAILABLE, PREFIX + details), "get f", target="h:1")
    assert expected in error.message and "timed out" not in error.message
    assert error.hint is None
