"""The journal around a batch's uploads, on a real index: pending rows are written a group at a
time as the batch takes its files, so a large batch never holds a ticket per file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from xai_files_cli.cli.uploads import collect_upload_items
from xai_files_cli.core.upload_index import UploadIndex
from xai_files_cli.core.upload_plan import PreparedItems, UploadJournal


def _pending_rows(index: UploadIndex) -> int:
    assert index.path is not None
    with sqlite3.connect(index.path) as conn:
        return int(conn.execute("SELECT count(*) FROM pending").fetchone()[0])


def test_pending_rows_are_written_a_group_ahead_of_the_uploads(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    count = PreparedItems.GROUP * 2 + 3
    for number in range(count):
        (folder / f"f{number:04d}.txt").write_text(str(number))
    items = collect_upload_items([str(folder)]).items
    index = UploadIndex(tmp_path / "index.sqlite3").open()
    journal = UploadJournal(index)
    prepared = journal.prepared(items)
    assert len(prepared) == count and _pending_rows(index) == 0  # nothing written before the batch starts

    taken = iter(prepared)
    first = next(taken)
    assert first.filename == "f0000.txt"
    assert _pending_rows(index) == PreparedItems.GROUP  # the first group only, each row before its upload
    rest = list(taken)
    assert len(rest) == count - 1 and _pending_rows(index) == count

    journal.close()  # none of them started: their rows go again
    assert _pending_rows(index) == 0
    index.close()


def test_collected_items_are_made_when_looked_at(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.txt").write_text("b")
    (tmp_path / "a.txt").write_text("a")
    items = collect_upload_items([str(tmp_path)]).items
    assert [item.filename for item in items] == ["a.txt", "sub/b.txt"]
    assert items[1].path == tmp_path / "sub" / "b.txt" and items[-1] == items[1]
    assert [item.filename for item in items[:1]] == ["a.txt"]
