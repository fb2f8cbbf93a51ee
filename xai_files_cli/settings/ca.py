"""Custom TLS roots: the PEM bundle named by `--ca-cert`, `XAI_CA_CERT` or a profile's `ca_cert`.

A custom CA is used only when asked for explicitly. The bundle is
read and parsed before any connection is made, so a missing, unreadable or non-PEM file is a usage
error (exit 2) and never turns into a confusing handshake failure or, worse, a fallback.
"""

from __future__ import annotations

from pathlib import Path

from xai_files_cli.errors import UsageError

MAX_BUNDLE_BYTES = 4 * 1024 * 1024  # far more than any real CA bundle (the Mozilla set is ~250 kB)
PEM_CERT_MARKER = "-----BEGIN CERTIFICATE-----"


def load_ca_cert(path: str, source: str = "--ca-cert") -> bytes:
    """Read and check the PEM CA bundle at `path`; return its bytes for `core.channel.connect`.

    Args:
        path: the file, `~` expanded.
        source: where the path came from (`flag --ca-cert`, `env XAI_CA_CERT`, `profile work`),
            named in the error so the user knows what to fix.

    Raises:
        UsageError: the file is missing, unreadable, too large, or holds no valid PEM certificate.
    """
    location = Path(path).expanduser()

    def refuse(reason: str) -> UsageError:
        return UsageError(f"CA certificate {location} (from {source}): {reason}", path=str(location))

    try:
        with location.open("rb") as handle:
            raw = handle.read(MAX_BUNDLE_BYTES + 1)
    except IsADirectoryError:
        raise refuse("is a directory") from None
    except OSError as error:
        raise refuse(f"cannot read: {error.strerror or error}") from None
    if len(raw) > MAX_BUNDLE_BYTES:
        raise refuse(f"larger than {MAX_BUNDLE_BYTES // (1024 * 1024)} MiB; not a CA bundle")
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise refuse("not a PEM file (binary data; convert DER with `openssl x509 -inform der`)") from None
    if PEM_CERT_MARKER not in text:
        raise refuse("no PEM certificate in it (expected -----BEGIN CERTIFICATE-----)")
    import ssl

    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cadata=text)
    except (ssl.SSLError, ValueError) as error:
        reason = getattr(error, "reason", None) or str(error)
        raise refuse(f"not a valid PEM certificate ({reason})") from None
    return raw
