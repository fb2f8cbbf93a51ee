"""A listing handed out a page at a time, as the JSON texts of its files: the same files, the same
text as the objects' JSON, the limit cut inside a page, over real gRPC."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.support.constants import TEST_KEY
from tests.support.emulator import FakeClock, seed
from xai_files_cli._pb import files_pb2
from xai_files_cli.core.channel import connect
from xai_files_cli.core.files import FilesClient
from xai_files_cli.core.records import FileInfo
from xai_files_cli.emulator.server import RunningServer
from xai_files_cli.output.machine import ARRAY_ELEMENT, JSONL_LINE

NAMES = ["plain.txt", 'quo"te\\', "tab\tnew\nline", "é日本😀", "bidi\u202eevil", "c1\x85", "del\x7f"]


@pytest.fixture
def clocked(emulators) -> RunningServer:
    return emulators.start(point_cli=False, faults=None, clock=FakeClock())


@pytest.fixture
def client(clocked: RunningServer) -> Iterator[FilesClient]:
    channel = connect(clocked.target, TEST_KEY)
    yield FilesClient(channel, timeout=10)
    channel.close()


def _stamp(seconds: int, nanos: int = 0) -> dict[str, int]:
    return {"seconds": seconds, "nanos": nanos}


MESSAGES = [
    files_pb2.File(id="file_a", filename="a", size=1, created_at=_stamp(1_700_000_000, 5)),
    files_pb2.File(id="file_b", filename="b\u2028", size=0),  # no created_at: 1970
    files_pb2.File(
        id="file_c",
        filename="c",
        size=2**40,
        created_at=_stamp(-62_135_596_801),  # before year 1: a RawTime
        expires_at=_stamp(253_402_300_800),  # after year 9999
        public_url="https://x/\u200fp",
    ),
    files_pb2.File(
        id="file_d",
        filename="d",
        size=3,
        created_at=_stamp(1_700_000_000, 1_500_000_000),  # invalid nanos
        expires_at=_stamp(1_800_000_000),
        public_url="https://x/q",
        public_url_expires_at=_stamp(1_800_000_001),
    ),
]


@pytest.mark.parametrize("message", MESSAGES, ids=lambda m: m.id)
def test_json_text_is_the_json_of_the_object(message: files_pb2.File) -> None:
    value = FileInfo.json_from_pb(message)
    assert value == FileInfo.from_pb(message).to_json()
    line = FileInfo.json_text_from_pb(message, JSONL_LINE)
    assert line == json.dumps(value, ensure_ascii=False)
    element = FileInfo.json_text_from_pb(message, ARRAY_ELEMENT)
    assert element == json.dumps([value], ensure_ascii=False, indent=2)[len("[\n  ") : -len("\n]")]


def test_a_page_of_texts_is_each_file_on_its_own() -> None:
    """Texts made a page at a time reuse the text of a creation second the file before had: a file
    with invalid nanos (a RawTime) in that second, or between two files of it, keeps its own text."""
    second = 1_700_000_000
    page = [
        *MESSAGES,
        files_pb2.File(id="file_e", filename="e", created_at=_stamp(second, 7)),
        files_pb2.File(id="file_f", filename="f", created_at=_stamp(second, 1_500_000_000)),
        files_pb2.File(id="file_g", filename="g", created_at=_stamp(second)),
        files_pb2.File(id="file_h", filename="h", created_at=_stamp(second + 1)),
        files_pb2.File(id="file_i", filename="i", created_at=_stamp(second, -1)),
    ]
    for layout in (JSONL_LINE, ARRAY_ELEMENT):
        assert FileInfo.json_texts_from_pb(page, layout) == [
            FileInfo.json_text_from_pb(message, layout) for message in page
        ]
    assert [json.loads(text) for text in FileInfo.json_texts_from_pb(page, JSONL_LINE)] == [
        FileInfo.from_pb(message).to_json() for message in page
    ]


@pytest.mark.parametrize(("sort", "descending"), [("created_at", True), ("filename", False), ("size", True)])
def test_pages_hold_the_files_iteration_gives_cut_at_the_limit(
    clocked: RunningServer, client: FilesClient, sort: str, descending: bool
) -> None:
    for index in range(23):
        seed(clocked, NAMES[index % len(NAMES)] + str(index), b"x" * (index % 5))
    with client.iter_files(sort=sort, descending=descending, page_size=5, as_json=True) as listing:
        objects = list(listing)
    query = {"sort": sort, "descending": descending, "page_size": 5, "limit": 12}
    with client.iter_files(**query, json_layout=JSONL_LINE) as listing:
        pages = list(listing.pages())
        assert listing.has_more()
    assert all(pages) and sum(len(page) for page in pages) == 12
    assert [json.loads(text) for page in pages for text in page] == objects[:12]
    with client.iter_files(**query, json_layout=JSONL_LINE) as listing:
        first = next(listing)  # iteration and pages share the position
        rest = [text for page in listing.pages() for text in page]
    assert [json.loads(text) for text in [first, *rest]] == objects[:12]
