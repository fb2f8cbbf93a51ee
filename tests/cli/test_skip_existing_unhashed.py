"""A plain upload of a large file takes no SHA-256 (it would cost a quarter of the upload's CPU):
the index remembers its stat instead, and a later --skip-existing run still never sends the same
content twice nor skips changed content. Over real gRPC against the emulator."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

from tests.support.cli import run_xai
from tests.support.stored import index_rows, sha256_of, stored_by_name
from xai_files_cli.core.content_hash import INLINE_HASH_BYTES

SIZE = INLINE_HASH_BYTES + 4096  # above the size that is always hashed


def _big(path: Path, fill: bytes = b"a") -> Path:
    path.write_bytes(fill * SIZE)
    return path


def _state() -> Path:
    return Path(os.environ["XAI_STATE_DIR"])


def _digests() -> list[object]:
    return [row[3] for row in index_rows(_state(), "uploads")]


def _as_if_read_as_it_changed() -> None:
    """Record each read as made at the file's last change (an upload right after a write)."""
    (index,) = (_state() / "uploads").glob("*.sqlite3")
    with sqlite3.connect(index) as conn:
        conn.execute("UPDATE uploads SET read_at_ns = MAX(mtime_ns, ctime_ns)")


def _status(result) -> str:
    assert result.code == 0, result.stderr
    return str(json.loads(result.stdout)["status"])


def test_a_plain_upload_records_no_digest_and_a_skip_compares_the_stored_content(
    emulators, tmp_path: Path
) -> None:
    server = emulators.start()
    path = _big(tmp_path / "big.bin")
    assert run_xai("files", "upload", str(path)).code == 0
    assert _digests() == [""]  # sent without a hash
    # Read in the same tick as its last change, so its stat cannot vouch for the content: the stored
    # bytes are compared.
    _as_if_read_as_it_changed()
    assert _status(run_xai("files", "upload", str(path), "--skip-existing", "--json")) == "skipped"
    assert server.faults.calls("RetrieveFileContent") == 1
    assert _digests() == [sha256_of(path)]  # learnt: the next run compares digests
    assert _status(run_xai("files", "upload", str(path), "--skip-existing", "--json")) == "skipped"
    assert server.faults.calls("RetrieveFileContent") == 1
    assert len(stored_by_name(server)["big.bin"]) == 1


def test_changed_content_of_the_same_size_is_uploaded(emulators, tmp_path: Path) -> None:
    server = emulators.start()
    path = _big(tmp_path / "big.bin")
    assert run_xai("files", "upload", str(path)).code == 0
    _big(path, b"b")
    assert _status(run_xai("files", "upload", str(path), "--skip-existing", "--json")) == "uploaded"
    assert server.faults.calls("RetrieveFileContent") == 1  # the stored content decided
    both = sorted([sha256_of(_big(tmp_path / "old.bin")), sha256_of(path)])
    assert sorted(sha for _, sha in stored_by_name(server)["big.bin"]) == both
    assert sorted(map(str, _digests())) == both  # the old file's learnt, the new one's taken as sent


def test_a_first_skip_existing_run_sends_without_a_hash(emulators, tmp_path: Path) -> None:
    emulators.start()
    path = _big(tmp_path / "big.bin")
    assert _status(run_xai("files", "upload", str(path), "--skip-existing", "--json")) == "uploaded"
    assert _digests() == [""]  # nothing to compare with: nothing hashed


def test_an_unchanged_stat_skips_without_reading_anything_back(emulators, tmp_path: Path) -> None:
    server = emulators.start()
    path = _big(tmp_path / "big.bin")
    assert run_xai("files", "upload", str(path)).code == 0
    # As if the file had last changed long before it was read for the upload.
    (index,) = (_state() / "uploads").glob("*.sqlite3")
    with sqlite3.connect(index) as conn:
        conn.execute("UPDATE uploads SET read_at_ns = read_at_ns + 3000000000")
    assert _status(run_xai("files", "upload", str(path), "--skip-existing", "--json")) == "skipped"
    assert server.faults.calls("RetrieveFileContent") == 0
    assert _digests() == [sha256_of(path)]


def test_the_manifest_gets_the_digest_of_a_plain_upload(emulators, tmp_path: Path) -> None:
    emulators.start()
    path = _big(tmp_path / "big.bin")
    manifest = tmp_path / "uploads.jsonl"
    assert run_xai("files", "upload", str(path), "--manifest", str(manifest)).code == 0
    assert json.loads(manifest.read_text())["sha256"] == sha256_of(path)
