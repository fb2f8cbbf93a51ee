"""How a batch upload (grpc.aio) carries the API key: as per-call metadata, with no thread per call,
only over a transport that keeps it on this machine or encrypted (local credentials or TLS)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.constants import TEST_KEY
from tests.support.emulator import Emulators
from tests.support.tls import TlsCerts
from xai_files_cli.core.channel import DialSettings, connect
from xai_files_cli.core.files import FilesClient
from xai_files_cli.core.records import UploadItem
from xai_files_cli.errors import UsageError


def _small_files(folder: Path, count: int) -> list[UploadItem]:
    folder.mkdir()
    items = []
    for index in range(count):
        path = folder / f"k{index}.txt"
        path.write_bytes(b"k" * (index + 1))
        items.append(UploadItem(path))
    return items


@pytest.fixture
def thread_starts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the threads the client starts in this process while the test runs."""
    started: list[str] = []
    original = threading.Thread.start

    def counting_start(thread: threading.Thread) -> None:
        if not thread.name.startswith("xai-emulator"):  # the server's threads are not the client's
            started.append(thread.name)
        original(thread)

    monkeypatch.setattr(threading.Thread, "start", counting_start)
    return started


@pytest.mark.parametrize("transport", ["local", "tls"])
def test_batch_sends_the_key_on_local_and_tls_channels_without_a_thread_per_call(
    transport: str,
    tmp_path: Path,
    emulators: Emulators,
    tls_certs: TlsCerts,
    thread_starts: list[str],
) -> None:
    # The emulator answers UNAUTHENTICATED to any call without the exact bearer key.
    if transport == "tls":
        cert, key = tls_certs.pair()
        running = emulators.start(point_cli=False, host="localhost", tls_cert=cert, tls_key=key)
        channel = connect(f"localhost:{running.port}", TEST_KEY, ca_cert=tls_certs.ca.read_bytes())
    else:
        running = emulators.start(point_cli=False)
        channel = connect(running.target, TEST_KEY)
    items = _small_files(tmp_path / "small", 30)
    try:
        thread_starts.clear()
        results = FilesClient(channel).batch_upload(items, concurrency=8)
    finally:
        channel.close()
    assert all(r.ok for r in results), [r.error for r in results]
    assert running.faults is not None and running.faults.calls("UploadFile") == 30
    # Call credentials would start one thread per call to attach the key; metadata needs none.
    assert len(thread_starts) <= 2, thread_starts


def _address_off_loopback() -> str:
    """An IPv4 address of this machine that is not loopback (the test skips without one)."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("192.0.2.1", 9))  # a UDP connect only picks a route: nothing is sent
        address = probe.getsockname()[0]
    except OSError:
        address = ""
    finally:
        probe.close()
    if not address or address.startswith("127."):
        pytest.skip("no network interface besides loopback")
    return address


class Listener:
    """A raw TCP listener that records the first bytes each connection sends, then hangs up."""

    def __init__(self, host: str) -> None:
        self.host = host
        self.socket = socket.create_server((host, 0))
        self.port = self.socket.getsockname()[1]
        self.socket.settimeout(0.05)  # so that `close` is seen soon
        self.received: list[bytes] = []
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._closed.is_set():
            try:
                peer, _ = self.socket.accept()
            except OSError:  # a timeout: look at `_closed` again
                continue
            with peer:
                peer.settimeout(2)
                try:
                    self.received.append(peer.recv(65536))
                except OSError:
                    self.received.append(b"")

    def close(self) -> None:
        self._closed.set()
        self._thread.join(5)
        self.socket.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    running = Listener(_address_off_loopback())
    yield running
    running.close()


def test_batch_never_sends_the_key_in_plaintext_off_this_machine(listener: Listener, tmp_path: Path) -> None:
    target = f"{listener.host}:{listener.port}"
    # Plaintext to a host that is not loopback is refused before anything is dialled.
    for settings in (
        DialSettings(f"http://{target}", TEST_KEY),
        DialSettings(target, TEST_KEY, insecure=True),
    ):
        with pytest.raises(UsageError, match="refusing to send API key over plaintext"):
            settings.open_aio()
    with pytest.raises(UsageError, match="refusing to send API key over plaintext"):
        connect(target, TEST_KEY, insecure=True)
    assert listener.received == []
    # Without a scheme, that host gets TLS: what reaches it is a TLS handshake, never the key.
    channel = connect(target, TEST_KEY, call_timeout=3)
    try:
        results = FilesClient(channel, timeout=3).batch_upload(_small_files(tmp_path / "one", 1))
    finally:
        channel.close()
    assert not results[0].ok
    assert listener.received, "the client never connected"
    assert all(data[:1] == b"\x16" for data in listener.received if data)  # a TLS handshake record
    assert not any(TEST_KEY.encode() in data for data in listener.received)
