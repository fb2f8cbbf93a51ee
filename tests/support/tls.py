"""Throw-away TLS material for tests, made with the `openssl` CLI: a private CA and leaf certificates.

The `tls_certs` fixture (session-scoped) skips the test when `openssl` is not installed. The CA is
trusted by nobody but the tests that pass it explicitly (`--ca-cert`, `XAI_CA_CERT`).
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]


@dataclass(frozen=True)
class TlsCerts:
    """Paths of the generated PEM files."""

    ca: Path  # the private CA's certificate: what `--ca-cert` points at
    server_cert: Path  # signed by the CA for localhost, 127.0.0.1 and ::1
    server_key: Path
    wrong_host_cert: Path  # signed by the CA, but only for wrong-host.example
    wrong_host_key: Path

    def pair(self, *, wrong_host: bool = False) -> tuple[bytes, bytes]:
        """(certificate, key) PEM bytes for ServerConfig(tls_cert=..., tls_key=...)."""
        if wrong_host:
            return self.wrong_host_cert.read_bytes(), self.wrong_host_key.read_bytes()
        return self.server_cert.read_bytes(), self.server_key.read_bytes()


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=30)


def _leaf(directory: Path, name: str, subject: str, alt_names: str) -> tuple[Path, Path]:
    """A key and a certificate signed by the CA in `directory`, valid for `alt_names`."""
    extensions = directory / f"{name}.ext"
    extensions.write_text(
        f"subjectAltName={alt_names}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
    )
    _openssl(
        "req", "-new", *EC, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", subject, cwd=directory
    )
    _openssl(
        "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-days", "2", "-out", f"{name}.pem", "-extfile", extensions.name, cwd=directory,
    )  # fmt: skip
    return directory / f"{name}.pem", directory / f"{name}.key"


def make_certs(directory: Path) -> TlsCerts:
    """Create a CA and two server certificates in `directory`."""
    _openssl(
        "req", "-x509", *EC, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=xai test CA",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        cwd=directory,
    )  # fmt: skip
    server_cert, server_key = _leaf(directory, "server", "/CN=localhost", "DNS:localhost,IP:127.0.0.1,IP:::1")
    wrong_cert, wrong_key = _leaf(directory, "wrong", "/CN=wrong-host.example", "DNS:wrong-host.example")
    return TlsCerts(directory / "ca.pem", server_cert, server_key, wrong_cert, wrong_key)
