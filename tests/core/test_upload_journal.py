"""The journal around a batch's uploads, on a real index: pending rows are written a group at a
time as the batch takes its files, so a large batch never holds a ticket per file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from xai_files_cli.cli.uploads import UploadItems, collect_upload_items
from xai_files_cli.core.upload_index import UploadIndex, begin_many_op, end_op
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


def _files(folder: Path, *names: str) -> UploadItems:
    folder.mkdir()
    for name in names:
        (folder / name).write_text(name)
    return collect_upload_items([str(folder)]).items


def _pending_of(index: UploadIndex) -> dict[str, set[int]]:
    """The pending row ids in the index's file, by run."""
    assert index.path is not None
    rows: dict[str, set[int]] = {}
    with sqlite3.connect(index.path) as conn:
        for row_id, run in conn.execute("SELECT id, run FROM pending"):
            rows.setdefault(run, set()).add(row_id)
    return rows


def test_a_run_removes_only_its_own_pending_rows_when_another_run_took_its_ids(tmp_path: Path) -> None:
    """Another run's planner may settle this run's pending rows (it takes them for a killed run's)
    and then give their ids to rows of its own: this run, ending its uploads, removes only its rows."""
    index = UploadIndex(tmp_path / "index.sqlite3").open()
    journal = UploadJournal(index)
    assert len(list(journal.prepared(_files(tmp_path / "a", "a1", "a2", "a3")))) == 3
    other = UploadIndex(tmp_path / "index.sqlite3").open()
    other.apply([end_op([2, 3], index.run)])  # settled by the other run
    begin = begin_many_op(other.run, [(None, "b1", 2, None), (None, "b2", 2, None)], other.issued)
    assert other.apply([begin]) == [[2, 3]]  # free in the table, so the other run may take them

    journal.close()  # none of this run's uploads started: their rows go, and only theirs

    assert _pending_of(index) == {other.run: {2, 3}}
    index.close()
    other.close()


def test_a_run_never_gives_out_an_id_it_still_holds(tmp_path: Path) -> None:
    index = UploadIndex(tmp_path / "index.sqlite3").open()
    journal = UploadJournal(index)
    list(journal.prepared(_files(tmp_path / "a", "a1", "a2", "a3")))
    other = UploadIndex(tmp_path / "index.sqlite3").open()
    other.apply([end_op([3], index.run)])  # the largest id: max(id) + 1 would be 3 again

    list(journal.prepared(_files(tmp_path / "b", "b1", "b2")))

    assert _pending_of(index) == {index.run: {1, 2, 4, 5}}
    journal.close()
    index.close()
    other.close()
