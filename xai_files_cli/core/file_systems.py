"""The file system type of a device, as this process's /proc/self/mountinfo lists it (Linux).

Read once per process, on first use. A device that is not listed there (a btrfs subvolume that is
not mounted on its own) is unknown, and so is every device off Linux or without /proc: callers
treat unknown as "anything", never as a local disk.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

MOUNTINFO = Path("/proc/self/mountinfo")

_lock = threading.Lock()
_types: dict[int, str] | None = None  # device -> file system type, read once per process


def type_of(dev: int) -> str | None:
    """The file system type of device `dev` (an st_dev), None when unknown."""
    return device_types().get(dev) or None


def device_types() -> dict[int, str]:
    """Each mounted device's file system type, as this process's mountinfo lists them (read on first
    use); empty off Linux or without /proc."""
    global _types
    if _types is not None:
        return _types
    with _lock:
        if _types is None:
            _types = _read_types()
        return _types


def _read_types() -> dict[int, str]:
    if not sys.platform.startswith("linux"):
        return {}
    try:
        text = MOUNTINFO.read_bytes().decode("utf-8", "surrogateescape")
    except OSError:
        return {}
    return parse_mountinfo(text)


def parse_mountinfo(text: str) -> dict[int, str]:
    """{device number: file system type} of a mountinfo text (proc(5)): each line is `id parent
    major:minor root mount-point options [optional fields...] - type source super-options`, with
    spaces, tabs, newlines and backslashes in fields written as `\\ooo` octal escapes. A device
    listed with two different types (which should not happen) maps to "" (unknown); a line that
    cannot be read is left out."""
    found: dict[int, str] = {}
    for line in text.splitlines():
        fields = line.split(" ")
        try:
            major, minor = (int(part) for part in fields[2].split(":"))
            fs_type = _unescaped(fields[fields.index("-", 6) + 1])
            dev = os.makedev(major, minor)
        except (IndexError, ValueError, OverflowError):
            continue
        found[dev] = fs_type if found.get(dev, fs_type) == fs_type else ""
    return found


def _unescaped(field: str) -> str:
    """A mountinfo field with its `\\ooo` escapes turned back into characters."""
    if "\\" not in field:
        return field
    out, at = [], 0
    while at < len(field):
        code = field[at + 1 : at + 4]
        if field[at] == "\\" and len(code) == 3 and all(c in "01234567" for c in code):
            out.append(chr(int(code, 8)))
            at += 4
        else:
            out.append(field[at])
            at += 1
    return "".join(out)
