"""Make untrusted text (server names, status messages, model output) safe for a terminal."""

from __future__ import annotations

import re

from xai_files_cli.security import TERMINAL_UNSAFE


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_terminal(text: str, *, keep_newlines: bool = False) -> str:
    """Escape control, C1 and bidi characters as `\\xNN`/`\\uNNNN` so nothing reaches the tty raw."""
    if text.isascii() and text.isprintable():  # the usual id or name: nothing to escape
        return text
    text = TERMINAL_UNSAFE.sub(_escape, text)
    if not keep_newlines:
        text = text.replace("\n", "\\n").replace("\t", "\\t")
    return text
