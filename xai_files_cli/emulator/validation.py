"""Input rules of the Files API: filenames, TTLs and file ids.

Every check returns an error message (str) or None, so the service can answer INVALID_ARGUMENT /
NOT_FOUND with a precise reason and never reaches storage with bad input.
"""

from __future__ import annotations

import collections
import os
import re
import threading
import time

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
_RANDOM_BITS = 62
_SEQUENCE_BITS = 12
_last_stamp = 0  # the (millisecond << 12 | sequence) of the last id drawn, so that stamps only grow
_stamp_lock = threading.Lock()


def new_file_id() -> str:
    """A fresh server-assigned id: `file_<uuid>` in the uuid4 shape, whose first 60 bits grow with
    time (the millisecond, then a sequence number) and whose last 62 come from the OS's random source.

    Ids made one after the other sort one after the other, so the rows of uploads committed together
    go into the same pages of every index keyed by id (the primary key, the size index among files
    of one size, the inline bytes) instead of a random page each. The 62 random bits keep ids
    unguessable and unique across processes sharing a data dir.

    Ids are drawn many at once: reading the random bytes lets go of the GIL, which with many calls
    in flight costs a thread switch per read. A popped id is never handed out twice (`popleft` is
    atomic), and a forked child starts with none of its parent's ids.
    """
    while True:
        try:
            return _unused_ids.popleft()
        except IndexError:
            _draw_ids()


def _draw_ids() -> None:
    global _last_stamp
    random = os.urandom(8 * _IDS_PER_DRAW)
    with _stamp_lock:
        first = max((time.time_ns() // 1_000_000) << _SEQUENCE_BITS, _last_stamp + 1)
        _last_stamp = first + _IDS_PER_DRAW - 1
    random_mask = (1 << _RANDOM_BITS) - 1
    _unused_ids.extend(
        _formatted(first + index, int.from_bytes(random[8 * index : 8 * index + 8], "big") & random_mask)
        for index in range(_IDS_PER_DRAW)
    )


def _formatted(stamp: int, random: int) -> str:
    """`file_` and the uuid of a stamp (48-bit milliseconds, 12-bit sequence) and 62 random bits."""
    millis, sequence = stamp >> _SEQUENCE_BITS, stamp & ((1 << _SEQUENCE_BITS) - 1)
    value = ((millis & ((1 << 48) - 1)) << 80) | (0x4 << 76) | (sequence << 64) | (0b10 << 62) | random
    text = f"{value:032x}"
    return f"{FILE_ID_PREFIX}{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def _forget_ids_in_child() -> None:
    global _stamp_lock
    _unused_ids.clear()
    _stamp_lock = threading.Lock()  # another thread of the parent may have held it


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_ids_in_child)


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
