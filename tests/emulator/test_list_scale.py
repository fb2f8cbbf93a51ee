"""ListFiles at scale: every page is an index seek, so page N costs what page 1 costs at 50,000 files.

The work of a page is measured in SQLite virtual-machine steps (a progress handler counts them),
which does not depend on how busy the machine is; the wall time is checked too, loosely.
"""

from __future__ import annotations

import functools
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from xai_files_cli.emulator.filters import compile_filter, parse_rfc3339
from xai_files_cli.emulator.storage import FileRecord, PageQuery, Storage

SORTS = ("created_at", "filename", "size")
START_NS = 1_800_000_000 * 1_000_000_000
FILES = 50_000
STEP_UNIT = 100  # the progress handler runs every 100 VM instructions
Result = TypeVar("Result")


def _records(count: int) -> Iterator[FileRecord]:
    """`count` distinct files with repeated names, sizes and timestamps (so ties need the id)."""
    for index in range(count):
        created = START_NS + (index // 3) * 1_000_000_000  # three files per second
        yield FileRecord(
            id=f"file_{uuid.UUID(int=index, version=4)}",
            filename=f"report-{index % 997:03d}.txt",
            size=index % 4099,
            content_type="text/plain" if index % 2 else "application/pdf",
            created_at_ns=created,
            expires_at_ns=None if index % 5 else created + 10**15,
        )


def _seed(store: Storage, count: int) -> None:
    """Insert `count` rows through the storage layer's own insert, 1,000 per transaction."""
    batch: list[FileRecord] = []
    for record in _records(count):
        batch.append(record)
        if len(batch) == 1000:
            store._insert(batch)
            batch = []
    if batch:
        store._insert(batch)


@pytest.fixture(scope="module")
def big_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Storage]:
    store = Storage(Path(tmp_path_factory.mktemp("scale")) / "data", clock=lambda: START_NS)
    _seed(store, FILES)
    yield store
    store.close()


FILTERS = [
    None,
    'size_bytes > 100 AND content_type = "text/plain"',
    'created_at >= "2027-01-15T08:00:00Z" AND created_at < "2027-01-15T10:00:00Z"',
    'NOT name = "report-001.txt" OR expires_at != null',
    "public_url = null",
]


def _where(store: Storage, text: str | None) -> tuple[str, tuple[object, ...]] | None:
    if text is None:
        return None
    compiled = compile_filter(text, store.now_ns())
    return compiled.sql, compiled.params


@pytest.mark.parametrize("sort", SORTS)
@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("filter_text", FILTERS)
def test_every_page_query_seeks_the_sort_index_and_never_sorts(big_store, sort, descending, filter_text):
    where = _where(big_store, filter_text)
    after = ({"created_at": START_NS, "filename": "report-500.txt", "size": 2000}[sort], "file_" + "0" * 36)
    index = {"created_at": "files_by_created", "filename": "files_by_filename", "size": "files_by_size"}[sort]
    first = big_store.list_plan(PageQuery(sort=sort, descending=descending, where=where))
    later = big_store.list_plan(PageQuery(sort=sort, descending=descending, after=after, where=where))
    for plan in (first, later):
        assert all("TEMP B-TREE" not in line for line in plan), plan
        assert any(f"USING INDEX {index}" in line for line in plan), plan
    column = {"created_at": "created_at_ns", "filename": "filename", "size": "size"}[sort]
    assert any(line.startswith("SEARCH") and f"({column},id)" in line for line in later), later


def _page_after(store: Storage, sort: str, descending: bool, depth: int) -> tuple[int | str, str] | None:
    """The keyset position after the first `depth` live files in this order (None for depth 0)."""
    if depth == 0:
        return None
    column = {"created_at": "created_at_ns", "filename": "filename", "size": "size"}[sort]
    direction = "DESC" if descending else "ASC"
    row = (
        store._conn()
        .execute(
            f"SELECT {column}, id FROM files ORDER BY {column} {direction}, id {direction} LIMIT 1 OFFSET ?",
            (depth - 1,),
        )
        .fetchone()
    )
    return row[0], row[1]


def _work(store: Storage, call: Callable[[], Result]) -> tuple[int, Result]:
    """(SQLite VM instructions in units of STEP_UNIT that `call` runs on this thread's connection,
    what `call` returns)."""
    steps = 0

    def count() -> int:
        nonlocal steps
        steps += 1
        return 0

    conn = store._conn()
    conn.set_progress_handler(count, STEP_UNIT)
    try:
        result = call()
    finally:
        conn.set_progress_handler(None, STEP_UNIT)
    return steps, result


def _median_seconds(call: Callable[[], object], runs: int = 7) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


@pytest.mark.parametrize("sort", SORTS)
@pytest.mark.parametrize("descending", [False, True])
def test_a_page_deep_into_50000_files_costs_what_the_first_page_costs(big_store, sort, descending):
    deep = _page_after(big_store, sort, descending, FILES - 500)
    pages = {
        "first": lambda: big_store.list_files(PageQuery(sort=sort, descending=descending, limit=100)),
        "deep": lambda: big_store.list_files(
            PageQuery(sort=sort, descending=descending, limit=100, after=deep)
        ),
    }
    records, more = pages["deep"]()
    assert len(records) == 100 and more  # a real page, not the empty end
    work = {name: _work(big_store, call)[0] for name, call in pages.items()}
    assert work["deep"] <= 1.5 * work["first"] + 5, work
    seconds = {name: _median_seconds(call) for name, call in pages.items()}
    assert seconds["deep"] <= 3 * seconds["first"] + 0.002, seconds


def test_a_filtered_walk_pages_in_steady_work_and_matches_one_query(big_store):
    """Keyset pages under a created_at window, sorted by name in both orders: each page costs about
    the same, and together they are exactly the matching files in order."""
    text = 'created_at >= "2027-01-15T08:00:00Z" AND created_at < "2027-01-15T08:30:00Z"'
    where = _where(big_store, text)
    low, high = parse_rfc3339("2027-01-15T08:00:00Z"), parse_rfc3339("2027-01-15T08:30:00Z")
    for descending in (False, True):
        expected = sorted(
            (r for r in _records(FILES) if low <= r.created_at_ns < high),
            key=lambda r: (r.filename, r.id),
            reverse=descending,
        )
        seen: list[str] = []
        work: list[int] = []
        after = None
        more = True
        while more:
            query = PageQuery(sort="filename", descending=descending, after=after, where=where)
            page = functools.partial(big_store.list_files, query)
            steps, (records, more) = _work(big_store, page)
            work.append(steps)
            seen += [record.id for record in records]
            after = (records[-1].filename, records[-1].id) if records else None
        assert seen == [record.id for record in expected]
        assert len(work) > 20  # many pages
        assert max(work) <= 2 * statistics.median(work) + 5, work


@pytest.mark.parametrize("sort", SORTS)
@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("filter_text", [None, FILTERS[2]])
def test_a_page_of_stored_entries_costs_less_than_twice_the_work_of_reading_its_rows(
    big_store, sort, descending, filter_text
):
    """What ListFiles reads for a page (its files' stored entries, whether more follow, the last file
    for the token) takes at most twice the SQLite work of reading the page's rows, whatever its depth."""
    where = _where(big_store, filter_text)
    for after in (None, _page_after(big_store, sort, descending, FILES // 2)):
        query = PageQuery(sort=sort, descending=descending, limit=100, after=after, where=where)
        rows_work, (rows, more) = _work(big_store, functools.partial(big_store.list_rows, query))
        entries_work, page = _work(big_store, functools.partial(big_store.list_entries, query))
        assert page is not None and (page.count, page.more) == (len(rows), more)
        assert page.last == ((*rows[-1][:3], rows[-1][4]) if more else None)
        assert entries_work <= 2 * rows_work, (entries_work, rows_work)
