"""A far-away server: every command over TLS through a loopback relay adding 100-400 ms per round trip.

The emulator serves TLS (a throw-away CA, tests/support/tls.py) behind `LatencyProxy`
(tests/support/latency_proxy.py), so connecting costs real round trips: TCP, the TLS handshake and
HTTP/2 settings. Every command must succeed with the default deadlines and without restarting an
upload; a server that accepts the TCP connection but never answers must be reported as a connect
timeout, not as "connection refused". These tests take a few seconds each by nature.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.cli import CliResult, run_xai
from tests.support.constants import TEST_KEY
from tests.support.emulator import Emulators, seed
from tests.support.latency_proxy import LatencyProxy
from tests.support.tls import TlsCerts
from xai_files_cli.core import channel as channel_module
from xai_files_cli.emulator.server import RunningServer

RESTART_NOTICE = "retrying from start"
TWO_MB = 2_000_000
Xai = Callable[..., CliResult]


@pytest.fixture
def far_server(emulators: Emulators, tls_certs: TlsCerts) -> RunningServer:
    """A TLS emulator on 127.0.0.1 that records its calls."""
    cert, key = tls_certs.pair()
    return emulators.start(point_cli=False, tls_cert=cert, tls_key=key)


@pytest.fixture
def through_proxy(
    far_server: RunningServer, tls_certs: TlsCerts, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., Xai]]:
    """`through_proxy(round_trip, jitter)` -> `xai(*args)` running the CLI through a fresh relay."""
    monkeypatch.setenv("XAI_API_KEY", TEST_KEY)
    proxies: list[LatencyProxy] = []

    def make(round_trip: float, jitter: float = 0.0) -> Xai:
        proxy = LatencyProxy(far_server.port, round_trip=round_trip, jitter=jitter, lifetime=60).start()
        proxies.append(proxy)

        def xai(*args: str, **io: object) -> CliResult:
            ca = str(tls_certs.ca)
            before = proxy.connections
            result = run_xai("--ca-cert", ca, "--api-host", proxy.target, *args, **io)  # type: ignore[arg-type]
            # One connection per invocation: the handshake fitted in the connect timeout the first time.
            assert proxy.connections - before == 1, (result, proxy.connections - before)
            return result

        return xai

    yield make
    for proxy in proxies:
        proxy.stop()


def ok(result: CliResult) -> CliResult:
    """`result`, after checking it succeeded without restarting anything."""
    assert result.code == 0, result
    assert RESTART_NOTICE not in result.stderr, result
    return result


def uploaded_id(result: CliResult) -> str:
    return json.loads(ok(result).stdout)["id"]


@pytest.mark.parametrize("round_trip", [0.1, 0.2, 0.4])
def test_upload_ls_and_cat_of_2_mb_survive_the_round_trip(
    round_trip: float, far_server: RunningServer, through_proxy, tmp_path: Path
) -> None:
    xai = through_proxy(round_trip)
    payload = bytes(range(256)) * (TWO_MB // 256) + b"tail"
    source = tmp_path / "big.bin"
    source.write_bytes(payload)
    file_id = uploaded_id(xai("files", "upload", str(source), "--json"))
    assert far_server.faults.calls("UploadFile") == 1  # one attempt: nothing restarted
    listed = json.loads(ok(xai("files", "ls", "--json")).stdout)
    assert [entry["id"] for entry in listed] == [file_id]
    copy = tmp_path / "copy.bin"
    ok(xai("files", "cat", file_id, "-o", str(copy)))
    assert copy.read_bytes() == payload


# -- every command at 200 +- 100 ms ----------------------------------------------------------------
def _upload(xai: Xai, server: RunningServer, tmp_path: Path) -> None:
    source = tmp_path / "big.bin"
    source.write_bytes(b"\x07" * TWO_MB)
    uploaded_id(xai("files", "upload", str(source), "--json"))
    assert server.faults.outcomes("UploadFile") == ["OK"]


def _batch_upload(xai: Xai, server: RunningServer, tmp_path: Path) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    for index in range(20):
        (folder / f"f{index:02}.txt").write_text(f"file {index}\n")
    (folder / "big.bin").write_bytes(b"\x01" * TWO_MB)
    results = ok(xai("files", "batch-upload", str(folder), "--json")).stdout.splitlines()
    assert len(results) == 21
    assert server.faults.outcomes("UploadFile") == ["OK"] * 21


def _ls(xai: Xai, server: RunningServer, tmp_path: Path) -> None:
    ids = {seed(server, f"n{index}.txt") for index in range(3)}
    assert {entry["id"] for entry in json.loads(ok(xai("files", "ls", "--json")).stdout)} == ids


def _get(xai: Xai, server: RunningServer, tmp_path: Path) -> None:
    file_id = seed(server, "meta.txt", b"12345")
    assert json.loads(ok(xai("files", "get", file_id, "--json")).stdout)["size"] == 5


def _cat(xai: Xai, server: RunningServer, tmp_path: Path) -> None:
    file_id = seed(server, "hello.txt", b"hello, far away\n")
    assert ok(xai("files", "cat", file_id)).stdout == "hello, far away\n"


def _rm(xai: Xai, server: RunningServer, tmp_path: Path) -> None:
    file_id = seed(server, "gone.txt")
    ok(xai("files", "rm", "--yes", file_id))
    assert server.storage.get(file_id) is None
    assert server.faults.outcomes("DeleteFile") == ["OK"]


def _share_unshare(xai: Xai, server: RunningServer, tmp_path: Path) -> None:
    file_id = seed(server, "public.png", b"\x89PNG\r\n\x1a\n" + bytes(16))
    url = json.loads(ok(xai("files", "share", file_id, "--json")).stdout)["public_url"]
    assert url.startswith("http://127.0.0.1:")  # public links are plain HTTP on loopback, even over TLS
    assert json.loads(ok(xai("files", "unshare", file_id, "--json")).stdout)["revoked"] is True


def _chat_file(xai: Xai, server: RunningServer, tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("The main risk is the late vendor.\nThe budget is on plan.\n")
    answer = ok(xai("chat", "What is the main risk?", "--file", str(notes)))
    assert "late vendor" in answer.stdout
    assert server.faults.outcomes("UploadFile") == ["OK"]
    [record], _ = server.storage.list_files()  # kept for the conversation, until it expires
    assert record.expires_at is not None and server.faults.calls("DeleteFile") == 0


def _models(xai: Xai, server: RunningServer, tmp_path: Path) -> None:
    assert json.loads(ok(xai("models", "--json")).stdout)


def _auth_status(xai: Xai, server: RunningServer, tmp_path: Path) -> None:
    ok(xai("auth", "status", "--json"))


COMMANDS = {
    "upload": _upload,
    "batch-upload": _batch_upload,
    "ls": _ls,
    "get": _get,
    "cat": _cat,
    "rm": _rm,
    "share-unshare": _share_unshare,
    "chat-file": _chat_file,
    "models": _models,
    "auth-status": _auth_status,
}


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_command_works_at_200_ms_with_jitter(
    command: str, far_server: RunningServer, through_proxy, tmp_path: Path
) -> None:
    """With 200 +- 100 ms per round trip and the default deadlines every command succeeds, no restarts."""
    COMMANDS[command](through_proxy(0.2, jitter=0.2), far_server, tmp_path)


# -- a server that accepts and never answers ---------------------------------------------------------
@pytest.fixture
def black_hole(tls_certs: TlsCerts, monkeypatch: pytest.MonkeyPatch) -> Iterator[Xai]:
    """`xai(*args)` against a TCP listener that never answers, with a 1 s connect timeout."""
    monkeypatch.setenv("XAI_API_KEY", TEST_KEY)
    monkeypatch.setattr(channel_module, "CONNECT_TIMEOUT", 1.0)
    with LatencyProxy(1, round_trip=0.0, answer=False, lifetime=30) as proxy:

        def xai(*args: str) -> CliResult:
            return run_xai("--ca-cert", str(tls_certs.ca), "--api-host", proxy.target, *args)

        yield xai


@pytest.mark.parametrize("command", [("files", "ls"), ("files", "upload", "SOURCE")])
def test_a_silent_server_is_a_connect_timeout_not_a_refusal(
    command: tuple[str, ...], black_hole: Xai, tmp_path: Path
) -> None:
    source = tmp_path / "small.txt"
    source.write_text("hi")
    started = time.monotonic()
    result = black_hole(*(str(source) if part == "SOURCE" else part for part in command))
    elapsed = time.monotonic() - started
    assert result.code == 6, result
    line = result.stderr.strip().splitlines()[-1]
    assert "connect timed out (the TLS handshake got no answer in time)" in line, result
    assert "refused" not in result.stderr
    assert line.endswith("check the host and port, and whether a firewall or proxy drops the traffic")
    assert elapsed < 8, elapsed  # the 1 s connect timeout and the retries, far within the 60 s deadline
