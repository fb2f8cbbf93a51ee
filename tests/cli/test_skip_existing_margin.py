"""How soon after its last change a file's stat vouches for its content on a --skip-existing re-run:
50 ms after on a local file system with nanosecond times (the test dir's), 2 s elsewhere. A vouched
file is not read again; one whose last change was within the margin of the read is, and its content
decides. Over real gRPC against the emulator; reads are seen through an audit hook (root ignores
`chmod 000`)."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

import pytest

from tests.support.cli import run_xai
from tests.support.opened import watch_opens
from tests.support.stored import make_files, sha256_of, stored_by_name
from xai_files_cli.core.file_clock import FINE_LOCAL_TYPES, FINE_MARGIN_NS
from xai_files_cli.core.file_systems import device_types

MS = 1_000_000
SKIPPED_ONE = "xai: uploaded 0 files (0 B), skipped 1 unchanged (64 B)\n"


@pytest.fixture(autouse=True)
def _local_fine_file_system(tmp_path: Path) -> None:
    if device_types().get(os.stat(tmp_path).st_dev) not in FINE_LOCAL_TYPES:
        pytest.skip("the test dir is not on a local file system with nanosecond times")


def _index() -> Path:
    (path,) = (Path(os.environ["XAI_STATE_DIR"]) / "uploads").glob("*.sqlite3")
    return path


def _as_if_read(after_ns: int) -> None:
    """Make every recorded read `after_ns` later than the file's last change, as the run that read
    it would have recorded had it read then."""
    with sqlite3.connect(_index()) as conn:
        conn.execute("UPDATE uploads SET read_at_ns = MAX(mtime_ns, ctime_ns) + ?", (after_ns,))


def _ages_at_read() -> list[int]:
    with sqlite3.connect(_index()) as conn:
        return [age for (age,) in conn.execute("SELECT read_at_ns - MAX(mtime_ns, ctime_ns) FROM uploads")]


def _wait_until_older_than(folder: Path, margin_ns: int) -> None:
    """Let the clock pass the margin after the files' last change (nothing to wait on but time)."""
    changed = max(max(st.st_mtime_ns, st.st_ctime_ns) for st in map(os.stat, folder.rglob("*.txt")))
    while (left := changed + margin_ns - time.time_ns()) > 0:
        time.sleep(left / 1e9)


def test_files_older_than_50_ms_when_read_are_not_read_again(emulators, tmp_path: Path) -> None:
    emulators.start()
    folder = tmp_path / "docs"
    make_files(folder, 12)
    _wait_until_older_than(folder, FINE_MARGIN_NS + 10 * MS)
    assert run_xai("files", "batch-upload", str(folder), "--skip-existing").code == 0
    # Read more than 50 ms after the last change; on a machine that is not overloaded also less than
    # 2 s after it, where the 2 s rule would read every file again.
    assert all(age > FINE_MARGIN_NS for age in _ages_at_read())
    with watch_opens(folder) as opened:
        again = run_xai("files", "batch-upload", str(folder), "--skip-existing")
    assert again.code == 0, again
    assert again.stderr == "xai: uploaded 0 files (0 B), skipped 12 unchanged (768 B)\n"
    assert opened == []


def test_the_stat_vouches_from_50_ms_after_the_last_change(emulators, tmp_path: Path) -> None:
    emulators.start()
    folder = tmp_path / "docs"
    make_files(folder, 3)
    path = str(folder / "f000.txt")
    assert run_xai("files", "batch-upload", path).code == 0
    _as_if_read(60 * MS)
    with watch_opens(folder) as opened:
        skipped = run_xai("files", "batch-upload", path, "--skip-existing")
    assert (skipped.code, skipped.stderr, opened) == (0, SKIPPED_ONE, [])
    _as_if_read(40 * MS)
    with watch_opens(folder) as opened:
        skipped = run_xai("files", "batch-upload", path, "--skip-existing")
    assert (skipped.code, skipped.stderr, opened) == (0, SKIPPED_ONE, [path])  # read again: content matched


def test_a_write_in_the_same_tick_as_the_read_is_not_missed(emulators, tmp_path: Path) -> None:
    """A file written again right after it was read, so soon that its stat did not move: the index
    row holds the old content's digest with the new content's stat, read within the margin."""
    server = emulators.start()
    folder = tmp_path / "docs"
    make_files(folder, 1)
    path = folder / "f000.txt"
    assert run_xai("files", "batch-upload", str(path)).code == 0
    path.write_bytes(path.read_bytes().upper())  # same size, new content
    st = os.stat(path)
    with sqlite3.connect(_index()) as conn:
        conn.execute(
            "UPDATE uploads SET mtime_ns = ?, ctime_ns = ?, ino = ?, dev = ?, read_at_ns = ?",
            (
                st.st_mtime_ns,
                st.st_ctime_ns,
                st.st_ino,
                st.st_dev,
                max(st.st_mtime_ns, st.st_ctime_ns) + 10 * MS,
            ),
        )
    again = run_xai("files", "batch-upload", str(path), "--skip-existing")
    assert (again.code, again.stderr) == (0, "xai: uploaded 1 file (64 B)\n"), again
    assert sha256_of(path) in {sha for _, sha in stored_by_name(server)["f000.txt"]}
