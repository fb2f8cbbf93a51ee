"""The upload index on its own (real SQLite files): when a stat may stand for unchanged content,
times SQLite cannot hold, and a writer thread that meets a failure."""

from __future__ import annotations

import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from xai_files_cli.core.records import FileInfo, RawTime
from xai_files_cli.core.upload_index import (
    RACY_MARGIN_NS,
    Fingerprint,
    IndexWriter,
    UploadIndex,
    index_path,
    record_op,
    state_dir,
)


def _info(file_id: str = "file_1", name: str = "a.txt", size: int = 5, expires: object = None) -> FileInfo:
    return FileInfo(file_id, name, size, datetime.now(timezone.utc), expires)  # type: ignore[arg-type]


def _index(tmp_path: Path, warnings: list[str] | None = None) -> UploadIndex:
    return UploadIndex(
        tmp_path / "index.sqlite3", warn=(warnings if warnings is not None else []).append
    ).open()


def test_a_stat_stands_for_the_content_only_when_the_change_is_older_than_the_read(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("hello")
    st = os.stat(path)
    index = _index(tmp_path)
    changed = max(st.st_mtime_ns, st.st_ctime_ns)
    index.apply([record_op(_info("file_racy"), "sha-racy", path=path, stat=st, read_at_ns=changed + 1)])
    assert index.snapshot([], [path]).known_digest(path, Fingerprint.of(st)) is None  # same tick: hash again
    later = changed + RACY_MARGIN_NS + 1
    index.apply([record_op(_info("file_settled"), "sha-settled", path=path, stat=st, read_at_ns=later)])
    assert index.snapshot([], [path]).known_digest(path, Fingerprint.of(st)) == "sha-settled"
    path.write_text("HELLO")  # same size, new content: ctime moves
    assert index.snapshot([], [path]).known_digest(path, Fingerprint.of(os.stat(path))) is None


def test_times_past_what_sqlite_holds_are_kept_as_the_latest(tmp_path: Path) -> None:
    index = _index(tmp_path)
    far = RawTime(10**12)  # year ~31700
    index.apply([record_op(_info(expires=far), "sha", path=None, stat=None, read_at_ns=time.time_ns())])
    (entry,) = index.snapshot(["a.txt"]).entries_for("a.txt", 5)
    assert entry.expires_at_ns == 2**63 - 1 and not entry.expired(time.time_ns())


def test_a_failing_write_gives_the_index_up_with_one_warning_and_never_blocks(tmp_path: Path) -> None:
    warnings: list[str] = []
    index = _index(tmp_path, warnings)
    writer = IndexWriter(index)

    def broken(conn: object) -> None:
        raise RuntimeError("a bug in an op")

    assert writer.submit(broken).result(timeout=5) is None
    assert writer.submit(lambda conn: 1).result(timeout=5) is None  # the index is given up
    writer.close()
    assert len(warnings) == 1 and "a bug in an op" in warnings[0]
    assert not index.usable


def test_one_index_per_profile_and_host(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("XAI_STATE_DIR", str(tmp_path))
    paths = {index_path(p, h) for p in ("default", "work") for h in ("api.x.ai:443", "localhost:50051")}
    assert len(paths) == 4 and all(path.parent == tmp_path / "uploads" for path in paths)


@pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="the XDG rule is taken without platformdirs on Linux"
)
def test_the_state_dir_is_the_one_platformdirs_gives(tmp_path: Path, monkeypatch) -> None:
    import platformdirs

    monkeypatch.delenv("XAI_STATE_DIR")
    for xdg in (str(tmp_path / "state"), "relative/state", ""):
        monkeypatch.setenv("XDG_STATE_HOME", xdg)
        assert state_dir() == Path(platformdirs.user_state_dir("xai", appauthor=False))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert state_dir() == tmp_path / "state" / "xai"
