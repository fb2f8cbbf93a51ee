"""What an in-process emulator holds, for tests of runs that must not leave duplicates: every live
file by name with its content hash, and a folder of distinct small files to upload."""

from __future__ import annotations

import hashlib
import sqlite3
from collections import defaultdict
from pathlib import Path

from xai_files_cli.emulator.server import RunningServer


def stored_by_name(server: RunningServer) -> dict[str, list[tuple[str, str]]]:
    """{filename: [(id, sha256 of the content), ...]} of every live file on `server`."""
    found: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for file_id in server.storage.all_ids():
        record = server.storage.get(file_id)
        if record is None:  # expired
            continue
        blob = server.storage.open_blob(file_id)
        assert blob is not None
        with blob:
            digest = hashlib.sha256(blob.read()).hexdigest()
        found[record.filename].append((file_id, digest))
    return dict(found)


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_files(folder: Path, count: int, *, size: int = 64, prefix: str = "f") -> dict[str, str]:
    """`count` files of distinct content under `folder` ({name: sha256}); every fifth in `sub/`."""
    made = {}
    for index in range(count):
        name = f"sub/{prefix}{index:03d}.txt" if index % 5 == 4 else f"{prefix}{index:03d}.txt"
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = f"{name}:{index}:".encode().ljust(size, b"x")
        path.write_bytes(payload)
        made[name] = hashlib.sha256(payload).hexdigest()
    return made


def index_rows(state_dir: Path, table: str) -> list[tuple[object, ...]]:
    """Every row of `table` in the upload indexes under `state_dir` (one profile+host in tests)."""
    rows: list[tuple[object, ...]] = []
    for path in sorted((state_dir / "uploads").glob("*.sqlite3")):
        with sqlite3.connect(path) as conn:
            rows += conn.execute(f"SELECT * FROM {table}").fetchall()
    return rows
