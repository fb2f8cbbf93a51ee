"""Secret redaction for every message and log line the CLI or the emulator writes."""

from __future__ import annotations

import logging
import re

# The gitleaks rule for xAI keys, plus any key registered at run time (keys need not match it).
_KEY_PATTERN = re.compile(r"xai-[A-Za-z0-9]{20,80}")
_known_secrets: set[str] = set()


def register_secret(secret: str | None) -> None:
    """Remember a secret so that `redact` masks it wherever it appears."""
    if secret and len(secret) >= 4:
        _known_secrets.add(secret)


def mask(secret: str | None) -> str:
    """Show at most the last 4 characters of a secret: `****abcd`."""
    if not secret:
        return "(none)"
    return "****" + (secret[-4:] if len(secret) >= 12 else "")


def redact(text: str) -> str:
    """Replace every known or key-shaped secret in `text` by its masked form."""
    for secret in sorted(_known_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, mask(secret))
    return _KEY_PATTERN.sub(lambda m: mask(m.group(0)), text)


class RedactingFilter(logging.Filter):
    """A logging filter that redacts the fully formatted message of every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        record.msg = redact(message)
        record.args = None
        return True
