"""TLS from the CLI's side: a custom CA only through an explicit option
(`--ca-cert` > `XAI_CA_CERT` > profile `ca_cert`), TLS errors named, no fallback to plaintext, and
no API key ever sent in cleartext to a host that is not loopback.

The emulator serves TLS with a certificate from a throw-away CA made by `openssl` (tests/support/tls.py).
It listens on `localhost` (both 127.0.0.1 and ::1), so whichever address gRPC tries last, the error
it reports comes from the TLS server.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import socket
import subprocess
import threading
from pathlib import Path

import pytest

from tests.support.cli import run_xai
from tests.support.constants import REPO_ROOT, TEST_KEY
from tests.support.emulator import Emulators, seed
from tests.support.processes import xai_command, xai_subprocess_env
from tests.support.tls import TlsCerts
from xai_files_cli.emulator.server import RunningServer
from xai_files_cli.settings import resolution
from xai_files_cli.settings.config_store import ConfigStore

# Failed handshakes are UNAVAILABLE and retried: these tests check what is left once the retries
# are spent, so the waits between them are milliseconds (real processes keep the real ones).
pytestmark = pytest.mark.usefixtures("fast_retries")

HTTP2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
TLS_HANDSHAKE_RECORD = 0x16


@pytest.fixture
def certs(tls_certs: TlsCerts) -> TlsCerts:
    return tls_certs


@pytest.fixture
def tls_server(emulators: Emulators, certs: TlsCerts, monkeypatch: pytest.MonkeyPatch) -> RunningServer:
    """A TLS emulator on localhost:<port> that counts calls; the CLI gets the key, not the host."""
    cert, key = certs.pair()
    running = emulators.start(point_cli=False, host="localhost", tls_cert=cert, tls_key=key)
    monkeypatch.setenv("XAI_API_KEY", TEST_KEY)
    return running


def total_calls(server: RunningServer) -> int:
    """Every RPC that reached the server's handlers (a failed handshake never gets this far)."""
    assert server.faults is not None
    return sum(server.faults.calls(method) for method in ("ListFiles", "RetrieveFile", "RetrieveFileContent"))


# -- (a) the custom CA works, and it really is TLS ---------------------------------------------------
def test_ca_cert_flag_lists_files_over_tls(tls_server: RunningServer, certs: TlsCerts) -> None:
    file_id = seed(tls_server, "over-tls.txt", b"secret")
    for host in (f"localhost:{tls_server.port}", f"127.0.0.1:{tls_server.port}"):  # DNS and IP SANs
        result = run_xai("--ca-cert", str(certs.ca), "--api-host", host, "files", "ls", "--json")
        assert result.code == 0, result
        assert [f["id"] for f in json.loads(result.stdout)] == [file_id]
        cat = run_xai("--ca-cert", str(certs.ca), "--api-host", host, "files", "cat", file_id)
        assert (cat.code, cat.stdout_bytes) == (0, b"secret")
    assert tls_server.faults.calls("ListFiles") == 2


def test_the_loopback_plaintext_path_fails_against_the_tls_port(tls_server: RunningServer) -> None:
    """Proof that the successful calls above used TLS: the local-credentials path cannot talk to it."""
    result = run_xai("--api-host", f"localhost:{tls_server.port}", "files", "ls")
    assert (result.code, result.stdout) == (6, "")
    assert result.stderr.startswith(f"xai: list files: cannot connect to localhost:{tls_server.port}")
    assert total_calls(tls_server) == 0


def test_env_and_profile_supply_the_ca_with_flag_over_env_over_profile(
    tls_server: RunningServer, certs: TlsCerts, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    host = f"localhost:{tls_server.port}"
    monkeypatch.setenv("XAI_API_HOST", host)
    # A profile whose CA is valid PEM but not the issuer: alone, it fails the handshake.
    assert run_xai("config", "set", "ca_cert", str(certs.wrong_host_cert)).code == 0
    alone = run_xai("files", "ls")
    assert alone.code == 6 and "TLS handshake" in alone.stderr and "CERTIFICATE_VERIFY_FAILED" in alone.stderr
    monkeypatch.setenv("XAI_CA_CERT", str(certs.ca))  # env beats the profile
    assert run_xai("files", "ls").code == 0
    shown = json.loads(run_xai("config", "list", "--json").stdout)
    assert {"name": "ca_cert", "value": str(certs.ca), "source": "env XAI_CA_CERT", "location": None} in shown
    missing = tmp_path / "missing.pem"
    flagged = run_xai("--ca-cert", str(missing), "files", "ls")  # the flag beats env
    assert (flagged.code, flagged.stdout) == (2, "")
    assert (
        flagged.stderr
        == f"xai: CA certificate {missing} (from flag --ca-cert): cannot read: No such file or directory\n"
    )
    assert tls_server.faults.calls("ListFiles") == 1


@pytest.mark.parametrize(("flag", "env", "profile"), list(itertools.product([False, True], repeat=3)))
def test_ca_cert_precedence(tmp_path: Path, flag: bool, env: bool, profile: bool) -> None:
    """--ca-cert > XAI_CA_CERT > profile ca_cert > none; the local profile never uses one."""
    store = ConfigStore(tmp_path / "cfg")
    with store.transaction() as (cfg, _):
        cfg.profiles["default"] = {"ca_cert": "/p.pem"} if profile else {}
    settings = resolution.resolve(
        ca_cert_flag="/f.pem" if flag else None,
        store=store,
        environ={"XAI_CA_CERT": "/e.pem"} if env else {},
    )
    expected = (
        ("/f.pem", "flag --ca-cert")
        if flag
        else ("/e.pem", "env XAI_CA_CERT")
        if env
        else ("/p.pem", "profile default")
        if profile
        else (None, "none")
    )
    assert (settings.ca_cert, settings.ca_cert_source) == expected
    local = resolution.resolve(ca_cert_flag="/f.pem", local_flag=True, store=store, environ={})
    assert local.ca_cert is None


# -- (b) a certificate the client cannot verify: named, and never a fallback ----------------------------
def test_https_without_the_ca_exits_6_naming_the_certificate_problem(tls_server: RunningServer) -> None:
    result = run_xai("--api-host", f"https://localhost:{tls_server.port}", "files", "ls")
    assert (result.code, result.stdout) == (6, "")
    assert result.stderr.startswith(
        f"xai: list files: TLS handshake with localhost:{tls_server.port} failed: "
    )
    assert "CERTIFICATE_VERIFY_FAILED" in result.stderr
    assert result.stderr.endswith(
        f"(UNAVAILABLE); the API host https://localhost:{tls_server.port} comes from flag --api-host\n"
    )
    assert result.stderr.count("\n") == 1
    assert total_calls(tls_server) == 0  # nothing got through, by TLS or otherwise


def test_a_certificate_for_another_host_is_refused(
    emulators: Emulators, certs: TlsCerts, monkeypatch
) -> None:
    cert, key = certs.pair(wrong_host=True)  # signed by the trusted CA, but for wrong-host.example
    running = emulators.start(point_cli=False, host="localhost", tls_cert=cert, tls_key=key)
    monkeypatch.setenv("XAI_API_KEY", TEST_KEY)
    result = run_xai("--ca-cert", str(certs.ca), "--api-host", f"localhost:{running.port}", "files", "ls")
    assert (result.code, result.stdout) == (6, "")
    assert "TLS handshake with" in result.stderr and "Hostname Verification Check failed" in result.stderr
    assert total_calls(running) == 0


def test_tls_failure_is_one_line_on_stderr_of_the_real_process(tls_server: RunningServer) -> None:
    """gRPC's C core logs each failed handshake itself; `xai` keeps its stderr to the one error line."""
    env = xai_subprocess_env(
        {"XAI_API_KEY": TEST_KEY, "XAI_API_HOST": f"https://localhost:{tls_server.port}"}
    )
    env.pop("GRPC_VERBOSITY", None)
    done = subprocess.run(
        xai_command("files", "ls"),
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (done.returncode, done.stdout) == (6, "")
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("xai: list files: TLS handshake with")
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (None, "is a directory"),
        (b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "no PEM certificate in it"),
        (b"-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n", "not a valid PEM"),
        (b"\x30\x82\x01\x0a\xff\xfe", "not a PEM file"),
    ],
)
def test_an_unusable_ca_file_exits_2_before_any_rpc(
    tls_server: RunningServer, tmp_path: Path, content: bytes | None, reason: str
) -> None:
    path = tmp_path / "ca.pem"
    if content is None:
        path.mkdir()
    else:
        path.write_bytes(content)
    result = run_xai("--ca-cert", str(path), "--api-host", f"localhost:{tls_server.port}", "files", "ls")
    assert (result.code, result.stdout) == (2, "")
    assert result.stderr.startswith(f"xai: CA certificate {path} (from flag --ca-cert): {reason}")
    assert total_calls(tls_server) == 0


def test_config_set_ca_cert_checks_the_file_and_stores_an_absolute_path(
    certs: TlsCerts, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = run_xai("config", "set", "ca_cert", str(tmp_path / "nope.pem"))
    assert bad.code == 2 and "cannot read" in bad.stderr
    monkeypatch.chdir(certs.ca.parent)
    assert run_xai("config", "set", "ca_cert", "ca.pem").code == 0
    assert run_xai("config", "get", "ca_cert").stdout == f"{certs.ca}\n"
    assert run_xai("config", "set", "-p", "local", "ca_cert", "ca.pem").code == 2


# -- nothing in cleartext to a host that is not loopback -------------------------------------------------
class Sniffer:
    """A plain TCP listener that records the first bytes of every connection, then hangs up."""

    def __init__(self, address: str) -> None:
        self.sock = socket.create_server((address, 0))
        self.port = self.sock.getsockname()[1]
        self.received: list[bytes] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return  # closed
            with conn:
                conn.settimeout(5)
                data = b""
                try:
                    while len(data) < len(HTTP2_PREFACE):
                        piece = conn.recv(4096)
                        if not piece:
                            break
                        data += piece
                except OSError:
                    pass
                self.received.append(data)

    def close(self) -> list[bytes]:
        """Stop listening; return what each connection sent. Call after the client has finished."""
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept(); close() alone does not
        self.sock.close()
        self._thread.join(10)
        return self.received


def _non_loopback_name_of_this_machine() -> tuple[str, str]:
    """A host name that is not `localhost` nor an IP literal yet reaches this machine, and its address."""
    name = socket.gethostname()
    try:
        address = socket.getaddrinfo(name, None, socket.AF_INET, socket.SOCK_STREAM)[0][4][0]
    except (OSError, IndexError):
        pytest.skip(f"this machine's host name {name!r} does not resolve")
    if name.lower().rstrip(".") == "localhost":
        pytest.skip("this machine is called localhost")
    return name, address


def test_plaintext_listener_never_gets_a_cleartext_request_from_a_non_loopback_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The machine's own host name counts as remote, so the key may only travel inside TLS."""
    name, address = _non_loopback_name_of_this_machine()
    monkeypatch.setenv("XAI_API_KEY", TEST_KEY)
    sniffer = Sniffer(address)
    try:
        refused = run_xai("--api-host", f"http://{name}:{sniffer.port}", "files", "ls")
        assert (refused.code, refused.stdout) == (2, "")
        assert refused.stderr == f"xai: refusing to send API key over plaintext to {name}\n"
        assert sniffer.received == []  # refused before dialling: not a single connection
        attempted = run_xai("--api-host", f"{name}:{sniffer.port}", "files", "ls")
        assert (attempted.code, attempted.stdout) == (6, "")
        assert "TLS handshake" in attempted.stderr
    finally:
        received = sniffer.close()
    assert received, "the CLI never reached the listener: the test proves nothing"
    for data in received:  # only TLS ClientHellos: the HTTP/2 request (and its key) never left
        assert data[0] == TLS_HANDSHAKE_RECORD and HTTP2_PREFACE not in data and TEST_KEY.encode() not in data


def test_the_sniffer_does_see_a_cleartext_request_on_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    """Control for the test above: to a loopback address the request does go out unencrypted."""
    monkeypatch.setenv("XAI_API_KEY", TEST_KEY)
    sniffer = Sniffer("127.0.0.1")
    try:
        result = run_xai("--api-host", f"127.0.0.1:{sniffer.port}", "files", "ls")
        assert result.code == 6
    finally:
        received = sniffer.close()
    assert received and all(data.startswith(HTTP2_PREFACE) for data in received)


def test_auth_login_and_status_check_the_key_through_the_custom_ca(
    tls_server: RunningServer, certs: TlsCerts, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("XAI_API_KEY")
    host = f"localhost:{tls_server.port}"
    login = run_xai("--ca-cert", str(certs.ca), "auth", "login", "--api-host", host, stdin=TEST_KEY.encode())
    assert login.code == 0, login
    assert f"checked against {host}" in login.stderr
    assert run_xai("config", "set", "ca_cert", str(certs.ca)).code == 0  # from now on, from the profile
    status = run_xai("auth", "status", "--json")
    assert status.code == 0, status
    assert json.loads(status.stdout)["profiles"][0]["status"] == "works"
    # login lists one file; status asks the Auth service about the key, through the same CA
    assert tls_server.faults.calls("ListFiles") == 1 and tls_server.faults.calls("get_api_key_info") == 1
