"""The racy margin follows the file system: mountinfo maps a device to its type (escapes and all),
and only a local file system with nanosecond times gets the 50 ms margin."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from xai_files_cli.core.file_clock import COARSE_MARGIN_NS, FINE_MARGIN_NS, margin_for_type, racy_margin_ns
from xai_files_cli.core.file_systems import device_types, parse_mountinfo
from xai_files_cli.core.records import FileInfo
from xai_files_cli.core.upload_index import Fingerprint, Snapshot, UploadIndex, record_op

SAMPLE = "\n".join(
    [
        "22 27 0:21 / /proc rw,relatime - proc proc rw",
        "27 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw,discard",
        r"30 27 254:0 /srv/my\040data /mnt/my\040data\011tab rw shared:1 master:2 - ext4 /dev/vda rw",
        "31 27 0:44 / /tmp rw,nosuid,nodev shared:5 - tmpfs tmpfs rw,size=1024k",
        "32 27 0:45 / /mnt/nfs rw,relatime - nfs4 server:/export rw,vers=4.2",
        r"33 27 0:46 / /home/me/remote rw,nosuid - fuse.sshfs me@host:/home\040dir rw,user_id=0",
        "34 27 8:17 / /media/stick rw,relatime - vfat /dev/sdb1 rw,fmask=0022",
        r"35 27 0:47 / /mnt/odd rw - weird\134type none rw",
        "36 27 0:48 / /mnt/same rw - xfs /dev/sdc1 rw",
        "37 27 0:48 / /mnt/same2 rw - btrfs /dev/sdc1 rw",  # one device, two types: unknown
        "not a mountinfo line",
        "38 27 x:y / /bad rw - ext4 /dev/sdd rw",
        "",
    ]
)


def test_mountinfo_maps_each_device_to_its_file_system_type() -> None:
    assert parse_mountinfo(SAMPLE) == {
        os.makedev(0, 21): "proc",
        os.makedev(254, 0): "ext4",
        os.makedev(0, 44): "tmpfs",
        os.makedev(0, 45): "nfs4",
        os.makedev(0, 46): "fuse.sshfs",
        os.makedev(8, 17): "vfat",
        os.makedev(0, 47): "weird\\type",
        os.makedev(0, 48): "",
    }


@pytest.mark.parametrize("fs_type", ["ext4", "xfs", "btrfs", "tmpfs", "f2fs", "overlay", "zfs"])
def test_a_local_nanosecond_file_system_gets_50_ms(fs_type: str) -> None:
    assert margin_for_type(fs_type, 1_700_000_000_123_456_789) == FINE_MARGIN_NS


@pytest.mark.parametrize(
    "fs_type", ["nfs", "nfs4", "cifs", "smb3", "fuse", "fuse.sshfs", "9p", "vfat", "exfat", "ext3", "", None]
)
def test_network_coarse_and_unknown_file_systems_keep_2_s(fs_type: str | None) -> None:
    assert margin_for_type(fs_type, 1_700_000_000_123_456_789) == COARSE_MARGIN_NS


def test_a_whole_second_ctime_keeps_2_s_whatever_the_type() -> None:
    """ext4 with 128-byte inodes keeps whole seconds: its type alone does not tell."""
    assert margin_for_type("ext4", 1_700_000_000_000_000_000) == COARSE_MARGIN_NS


@pytest.mark.skipif(not sys.platform.startswith("linux") or shutil.which("findmnt") is None, reason="Linux")
def test_this_machines_mounts_give_the_test_dirs_file_system(tmp_path: Path) -> None:
    shown = subprocess.run(
        ["findmnt", "-n", "-o", "FSTYPE", "--target", str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert device_types()[os.stat(tmp_path).st_dev] == shown.stdout.strip()


def _info(name: str) -> FileInfo:
    from datetime import datetime, timezone

    return FileInfo("file_1", name, 5, datetime.now(timezone.utc), None)  # type: ignore[arg-type]


def test_a_device_mountinfo_does_not_list_keeps_2_s(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("hello")
    st = os.stat(path)
    unlisted = os.makedev(4000, 4000)
    assert unlisted not in device_types()
    assert racy_margin_ns(unlisted, st.st_ctime_ns | 1) == COARSE_MARGIN_NS
    changed = max(st.st_mtime_ns, st.st_ctime_ns)
    index = UploadIndex(tmp_path / "index.sqlite3").open()
    index.apply([record_op(_info("a.txt"), "sha", path=path, stat=st, read_at_ns=changed + 100_000_000)])
    snapshot: Snapshot = index.snapshot([], [path])
    here = Fingerprint.of(st)
    elsewhere = Fingerprint(st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, unlisted)
    snapshot.digests[next(iter(snapshot.digests))] = [(elsewhere, "sha", changed + 100_000_000, "file_1")]
    assert snapshot.known_digest(path, elsewhere) is None  # 100 ms is not enough off a known local fs
    snapshot.digests[next(iter(snapshot.digests))] = [(here, "sha", changed + 100_000_000, "file_1")]
    assert snapshot.known_digest(path, here) == "sha"
