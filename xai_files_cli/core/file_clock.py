"""How long after a file's last change its stat can stand for its content: the "racy" margin.

A file read at time R whose stat (size, mtime, ctime, inode, device) is the same later holds what
was read, unless it was written again after R within the same timestamp tick: then mtime and ctime
did not move. A write after R is stamped with a time no earlier than R less one tick of the clock
that stamps it, so a last change older than R by more than a tick rules that out.

- On Linux, a local file system whose times are kept to the nanosecond (ext4, xfs, btrfs, tmpfs,
  f2fs, overlay, zfs) is stamped by this machine's kernel from its coarse clock, which ticks at
  least every 10 ms: FINE_MARGIN_NS (50 ms) covers a tick with room to spare.
- Anything else keeps COARSE_MARGIN_NS (2 s): network file systems (nfs, cifs/smb, fuse, 9p, ...)
  are stamped by another machine's clock; FAT and exFAT keep 2-second times; unknown types; no
  /proc; other systems. So does a file whose ctime is a whole second: its file system may keep
  whole seconds (ext4 with 128-byte inodes does), whatever its type says.

The file system of a device is looked up once per run in /proc/self/mountinfo (by st_dev's
major:minor); a device that is not listed there (a btrfs subvolume that is not mounted on its own)
is unknown.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

FINE_MARGIN_NS = 50_000_000
COARSE_MARGIN_NS = 2_000_000_000
# Local file systems with nanosecond times, stamped by this machine's clock.
FINE_LOCAL_TYPES = frozenset({"ext4", "xfs", "btrfs", "tmpfs", "f2fs", "overlay", "zfs"})
MOUNTINFO = Path("/proc/self/mountinfo")

_lock = threading.Lock()
_types: dict[int, str] | None = None  # device -> file system type, read once per process


def racy_margin_ns(dev: int, ctime_ns: int) -> int:
    """How much older than a read a file's last change must be for its stat to vouch for what was
    read: FINE_MARGIN_NS on a local, nanosecond file system (see the module docstring), else
    COARSE_MARGIN_NS."""
    return margin_for_type(device_types().get(dev), ctime_ns)


def margin_for_type(fs_type: str | None, ctime_ns: int) -> int:
    """The racy margin of a file with `ctime_ns` on a file system of `fs_type` (None: unknown)."""
    if ctime_ns % 1_000_000_000 == 0:  # maybe a file system of whole seconds
        return COARSE_MARGIN_NS
    return FINE_MARGIN_NS if fs_type in FINE_LOCAL_TYPES else COARSE_MARGIN_NS


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
