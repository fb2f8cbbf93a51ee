"""Server wiring: binding rules (port taken, loopback only), bounded concurrency, keepalive, graceful stop."""

from __future__ import annotations

import socket
import threading

import grpc
import pytest

from tests.support.constants import MIB, TEST_KEY
from tests.support.raw_grpc import Files, data, init, status_of
from xai_files_cli._pb import files_pb2, files_pb2_grpc, models_pb2_grpc
from xai_files_cli.emulator import embedded
from xai_files_cli.emulator.faults import FaultPlan
from xai_files_cli.emulator.server import BindError, ServerConfig, server_options, start_server
from xai_files_cli.errors import InternalError, UsageError
from xai_files_cli.redact import redact
from xai_files_cli.security import is_loopback


def test_binding_a_taken_port_fails_loudly(server, tmp_path):
    """No SO_REUSEPORT sharing; the second server gets a clear error."""
    with pytest.raises(BindError, match="address in use"):
        start_server(ServerConfig(data_dir=tmp_path / "other", api_key="k"), port=server.port)


def test_binding_a_port_held_by_a_plain_socket_fails(tmp_path):
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    try:
        with pytest.raises(BindError):
            start_server(ServerConfig(data_dir=tmp_path, api_key="k"), port=holder.getsockname()[1])
    finally:
        holder.close()


def _a_plain_file(tmp_path):
    path = tmp_path / "plain-file"
    path.write_text("not a directory")
    return path


def _a_corrupt_database(tmp_path):
    path = tmp_path / "corrupt"
    path.mkdir()
    (path / "files.db").write_bytes(b"this is not an SQLite database, just some text. " * 4)
    return path


@pytest.mark.parametrize(
    ("make_dir", "error_class", "needle"),
    [(_a_plain_file, UsageError, "File exists"), (_a_corrupt_database, InternalError, "not a database")],
    ids=["data-dir-is-a-file", "corrupt-database"],
)
def test_an_unusable_data_dir_is_a_clear_error_not_a_traceback(tmp_path, make_dir, error_class, needle):
    data_dir = make_dir(tmp_path)
    with pytest.raises(error_class) as caught:
        start_server(ServerConfig(data_dir=data_dir, api_key="k"))
    assert str(data_dir) in caught.value.message and needle in caught.value.message


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.10", "::", "example.com"])
def test_non_loopback_needs_an_explicit_flag(tmp_path, host):
    """Loopback by default; anything else needs allow_non_loopback (`--allow-remote`)."""
    with pytest.raises(UsageError, match="non-loopback"):
        start_server(ServerConfig(data_dir=tmp_path, api_key="k"), host=host)


def test_non_loopback_needs_a_key(tmp_path):
    with pytest.raises(UsageError, match="API key is required"):
        start_server(ServerConfig(data_dir=tmp_path, api_key=None, allow_non_loopback=True), host="0.0.0.0")


def test_loopback_detection():
    assert all(map(is_loopback, ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost", "LOCALHOST"]))
    assert not any(map(is_loopback, ["0.0.0.0", "::", "10.0.0.1", "example.com", "localhost.evil"]))


def test_server_options_accept_sdk_clients():
    options = dict(server_options())
    # Requests are accepted a little above the 20 MiB limit, which the handlers enforce themselves.
    assert 20 * MIB < options["grpc.max_receive_message_length"] <= 24 * MIB
    assert options["grpc.max_send_message_length"] == 20 * MIB
    assert options["grpc.keepalive_permit_without_calls"] == 1
    assert options["grpc.http2.min_ping_interval_without_data_ms"] <= 30_000
    assert options["grpc.http2.max_ping_strikes"] == 0
    assert options["grpc.so_reuseport"] == 0


@pytest.mark.slow
def test_aggressive_keepalive_pings_do_not_get_goaway(server):
    """A client pinging far more often than the SDK's 30 s stays connected (no too_many_pings GOAWAY)."""
    channel = grpc.insecure_channel(
        server.target,
        options=[
            ("grpc.keepalive_time_ms", 100),
            ("grpc.keepalive_timeout_ms", 1000),
            ("grpc.keepalive_permit_without_calls", 1),
            ("grpc.http2.max_pings_without_data", 0),
        ],
    )
    stub = files_pb2_grpc.FilesStub(channel)
    metadata = [("authorization", f"Bearer {TEST_KEY}")]
    stub.ListFiles(files_pb2.ListFilesRequest(), metadata=metadata)
    states: list[grpc.ChannelConnectivity] = []
    channel.subscribe(states.append)
    # Idle on purpose: a server with gRPC's default policy sends GOAWAY too_many_pings after ~4.7 s
    # (three pings 1 s apart count as strikes); ours must not.
    threading.Event().wait(5.5)
    stub.ListFiles(files_pb2.ListFilesRequest(), metadata=metadata)
    channel.close()
    assert states == [grpc.ChannelConnectivity.READY]  # never IDLE/CONNECTING: no GOAWAY


def test_excess_concurrent_calls_get_resource_exhausted(make_server):
    """With the maximum of calls in flight the next one is refused at once, never queued."""
    plan = FaultPlan()  # no faults: it only counts the calls the server accepted
    _, client = make_server(max_concurrent_rpcs=2, faults=plan)
    release = threading.Event()

    def slow_upload():
        yield init("slow.bin")
        release.wait(10)
        yield data(b"x")

    futures = [client.stub.UploadFile.future(slow_upload(), metadata=client.metadata) for _ in range(2)]
    # Both calls must be running on the server (not merely sent) before the third one is tried.
    assert plan.wait_for(lambda p: p.calls("UploadFile") == 2, timeout=10)
    try:
        assert status_of(client.list) == grpc.StatusCode.RESOURCE_EXHAUSTED
    finally:
        release.set()
    assert [f.result(timeout=10).size for f in futures] == [1, 1]
    assert len(client.list().data) == 2  # capacity is back


def test_stop_with_grace_lets_in_flight_calls_finish_and_refuses_new_ones(make_server):
    running, client = make_server()
    created = client.upload("big.bin", b"q" * (9 * MIB))
    stream = client.stub.RetrieveFileContent(
        files_pb2.RetrieveFileContentRequest(file_id=created.id), metadata=client.metadata
    )
    first = next(stream)
    # The grace only bounds the wait: stop returns once the download is done, however busy the machine.
    stopper = threading.Thread(target=running.stop, kwargs={"grace": 30.0})
    stopper.start()
    rest = b"".join(chunk.data for chunk in stream)
    stopper.join(60)
    assert len(first.data) + len(rest) == 9 * MIB
    assert status_of(client.list) == grpc.StatusCode.UNAVAILABLE
    running.stop()  # idempotent


def test_extra_services_are_registered_when_present(server):
    """Chat/Models come from chat_service.register when that module exists; Files is always there."""
    try:
        import xai_files_cli.emulator.chat_service  # noqa: F401
    except ModuleNotFoundError:
        pytest.skip("chat_service not written yet")
    channel = grpc.insecure_channel(server.target)
    stub = models_pb2_grpc.ModelsStub(channel)
    from google.protobuf.empty_pb2 import Empty

    response = stub.ListLanguageModels(Empty(), metadata=[("authorization", f"Bearer {TEST_KEY}")])
    assert len(response.models) >= 1
    channel.close()


def test_embedded_server_uses_a_private_key_and_the_default_data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("XAI_DATA_DIR", str(tmp_path / "local"))
    assert embedded.default_data_dir() == tmp_path / "local"
    running = embedded.start_embedded()
    try:
        assert running.data_dir == tmp_path / "local"
        assert running.target == f"127.0.0.1:{running.port}"
        assert running.api_key and len(running.api_key) > 30
        assert running.api_key not in redact(f"key={running.api_key}")
        client = Files(running.target, running.api_key)
        assert client.upload("a.txt", b"hi").size == 2
        assert status_of(lambda: Files(running.target, "wrong").list()) == grpc.StatusCode.UNAUTHENTICATED
        client.close()
    finally:
        running.stop()
    again = embedded.start_embedded()  # a new key, the same files
    try:
        assert [f.filename for f in Files(again.target, again.api_key).list().data] == ["a.txt"]
    finally:
        again.stop()


def test_default_data_dir_without_env(monkeypatch, tmp_path):
    monkeypatch.delenv("XAI_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert embedded.default_data_dir() == tmp_path / "xai" / "local-server"


def test_embedded_server_honours_the_fault_env(monkeypatch, tmp_path):
    monkeypatch.setenv("XAI_EMULATOR_FAULTS", "ListFiles:fail:code=INTERNAL")
    running = embedded.start_embedded(tmp_path / "local")
    try:
        client = Files(running.target, running.api_key)
        assert status_of(client.list) == grpc.StatusCode.INTERNAL
        assert list(client.list().data) == []
        assert running.faults.calls("ListFiles") == 2
        client.close()
    finally:
        running.stop()


def test_reprs_never_show_the_key(server, tmp_path):
    assert TEST_KEY not in repr(server)
    assert server.target in repr(server)
    assert TEST_KEY not in repr(ServerConfig(data_dir=tmp_path, api_key=TEST_KEY))
