"""ListFiles: limits, sort keys and orders, keyset pagination, filters and expiry, over real gRPC."""

from __future__ import annotations

import base64
import json

import grpc
import pytest

from tests.support.emulator import FakeClock, disk_state
from tests.support.raw_grpc import error_of, status_of
from xai_files_cli._pb import files_pb2
from xai_files_cli.emulator.pagination import filter_digest

INVALID = grpc.StatusCode.INVALID_ARGUMENT
CREATED, FILENAME, SIZE = (
    files_pb2.FILES_SORT_BY_CREATED_AT,
    files_pb2.FILES_SORT_BY_FILENAME,
    files_pb2.FILES_SORT_BY_SIZE,
)
ASC, DESC = files_pb2.ASCENDING, files_pb2.DESCENDING


@pytest.fixture
def clocked(make_server):
    """A server with a fake clock; each upload happens one second after the previous one."""
    clock = FakeClock()
    running, client = make_server(clock=clock)
    return running, client, clock


def _upload_series(client, clock, specs):
    made = []
    for name, size in specs:
        clock.advance(1)
        made.append(client.upload(name, b"x" * size))
    return made


def _key(sort):
    return {
        CREATED: lambda f: (f.created_at.ToNanoseconds(), f.id),
        FILENAME: lambda f: (f.filename.encode("utf-8"), f.id),
        SIZE: lambda f: (f.size, f.id),
    }[sort]


def test_empty_store_lists_nothing_and_no_token(files):
    page = files.list()
    assert list(page.data) == []
    assert not page.HasField("pagination_token")


@pytest.mark.parametrize(
    ("limit", "expected"), [(0, 100), (-5, 100), (1, 1), (100, 100), (101, 100), (10_000, 100)]
)
def test_limit_is_clamped(server, files, limit, expected):
    for index in range(105):
        server.storage.begin_upload(f"f{index:03}", None).commit()
    page = files.list(limit=limit)
    assert len(page.data) == expected
    assert page.HasField("pagination_token")


@pytest.mark.parametrize("sort", [CREATED, FILENAME, SIZE])
@pytest.mark.parametrize("order", [ASC, DESC])
def test_every_sort_key_and_order_is_total_and_pages_cover_each_file_once(clocked, sort, order):
    _, client, clock = clocked
    specs = [("b.txt", 3), ("B.txt", 1), ("a.txt", 3), ("a.txt", 2), ("ä.txt", 1), ("Z.txt", 0), ("b.txt", 3)]
    made = _upload_series(client, clock, specs)
    expected = sorted(made, key=_key(sort), reverse=order == DESC)
    for limit in (1, 2, 3, 100):
        listed = client.list_all(sort_by=sort, order=order, limit=limit)
        assert [f.id for f in listed] == [f.id for f in expected], (limit, sort, order)


def test_default_is_created_at_ascending(clocked):
    _, client, clock = clocked
    made = _upload_series(client, clock, [("c", 1), ("a", 3), ("b", 2)])
    assert [f.id for f in client.list().data] == [f.id for f in made]


def test_filename_sort_is_case_sensitive_codepoint_order(clocked):
    _, client, clock = clocked
    _upload_series(client, clock, [("b", 1), ("a", 1), ("B", 1), ("A", 1), ("é", 1), ("_", 1)])
    names = [f.filename for f in client.list(sort_by=FILENAME).data]
    assert names == ["A", "B", "_", "a", "b", "é"]


def test_ties_are_broken_by_id(clocked):
    _, client, _ = clocked
    made = [client.upload(f"same{i}", b"1234") for i in range(6)]  # the clock does not move: equal times
    ids = sorted(f.id for f in made)
    assert [f.id for f in client.list_all(limit=2)] == ids
    assert [f.id for f in client.list_all(limit=2, sort_by=SIZE, order=DESC)] == ids[::-1]


def test_pagination_is_stable_under_concurrent_inserts_and_deletes(clocked):
    _, client, clock = clocked
    made = _upload_series(client, clock, [(f"f{i}", i) for i in range(10)])
    first = client.list(limit=4)
    assert [f.id for f in first.data] == [f.id for f in made[:4]]
    client.delete(made[1].id)  # already seen
    client.delete(made[5].id)  # not yet seen: must not appear
    clock.advance(1)
    late = client.upload("late", b"")  # newer than everything: appears at the end
    rest = []
    token = first.pagination_token
    while token:
        page = client.list(limit=4, pagination_token=token)
        rest.extend(page.data)
        token = page.pagination_token if page.HasField("pagination_token") else None
    expected = [f.id for f in made[4:] if f.id != made[5].id] + [late.id]
    assert [f.id for f in rest] == expected


def test_no_token_on_the_exact_final_page(clocked):
    _, client, clock = clocked
    _upload_series(client, clock, [("a", 1), ("b", 1)])
    first = client.list(limit=1)
    assert first.HasField("pagination_token")
    second = client.list(limit=1, pagination_token=first.pagination_token)
    assert len(second.data) == 1
    assert not second.HasField("pagination_token")


@pytest.mark.parametrize("char", ["日", "🎉", "é"])
def test_tokens_after_the_longest_filenames_are_accepted(clocked, char):
    """A page ending at a 255-character non-ASCII name still yields a token the server accepts."""
    _, client, clock = clocked
    made = _upload_series(client, clock, [("~" * 255, 1), (char * 255, 1)])
    listed = client.list_all(sort_by=FILENAME, order=DESC, limit=1)  # the non-ASCII name comes first
    assert [f.filename for f in listed] == [char * 255, "~" * 255]
    assert [f.id for f in listed] == [f.id for f in sorted(made, key=_key(FILENAME), reverse=True)]


def _forge(payload: dict) -> str:
    raw = json.dumps(payload).encode()
    return "p1." + base64.urlsafe_b64encode(raw).decode().rstrip("=")


GOOD_ID = "file_00000000-0000-4000-8000-000000000000"


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "p1.",
        "p1.!!!!",
        "p1." + "A" * 5000,
        _forge({"s": "created_at", "d": False, "v": "text", "i": GOOD_ID, "f": "x"}),
        _forge({"s": "created_at", "d": False, "v": 1, "i": "' OR 1=1 --", "f": "x"}),
        _forge({"s": "drop table", "d": False, "v": 1, "i": GOOD_ID, "f": "x"}),
        _forge({"s": "created_at", "d": "no", "v": 1, "i": GOOD_ID, "f": "x"}),
        _forge({"s": "created_at", "d": False, "v": True, "i": GOOD_ID, "f": "x"}),
        _forge([1, 2, 3]),
        "p1." + base64.urlsafe_b64encode(b"\xff\xfe").decode(),
        "\x00\x1b[2J",
    ],
)
def test_bad_tokens_are_invalid_argument(files, token):
    assert status_of(lambda: files.list(pagination_token=token)) == INVALID


@pytest.mark.parametrize(
    ("sort", "value"),
    [(CREATED, 10**30), (CREATED, -(2**63) - 1), (SIZE, 2**63), (FILENAME, "\ud800")],
    ids=["huge", "tiny", "int64-max+1", "lone-surrogate"],
)
def test_forged_tokens_with_unstorable_values_are_invalid_argument(files, sort, value):
    """A well-formed token for the right query whose value SQLite cannot bind: never UNKNOWN."""
    sort_name = {CREATED: "created_at", FILENAME: "filename", SIZE: "size"}[sort]
    token = _forge({"s": sort_name, "d": False, "v": value, "i": GOOD_ID, "f": filter_digest(None)})
    error = error_of(lambda: files.list(sort_by=sort, pagination_token=token))
    assert error.code() == INVALID, error.details()


def test_token_is_bound_to_its_sort_order_and_filter(clocked):
    _, client, clock = clocked
    _upload_series(client, clock, [("a", 1), ("b", 2), ("c", 3)])
    token = client.list(limit=1, sort_by=SIZE, filter="size_bytes > 0").pagination_token
    assert client.list(limit=1, sort_by=SIZE, filter="size_bytes > 0", pagination_token=token).data
    for other in (
        {"sort_by": FILENAME, "filter": "size_bytes > 0"},
        {"sort_by": SIZE, "order": DESC, "filter": "size_bytes > 0"},
        {"sort_by": SIZE, "filter": "size_bytes > 1"},
        {"sort_by": SIZE},
    ):
        error = error_of(lambda other=other: client.list(limit=1, pagination_token=token, **other))
        assert error.code() == INVALID and "different" in error.details()


def test_empty_token_means_first_page(files):
    files.upload("a", b"")
    assert len(files.list(pagination_token="").data) == 1


def test_expired_files_disappear_from_every_rpc_and_the_sweep_removes_them(clocked):
    running, client, clock = clocked
    keep = client.upload("keep.txt", b"keep")
    short = client.upload("short.txt", b"bye", ttl=3600)
    clock.advance(3599)
    assert {f.id for f in client.list().data} == {keep.id, short.id}
    clock.advance(1)  # exactly at expires_at: gone
    assert [f.id for f in client.list().data] == [keep.id]
    for call in (
        lambda: client.get(short.id),
        lambda: client.content(short.id),
        lambda: client.delete(short.id),
        lambda: client.create_url(short.id),
    ):
        assert status_of(call) == grpc.StatusCode.NOT_FOUND
    assert running.storage.open_blob(short.id) is None
    assert running.storage.get(short.id) is None
    # The delete above already removed it; an expired row left alone is removed by the sweep.
    other = client.upload("other.txt", b"x", ttl=3600)
    clock.advance(3600)
    assert running.storage.sweep_expired() == 1
    assert other.id not in running.storage.all_ids()
    assert disk_state(running.data_dir)[0] == {keep.id}


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ('name = "report.pdf"', {"report.pdf"}),
        ('file_name = "report.pdf"', {"report.pdf"}),
        ('name != "report.pdf"', {"notes.txt", "pic.png", "big.bin"}),
        ("size_bytes > 100", {"big.bin"}),
        ("size_bytes >= 10", {"big.bin", "report.pdf", "pic.png"}),
        ("size_bytes < 10", {"notes.txt"}),
        ("size_bytes <= 5", {"notes.txt"}),
        ('content_type = "application/pdf"', {"report.pdf"}),
        ('content_type = "image/png"', {"pic.png"}),
        ("expires_at = null", {"report.pdf", "pic.png", "big.bin"}),
        ("expires_at != null", {"notes.txt"}),
        ('expires_at > "2020-01-01T00:00:00Z"', {"notes.txt"}),
        ("public_url != null", {"pic.png"}),
        ("public_url = null", {"notes.txt", "report.pdf", "big.bin"}),
        ('name = "pic.png" OR name = "notes.txt"', {"pic.png", "notes.txt"}),
        ('size_bytes > 1 AND NOT name = "big.bin"', {"notes.txt", "report.pdf", "pic.png"}),
        ('NOT expires_at > "2020-01-01T00:00:00Z"', {"report.pdf", "pic.png", "big.bin"}),
        ('(name = "a" OR size_bytes > 100) and not (size_bytes < 0)', {"big.bin"}),
        ('created_at > "2027-01-15T08:00:02.5+00:00"', {"pic.png", "big.bin"}),
        ('created_at <= "2027-01-15T09:00:02+01:00"', {"notes.txt", "report.pdf"}),
        ('name = "quote\\"d"', set()),
        ('name > "p"', {"report.pdf", "pic.png"}),
        # RFC 3339 allows years 0001-9999, beyond what int64 nanoseconds hold (1677-2262)
        ('created_at < "9999-12-31T23:59:59Z"', {"notes.txt", "report.pdf", "pic.png", "big.bin"}),
        ('created_at >= "9999-12-31T23:59:59Z"', set()),
        ('created_at > "0001-01-01T00:00:00Z"', {"notes.txt", "report.pdf", "pic.png", "big.bin"}),
        ('created_at <= "0001-01-01T00:00:00Z"', set()),
        ('expires_at < "3000-01-01T00:00:00-23:59"', {"notes.txt"}),
        ('public_url_expires_at != "9999-01-01T00:00:00Z"', set()),
    ],
)
def test_filters(make_server, expression, expected):
    clock = FakeClock(1_800_000_000)  # 2027-01-15T08:00:00Z
    _, client = make_server(clock=clock)
    clock.advance(1)
    notes = client.upload("notes.txt", b"hello", ttl=7200)
    clock.advance(1)
    client.upload("report.pdf", b"%PDF-1.4 tiny")
    clock.advance(1)
    pic = client.upload("pic.png", b"\x89PNG\r\n\x1a\nxx")
    client.create_url(pic.id)
    clock.advance(1)
    client.upload("big.bin", b"\0" * 500)
    assert notes.HasField("expires_at")
    listed = client.list_all(filter=expression, limit=1)
    assert {f.filename for f in listed} == expected


@pytest.mark.parametrize(
    "expression",
    [
        "size_bytes >",
        "size_bytes > ",
        "= 3",
        "size_bytes ~ 3",
        'size_bytes > "big"',
        "name = 3",
        'created_at > "yesterday"',
        'created_at > "2026-13-01T00:00:00Z"',
        "created_at > 5",
        "owner = 1",
        "upload_status = 1",
        "size_bytes > null",
        "(size_bytes > 1",
        "size_bytes > 1)",
        "size_bytes > 1 AND",
        "NOT",
        "size_bytes > 99999999999999999999999",
        '"unterminated',
        'name = "bad \\q escape"',
        "name = 'single'",
        "; DROP TABLE files; --",
        "(" * 100 + "size_bytes > 1" + ")" * 100,
        " OR ".join(["size_bytes > 1"] * 100),
        "x" * 5000,
    ],
)
def test_bad_filters_are_invalid_argument(files, expression):
    files.upload("a", b"")
    error = error_of(lambda: files.list(filter=expression))
    assert error.code() == INVALID
    assert "invalid filter" in error.details()
    assert len(files.list().data) == 1  # nothing was dropped
