"""A batch's memory does not grow with the number of files beyond the list of files itself: what
collecting the files builds is freed when collecting ends, not left in reference cycles for the
garbage collector (which a long batch runs rarely), and the upload index's page cache is bounded."""

from __future__ import annotations

import functools
import gc
import sqlite3
import sys
import tracemalloc
from pathlib import Path
from typing import ClassVar

import pytest

from tests.support.cli import run_xai
from tests.support.emulator import Emulators
from xai_files_cli.cli.uploads import collect_upload_items
from xai_files_cli.core import upload_index

FILES = 120


def _mentions(thing: object, folder: str) -> bool:
    """Whether a container holds a string naming something under `folder`."""
    if isinstance(thing, dict):
        values: list[object] = [*thing.keys(), *thing.values()]
    elif isinstance(thing, (tuple, list)):
        values = list(thing)
    else:
        return False
    return any(isinstance(value, str) and value.startswith(folder) for value in values)


def test_collecting_a_folder_leaves_no_garbage_per_file(emulators: Emulators, tmp_path: Path) -> None:
    server = emulators.start()
    folder = tmp_path / "many"
    folder.mkdir()
    for index in range(FILES):
        (folder / f"m{index:03d}.txt").write_bytes(b"x%d" % index)
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        result = run_xai("files", "batch-upload", str(folder))
        gc.collect()
        left = [thing for thing in gc.garbage if _mentions(thing, str(folder))]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert result.code == 0, result
    assert len(server.storage.all_ids()) == FILES
    assert left == []


class _Recording(sqlite3.Connection):
    """A connection that notes its page cache size when it is closed."""

    caches: ClassVar[list[int]] = []

    def close(self) -> None:
        _Recording.caches.append(self.execute("PRAGMA cache_size").fetchone()[0])
        super().close()


def test_the_upload_index_keeps_a_small_page_cache(
    emulators: Emulators, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every connection a batch opens to the upload index asks for less than SQLite's default cache."""
    emulators.start()
    folder = tmp_path / "few"
    folder.mkdir()
    for index in range(3):
        (folder / f"f{index}.txt").write_bytes(b"y%d" % index)
    connect = sqlite3.connect
    monkeypatch.setattr(_Recording, "caches", [])
    monkeypatch.setattr(upload_index.sqlite3, "connect", functools.partial(connect, factory=_Recording))
    result = run_xai("files", "batch-upload", str(folder))
    assert result.code == 0, result
    default = connect(":memory:").execute("PRAGMA cache_size").fetchone()[0]  # -2000: 2000 KiB
    assert _Recording.caches, _Recording.caches  # the run's connection (reads and grouped writes)
    assert all(default < cache < 0 for cache in _Recording.caches), _Recording.caches


def test_the_files_of_a_folder_are_kept_as_their_paths_only(tmp_path: Path) -> None:
    """A file found in a folder is named by the end of its path, so the batch keeps its path string
    and a number, not a second string and a pair per file."""
    folder = tmp_path / "kept"
    folder.mkdir()
    for index in range(FILES):
        (folder / f"k{index:03d}.txt").write_bytes(b"z")
    collect_upload_items([str(folder)])  # imports what collecting needs, outside the measure
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        items = collect_upload_items([str(folder)]).items
        kept = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    paths = sum(sys.getsizeof(str(item.path)) for item in items)
    assert [item.name for item in items][:2] == ["k000.txt", "k001.txt"]
    assert (kept - paths) / FILES < 40  # two list slots and a small int: under 40 bytes a file
