"""core.channel: target parsing, loopback vs TLS, plaintext refusal, auth on every call kind."""

from __future__ import annotations

import json
import socket
import threading

import grpc
import pytest

from tests.support.constants import TEST_KEY
from xai_files_cli.core import channel as channel_mod
from xai_files_cli.core.channel import SERVICE_CONFIG, Endpoint, connect, parse_target, target_of
from xai_files_cli.core.files import FilesClient
from xai_files_cli.errors import AuthError, InternalError, UsageError


@pytest.mark.parametrize(
    ("text", "host", "port", "target"),
    [
        ("api.x.ai", "api.x.ai", 443, "api.x.ai:443"),
        ("api.x.ai:8443", "api.x.ai", 8443, "api.x.ai:8443"),
        ("localhost:50051", "localhost", 50051, "localhost:50051"),
        ("[::1]:9000", "::1", 9000, "[::1]:9000"),
        ("[::1]", "::1", 443, "[::1]:443"),
        ("::1", "::1", 443, "[::1]:443"),
        ("https://api.x.ai/", "api.x.ai", 443, "api.x.ai:443"),
        ("http://127.0.0.1:7000", "127.0.0.1", 7000, "127.0.0.1:7000"),
    ],
)
def test_parse_target(text: str, host: str, port: int, target: str) -> None:
    endpoint = parse_target(text)
    assert (endpoint.host, endpoint.port, endpoint.target) == (host, port, target)


@pytest.mark.parametrize("text", ["", "host:0", "host:99999", "host:abc", "[::1", "a/b:1", "http://"])
def test_parse_target_rejects_malformed(text: str) -> None:
    with pytest.raises(UsageError):
        parse_target(text)


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("localhost", True),
        ("LOCALHOST", True),
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("api.x.ai", False),
        ("10.0.0.1", False),
        ("localhost.evil.com", False),
        ("127.0.0.1.nip.io", False),
    ],
)
def test_loopback_detection(host: str, loopback: bool) -> None:
    assert Endpoint(host=host, port=1).is_loopback is loopback


def test_plaintext_to_a_remote_host_is_refused_before_any_byte() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    # The refusal is decided on the host name alone, so nothing is ever dialled.
    with pytest.raises(UsageError, match=r"refusing to send API key over plaintext to api\.x\.ai"):
        connect("http://api.x.ai:80", TEST_KEY)
    with pytest.raises(UsageError, match=r"plaintext to 10\.1\.2\.3"):
        connect("10.1.2.3:80", TEST_KEY, insecure=True)
    listener.settimeout(0.2)
    with pytest.raises(TimeoutError):
        listener.accept()
    listener.close()


def test_remote_hosts_get_tls_and_loopback_gets_local_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    used: list[str] = []
    real_ssl, real_local = grpc.ssl_channel_credentials, grpc.local_channel_credentials
    monkeypatch.setattr(grpc, "ssl_channel_credentials", lambda **kw: used.append("tls") or real_ssl(**kw))
    monkeypatch.setattr(
        grpc, "local_channel_credentials", lambda kind: used.append("local") or real_local(kind)
    )
    for target in ("api.x.ai", "127.0.0.1:1", "localhost:1", "[::1]:1", "https://localhost:1"):
        connect(target, TEST_KEY).close()
    assert used == ["tls", "local", "local", "local", "tls"]


def test_empty_key_is_an_auth_error() -> None:
    with pytest.raises(AuthError):
        connect("127.0.0.1:1", "  ")


def test_retry_policy_covers_reads_but_never_upload() -> None:
    names = SERVICE_CONFIG["methodConfig"][0]["name"]
    methods = {(n["service"], n.get("method")) for n in names}
    assert ("xai_api.Files", "ListFiles") in methods
    assert ("xai_api.Files", "RetrieveFileContent") in methods
    assert ("xai_api.Models", None) in methods
    assert not any(method == "UploadFile" for _, method in methods)
    policy = SERVICE_CONFIG["methodConfig"][0]["retryPolicy"]
    assert policy["maxAttempts"] == 5
    assert policy["retryableStatusCodes"] == ["UNAVAILABLE"]
    json.dumps(SERVICE_CONFIG)  # must be valid JSON for grpc.service_config


def test_options_follow_the_sdk() -> None:
    options = dict(channel_mod.channel_options("xai-cli/test"))
    assert options["grpc.max_receive_message_length"] == 20 * 1024 * 1024
    assert options["grpc.max_send_message_length"] == 20 * 1024 * 1024
    assert options["grpc.keepalive_time_ms"] == 30_000
    assert options["grpc.keepalive_permit_without_calls"] == 1
    assert options["grpc.primary_user_agent"] == "xai-cli/test"


def test_key_is_sent_on_unary_streaming_and_client_streaming_calls(server) -> None:
    # The emulator answers UNAUTHENTICATED to any call without the exact bearer key.
    channel = connect(server.target, TEST_KEY)
    client = FilesClient(channel)
    import io

    info = client.upload(io.BytesIO(b"abc"), name="a.txt", size=3)  # client-streaming
    assert client.get(info.id).size == 3  # unary
    from xai_files_cli.core.transfer import StreamSink

    sink_buffer = io.BytesIO()
    client.download(info.id, StreamSink(sink_buffer))  # server-streaming
    assert sink_buffer.getvalue() == b"abc"
    channel.close()


def test_user_agent_is_ours_and_unimplemented_is_reported() -> None:
    seen: list[str] = []
    done = threading.Event()

    class Spy(grpc.ServerInterceptor):
        def intercept_service(self, continuation, details):
            seen.append(dict(details.invocation_metadata).get("user-agent", ""))
            done.set()
            return continuation(details)

    from concurrent import futures

    from xai_files_cli._pb import files_pb2_grpc

    spy = grpc.server(futures.ThreadPoolExecutor(2), interceptors=[Spy()])
    files_pb2_grpc.add_FilesServicer_to_server(files_pb2_grpc.FilesServicer(), spy)
    port = spy.add_insecure_port("127.0.0.1:0")
    spy.start()
    channel = connect(f"127.0.0.1:{port}", TEST_KEY, user_agent="xai-cli/9.9")
    # The bare servicer answers UNIMPLEMENTED, which the CLI reports as exit 1 ("not supported").
    with pytest.raises(InternalError, match="get file_x: not supported by this server") as caught:
        FilesClient(channel).get("file_x")
    assert caught.value.status == "UNIMPLEMENTED"
    assert done.wait(5)
    assert seen[0].startswith("xai-cli/9.9 ")
    channel.close()
    spy.stop(0)


def test_target_of_names_the_dialled_address() -> None:
    channel = connect("localhost:4567", TEST_KEY)
    assert target_of(channel) == "localhost:4567"
    channel.close()


def test_close_never_hangs_the_process(monkeypatch: pytest.MonkeyPatch) -> None:
    channel = connect("127.0.0.1:1", TEST_KEY)
    stuck = threading.Event()

    class StuckInner:
        def close(self) -> None:  # what grpc does after a badly timed Ctrl-C
            stuck.wait(10)

    real_inner = channel._inner  # type: ignore[attr-defined]
    monkeypatch.setattr(channel, "_inner", StuckInner())
    monkeypatch.setattr(channel_mod.XaiChannel, "CLOSE_WAIT", 0.05)
    channel.close()  # returns although the inner close is still blocked
    stuck.set()
    real_inner.close()
