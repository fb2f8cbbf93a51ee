"""Make untrusted text (server names, status messages, model output) safe for a terminal."""

from __future__ import annotations

import re

# C0 controls except tab/newline, DEL, C1 controls, and bidi/invisible formatting characters.
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_terminal(text: str, *, keep_newlines: bool = False) -> str:
    """Escape control, C1 and bidi characters as `\\xNN`/`\\uNNNN` so nothing reaches the tty raw."""
    text = _UNSAFE.sub(_escape, text)
    if not keep_newlines:
        text = text.replace("\n", "\\n").replace("\t", "\\t")
    return text
