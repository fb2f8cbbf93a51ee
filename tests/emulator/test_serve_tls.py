"""The emulator's optional TLS: `xai serve --tls-cert --tls-key` and
`ServerConfig(tls_cert=..., tls_key=...)`; the loopback/remote rules are the same as without TLS."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from tests.support.cli import run_xai
from tests.support.constants import TEST_KEY
from tests.support.emulator import ServeProcess, run_serve
from tests.support.tls import TlsCerts
from xai_files_cli.emulator.server import ServerConfig, start_server
from xai_files_cli.errors import UsageError


def test_serve_with_a_certificate_speaks_tls(tmp_path: Path, tls_certs: TlsCerts, monkeypatch) -> None:
    certs = tls_certs
    serve = ServeProcess(
        tmp_path / "d", "--tls-cert", str(certs.server_cert), "--tls-key", str(certs.server_key), key=TEST_KEY
    )
    try:
        assert serve.first_line.endswith(f"(data: {tmp_path / 'd'}, TLS)\n")
        monkeypatch.setenv("XAI_API_KEY", TEST_KEY)
        host = f"127.0.0.1:{serve.port}"
        upload = tmp_path / "a.txt"
        upload.write_bytes(b"over tls")
        stored = run_xai(
            "--ca-cert", str(certs.ca), "--api-host", host, "files", "upload", str(upload), "--json"
        )
        assert stored.code == 0, stored
        file_id = json.loads(stored.stdout)["id"]
        back = run_xai("--ca-cert", str(certs.ca), "--api-host", host, "files", "cat", file_id)
        assert (back.code, back.stdout_bytes) == (0, b"over tls")
        plaintext = run_xai("--api-host", host, "files", "ls")
        assert plaintext.code == 6  # the local-credentials (plaintext) path cannot talk to it
    finally:
        serve.proc.send_signal(signal.SIGTERM)
    code, err = serve.finish()
    assert (code, err) == (0, "xai serve: stopped\n")


@pytest.mark.parametrize(
    ("which", "needle"),
    [
        ("cert-only", "--tls-cert and --tls-key must be given together"),
        ("mismatch", "unusable TLS certificate or key"),
        ("missing", "cannot read"),
        ("remote", "refusing to bind non-loopback address"),
        ("remote-no-auth", "--no-auth is refused for a non-loopback address"),
    ],
)
def test_serve_refuses_bad_tls_setups(tmp_path: Path, tls_certs: TlsCerts, which: str, needle: str) -> None:
    certs = tls_certs
    pair = ["--tls-cert", str(certs.server_cert), "--tls-key", str(certs.server_key)]
    args = {
        "cert-only": ["--tls-cert", str(certs.server_cert)],
        "mismatch": ["--tls-cert", str(certs.server_cert), "--tls-key", str(certs.wrong_host_key)],
        "missing": ["--tls-cert", str(tmp_path / "nope.pem"), "--tls-key", str(certs.server_key)],
        "remote": [*pair, "--host", "0.0.0.0"],  # TLS does not lift the loopback rule
        "remote-no-auth": [*pair, "--host", "0.0.0.0", "--allow-remote", "--no-auth"],
    }[which]
    result = run_serve("--port", "0", "--data-dir", str(tmp_path / "d"), *args, key="k")
    assert result.returncode == 2, result.stderr
    assert needle in result.stderr
    assert "Traceback" not in result.stderr


def test_server_config_needs_both_halves_in_pem(tmp_path: Path, tls_certs: TlsCerts) -> None:
    cert, key = tls_certs.pair()
    for fields, message in (
        ({"tls_cert": cert}, "both a certificate and its private key"),
        ({"tls_cert": b"junk", "tls_key": key}, "not a PEM certificate"),
        ({"tls_cert": cert, "tls_key": b"junk"}, "not a PEM private key"),
    ):
        with pytest.raises(UsageError, match=message):
            start_server(ServerConfig(data_dir=tmp_path / "d", api_key=TEST_KEY, **fields))
    with pytest.raises(UsageError, match="refusing to bind non-loopback"):
        start_server(
            ServerConfig(data_dir=tmp_path / "d", api_key=TEST_KEY, tls_cert=cert, tls_key=key), "0.0.0.0"
        )
    assert "BEGIN" not in repr(ServerConfig(data_dir=tmp_path, api_key=None, tls_cert=cert, tls_key=key))
