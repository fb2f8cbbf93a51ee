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

The file system of a device is looked up once per run (`file_systems.type_of`, by st_dev).
"""

from __future__ import annotations

from xai_files_cli.core.file_systems import type_of

FINE_MARGIN_NS = 50_000_000
COARSE_MARGIN_NS = 2_000_000_000
# Local file systems with nanosecond times, stamped by this machine's clock.
FINE_LOCAL_TYPES = frozenset({"ext4", "xfs", "btrfs", "tmpfs", "f2fs", "overlay", "zfs"})


def racy_margin_ns(dev: int, ctime_ns: int) -> int:
    """How much older than a read a file's last change must be for its stat to vouch for what was
    read: FINE_MARGIN_NS on a local, nanosecond file system (see the module docstring), else
    COARSE_MARGIN_NS."""
    return margin_for_type(type_of(dev), ctime_ns)


def margin_for_type(fs_type: str | None, ctime_ns: int) -> int:
    """The racy margin of a file with `ctime_ns` on a file system of `fs_type` (None: unknown)."""
    if ctime_ns % 1_000_000_000 == 0:  # maybe a file system of whole seconds
        return COARSE_MARGIN_NS
    return FINE_MARGIN_NS if fs_type in FINE_LOCAL_TYPES else COARSE_MARGIN_NS
