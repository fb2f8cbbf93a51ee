"""Listing over concurrent created_at windows gives exactly what one cursor gives, over real gRPC.

Files are seeded with a fake clock so many share a timestamp (and names and sizes repeat), pages are
small so a listing has many pages and windows, and every sort key and order is compared with the
single cursor's listing. A server that rejects or ignores the filter gets one cursor, with the
user's filter applied client-side.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.constants import TEST_KEY
from tests.support.emulator import FakeClock, seed
from tests.support.listing_proxy import ListingProxy
from xai_files_cli._pb import files_pb2
from xai_files_cli.core.channel import connect
from xai_files_cli.core.files import FilesClient
from xai_files_cli.core.listing import WINDOW_PAGES, WINDOWS_PER_CURSOR, FileFilter
from xai_files_cli.core.records import FileInfo
from xai_files_cli.emulator.server import RunningServer

ORDERS = [(sort, desc) for sort in ("created_at", "filename", "size") for desc in (False, True)]
NAMES = [
    "a",
    "b",
    "a b",
    "Z",
    "é",
    "日本",
    "😀",
    "\uff41",
    "ab",
    "a\U0001f600",
]  # code point order != UTF-16's
SECOND = 1_000_000_000


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def clocked(emulators, clock: FakeClock) -> RunningServer:
    """An emulator whose files get the fake clock's time (so timestamps can be equal)."""
    return emulators.start(point_cli=False, faults=None, clock=clock)


@pytest.fixture
def client(clocked: RunningServer) -> Iterator[FilesClient]:
    channel = connect(clocked.target, TEST_KEY)
    yield FilesClient(channel)
    channel.close()


def seed_at(server: RunningServer, clock: FakeClock, files: list[tuple[int, str, int]]) -> None:
    """Seed (time offset in ns, name, size) files; files of one offset are seeded together."""
    start = clock.now
    for offset in sorted({offset for offset, _, _ in files}):
        clock.now = start + offset
        group = [(name, size) for o, name, size in files if o == offset]
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda item: seed(server, item[0], b"x" * item[1]), group))
    clock.now = start + max((offset for offset, _, _ in files), default=0) + SECOND


def ids(client: FilesClient, sort: str, desc: bool, **kwargs) -> list[str]:
    with client.iter_files(sort=sort, descending=desc, **kwargs) as listing:
        return [info.id for info in listing]


def clear(server: RunningServer) -> None:
    for file_id in server.storage.all_ids():
        server.storage.delete(file_id)


files_strategy = st.lists(
    st.tuples(
        st.sampled_from([0, 0, 0, 1, 2, 5, SECOND, 3 * SECOND, 3 * SECOND + 1]),  # many equal times
        st.sampled_from(NAMES),
        st.sampled_from([0, 1, 1, 7, 300]),
    ),
    min_size=0,
    max_size=70,
)


@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(files=files_strategy, page_size=st.sampled_from([3, 5]), limit=st.sampled_from([None, 4, 9, 23]))
def test_windows_list_exactly_what_one_cursor_lists(client, clocked, clock, files, page_size, limit) -> None:
    clear(clocked)
    seed_at(clocked, clock, files)
    for sort, desc in ORDERS:
        one = ids(client, sort, desc, page_size=page_size, limit=limit, concurrency=1)
        many = ids(client, sort, desc, page_size=page_size, limit=limit, concurrency=4)
        assert many == one, (sort, desc)
        assert len(one) == (len(files) if limit is None else min(limit, len(files)))


def test_windows_are_used_and_split_on_equal_timestamps(client, clocked, clock) -> None:
    # 60 files over 4 distinct times, 3 per page: a listing of 20 pages read by 4 cursors.
    seed_at(clocked, clock, [(offset % 4, f"f{offset:02}", offset % 3) for offset in range(60)])
    for sort, desc in ORDERS:
        with client.iter_files(sort=sort, descending=desc, page_size=3, concurrency=4) as listing:
            got = [info.id for info in listing]
            assert listing.stats()["windows"] > 1, (sort, desc)
        assert got == ids(client, sort, desc, page_size=3, concurrency=1)


def test_read_ahead_stays_within_its_budget(client, clocked, clock) -> None:
    # The newest 120 files share one time: the first window reads them one page after another (it
    # cannot be cut) while the other cursors read ahead, at most the budget, through 150 more files.
    newest = 31 * SECOND
    files = [(newest, f"same-{i:03}", 1) for i in range(120)]
    files += [(group * SECOND, f"f{group:02}-{i}", 1) for group in range(30) for i in range(5)]
    seed_at(clocked, clock, files)
    bound = 4 * WINDOWS_PER_CURSOR * WINDOW_PAGES + 4  # the pages budget, and a call per cursor beyond it
    seen = peak = 0
    with client.iter_files(descending=True, page_size=2, concurrency=4) as listing:
        for _ in listing:
            seen += 1
            stats = listing.stats()
            peak = max(peak, stats["buffered_pages"] + stats["in_flight"])
    assert seen == 270
    assert 8 <= peak <= bound  # the others did read ahead, within the budget


@pytest.mark.parametrize("mode", ["reject", "ignore"])
def test_a_server_without_filters_gets_one_cursor_and_client_side_filtering(
    client, clocked, clock, mode: str
) -> None:
    seed_at(clocked, clock, [(i % 5, f"{'keep' if i % 2 else 'drop'}-{i:03}", i % 4) for i in range(40)])
    where = FileFilter(name_glob="keep-*", larger_than=1, labels=("keep",))
    expected = ids(client, "created_at", True, page_size=3, where=where, concurrency=1)
    assert len(expected) == 10
    with ListingProxy(clocked.target, filters=mode) as proxy:
        channel = connect(proxy.target, TEST_KEY)
        try:
            proxied = FilesClient(channel)
            for sort, desc in ORDERS:
                want = ids(client, sort, desc, page_size=3, where=where, concurrency=1)
                with proxied.iter_files(sort=sort, descending=desc, page_size=3, where=where) as listing:
                    assert [info.id for info in listing] == want, (sort, desc)
                    assert listing.stats()["windows"] == 1
        finally:
            channel.close()
    if mode == "reject":  # after the refusal, nothing but plain pages was asked for
        assert proxy.filters_sent()[-1] == ""


def test_the_filter_goes_to_the_server_as_far_as_its_language_can_say_it(clocked, clock) -> None:
    seed_at(clocked, clock, [(i, name, size) for i, (name, size) in enumerate([("r-1", 5), ("r-2", 50)])])
    with ListingProxy(clocked.target) as proxy:
        channel = connect(proxy.target, TEST_KEY)
        try:
            where = FileFilter(name_glob="r-*", larger_than=10, smaller_than=100, labels=("r",))
            with FilesClient(channel).iter_files(where=where, limit=5) as listing:
                assert [info.filename for info in listing] == ["r-2"]
        finally:
            channel.close()
    assert proxy.filters_sent() == ['name >= "r-" AND name < "r." AND size_bytes > 10 AND size_bytes < 100']


timestamps = st.tuples(st.integers(-(2**40), 2**40), st.integers(-5, 2 * SECOND))


@settings(max_examples=300, deadline=None, derandomize=True)
@given(created=st.none() | timestamps, expires=st.none() | timestamps, url=st.none() | timestamps)
def test_listing_json_objects_are_exactly_those_of_file_info(created, expires, url) -> None:
    # `ls --json` builds its objects straight from the messages; they must be FileInfo's, bit for bit.
    message = files_pb2.File(id="file_x", filename="a.txt", size=3)
    for field, value in (("created_at", created), ("expires_at", expires), ("public_url_expires_at", url)):
        if value is not None:
            getattr(message, field).seconds, getattr(message, field).nanos = value
    if url is not None:
        message.public_url = "https://example.invalid/x"
    assert FileInfo.json_from_pb(message) == FileInfo.from_pb(message).to_json()
