"""Security rules shared by the client and the local server, each defined once.

- which hosts are loopback (traffic to them never leaves this machine);
- an API key never travels in plaintext to a host that is not loopback;
- the character classes a terminal or a file name must never receive raw.

Imports nothing but the standard library and `errors`, so the emulator can use it without the client.
"""

from __future__ import annotations

import ipaddress
import re

from xai_files_cli.errors import UsageError

# Regular-expression class fragments (for use inside `[...]`), combined below and by their users.
C0_CONTROLS = r"\x00-\x1f"
C0_CONTROLS_EXCEPT_TAB_NEWLINE = r"\x00-\x08\x0b-\x1f"
DEL_AND_C1_CONTROLS = r"\x7f-\x9f"
BIDI_AND_INVISIBLE = r"\u200e\u200f\u202a-\u202e\u2066-\u2069"
LINE_SEPARATORS = r"\u2028\u2029"
LONE_SURROGATES = r"\ud800-\udfff"

# What must never reach a terminal raw: C0 controls except tab and newline, DEL, C1 controls, bidi
# and invisible formatting characters, and the Unicode line and paragraph separators.
TERMINAL_UNSAFE = re.compile(
    f"[{C0_CONTROLS_EXCEPT_TAB_NEWLINE}{DEL_AND_C1_CONTROLS}{BIDI_AND_INVISIBLE}{LINE_SEPARATORS}]"
)


def is_loopback(host: str) -> bool:
    """Whether `host` names only this machine: `localhost` (any case, a trailing dot allowed),
    127.0.0.0/8 or ::1 (also written `[::1]`)."""
    if host.lower().rstrip(".") == "localhost":
        return True
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_key_transport(host: str, *, plaintext: bool) -> None:
    """Refuse (UsageError) to send an API key over plaintext to a host that is not loopback."""
    if plaintext and not is_loopback(host):
        raise UsageError(f"refusing to send API key over plaintext to {host}")
