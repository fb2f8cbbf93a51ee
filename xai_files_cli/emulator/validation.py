"""Input rules of the Files API: filenames, TTLs and file ids.

Every check returns an error message (str) or None, so the service can answer INVALID_ARGUMENT /
NOT_FOUND with a precise reason and never reaches storage with bad input.
"""

from __future__ import annotations

import collections
import os
import re
import uuid

from xai_files_cli.security import C0_CONTROLS, DEL_AND_C1_CONTROLS, LINE_SEPARATORS

MAX_FILENAME_CHARS = 255
MIN_TTL_SECONDS = 3600
MAX_TTL_SECONDS = 2_592_000
FILE_ID_PREFIX = "file_"
TEMP_SUFFIX = ".part"

# C0 controls and DEL (the API's "ASCII controls"), C1 controls incl. NEL (terminals act on them too),
# U+2028/U+2029, and the characters that would break Content-Disposition.
_FORBIDDEN_NAME_CHARS = re.compile(f"[{C0_CONTROLS}{DEL_AND_C1_CONTROLS}{LINE_SEPARATORS}" + r'";\\]')
_FILE_ID = re.compile(r"file_[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


_IDS_PER_DRAW = 256
_unused_ids: collections.deque[str] = collections.deque()


def new_file_id() -> str:
    """A fresh server-assigned id: `file_<uuid4>` (122 random bits from the OS's random source).

    The random bytes are drawn for many ids at once: reading them lets go of the GIL, which with
    many calls in flight costs a thread switch per read. A popped id is never handed out twice
    (`popleft` is atomic), and a forked child starts with none of its parent's ids.
    """
    while True:
        try:
            return _unused_ids.popleft()
        except IndexError:
            _draw_ids()


def _draw_ids() -> None:
    random = os.urandom(16 * _IDS_PER_DRAW)
    _unused_ids.extend(
        FILE_ID_PREFIX + str(uuid.UUID(bytes=random[start : start + 16], version=4))
        for start in range(0, len(random), 16)
    )


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_unused_ids.clear)


def is_file_id(value: str) -> bool:
    """Whether `value` has the exact shape of an id this server issues (checked before any lookup)."""
    return len(value) == 41 and _FILE_ID.fullmatch(value) is not None


def is_temp_name(value: str) -> bool:
    """Whether `value` is the name of one of this server's upload temp files: `<file id>.part`."""
    return value.endswith(TEMP_SUFFIX) and is_file_id(value[: -len(TEMP_SUFFIX)])


def filename_problem(name: str) -> str | None:
    """Why `name` is not an acceptable upload filename, or None when it is."""
    if not name:
        return "filename must not be empty"
    if len(name) > MAX_FILENAME_CHARS:
        return f"filename is {len(name)} characters long; the limit is {MAX_FILENAME_CHARS}"
    bad = _FORBIDDEN_NAME_CHARS.search(name)
    if bad:
        return f"filename contains a forbidden character {bad.group(0)!r} at position {bad.start()}"
    if name in (".", ".."):
        return f"filename must not be {name!r}"
    return None


def ttl_problem(seconds: int) -> str | None:
    """Why `expires_after` is out of range, or None when it is within [3600, 2592000]."""
    if not MIN_TTL_SECONDS <= seconds <= MAX_TTL_SECONDS:
        return f"expires_after must be between {MIN_TTL_SECONDS} and {MAX_TTL_SECONDS} seconds, got {seconds}"
    return None


def describe_id(value: str) -> str:
    """A short, quoted, escaped form of an untrusted id for error messages."""
    shown = value if len(value) <= 64 else value[:64] + "..."
    return repr(shown)
