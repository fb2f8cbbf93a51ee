"""UploadFile over real gRPC: stream rules, hostile filenames, TTLs, size limits, cancellation."""

from __future__ import annotations

import hashlib
import threading

import grpc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.constants import MIB
from tests.support.emulator import disk_state
from tests.support.raw_grpc import chunked, data, error_of, init, status_of
from xai_files_cli._pb import files_pb2
from xai_files_cli.emulator.faults import FaultPlan

INVALID = grpc.StatusCode.INVALID_ARGUMENT


def test_upload_returns_metadata_and_bytes_round_trip(files, server):
    payload = bytes(range(256)) * 50_000  # 12.8 MB: several 3 MiB chunks
    created = files.upload("report.bin", payload)
    assert created.id.startswith("file_") and len(created.id) == 41
    assert created.size == len(payload)
    assert created.filename == "report.bin"
    assert not created.HasField("expires_at")
    assert created.created_at.seconds > 0
    assert hashlib.sha256(files.content(created.id)).digest() == hashlib.sha256(payload).digest()
    assert files.get(created.id) == created
    blobs, temps = disk_state(server.data_dir)
    assert blobs == {created.id} and temps == set()


def test_init_only_stream_is_a_valid_empty_file(files):
    created = files.upload_messages([init("empty.txt")])
    assert created.size == 0
    assert files.content(created.id) == b""


def test_empty_data_chunks_are_accepted(files):
    created = files.upload_messages([init("a.txt"), data(b""), data(b"xy"), data(b"")])
    assert created.size == 2


@pytest.mark.parametrize(
    ("messages", "needle"),
    [
        ([], "empty upload stream"),
        ([data(b"abc")], "first upload message must be init"),
        ([data(b"abc"), init("late.txt")], "first upload message must be init"),
        ([init("a.txt"), init("b.txt")], "second init"),
        ([init("a.txt"), data(b"x"), init("b.txt")], "second init"),
        ([init("a.txt"), files_pb2.UploadFileChunk()], "empty chunk"),
        ([init("")], "must not be empty"),
    ],
    ids=["empty-stream", "data-only", "data-first", "init-twice", "late-init", "unset-chunk", "empty-name"],
)
def test_malformed_streams_are_invalid_argument_and_store_nothing(files, server, messages, needle):
    error = error_of(lambda: files.upload_messages(messages))
    assert error.code() == INVALID, error.details()
    assert needle in error.details()
    assert files.list().data == []
    assert disk_state(server.data_dir) == (set(), set())


@pytest.mark.parametrize(
    "name",
    [
        "a\x00b",
        "line\nbreak",
        "cr\rhere",
        "tab\tname",
        "esc\x1b[31m",
        "del\x7f",
        "nel\x85",
        "c1\x80",
        "c1\x9f",
        "ls\u2028",
        "ps\u2029",
        'quote"d',
        "semi;colon",
        "back\\slash",
        "x" * 256,
        ".",
        "..",
    ],
)
def test_forbidden_filenames_are_rejected(files, server, name):
    assert status_of(lambda: files.upload(name, b"data")) == INVALID
    assert disk_state(server.data_dir) == (set(), set())


@pytest.mark.parametrize(
    "name",
    [
        "../../etc/passwd",
        "/abs/path.txt",
        "\u202egnp.exe",
        "CON",
        "nul.txt",
        "trailing. ",
        "e\u0301.txt",  # non-NFC: must come back unnormalised
        "日本語のファイル.pdf",
        "x" * 255,
        "emoji 🎉.png",
    ],
)
def test_hostile_but_valid_names_round_trip_and_never_become_paths(files, server, name):
    created = files.upload(name, b"content")
    assert created.filename == name
    assert files.get(created.id).filename == name
    blobs, _ = disk_state(server.data_dir)
    assert blobs == {created.id}  # the blob is named by the server id, never the filename
    outside = {p.name for p in server.data_dir.parent.iterdir()}
    assert outside == {server.data_dir.name}


_valid_names = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs", "Cc"),
        blacklist_characters='\u2028\u2029";\\',
    ),
    min_size=1,
    max_size=255,
).filter(lambda s: s not in (".", ".."))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=_valid_names)
def test_any_valid_filename_round_trips_exactly(files, name):
    created = files.upload(name, b"")
    assert files.get(created.id).filename == name
    files.delete(created.id)


@pytest.mark.parametrize("ttl", [3600, 86_400, 2_592_000])
def test_ttl_sets_expires_at_from_created_at(files, ttl):
    created = files.upload("t.txt", b"x", ttl=ttl)
    assert created.expires_at.ToNanoseconds() - created.created_at.ToNanoseconds() == ttl * 10**9


@pytest.mark.parametrize("ttl", [0, -1, 3599, 2_592_001, 2**62])
def test_ttl_out_of_range_is_rejected(files, server, ttl):
    error = error_of(lambda: files.upload("t.txt", b"x", ttl=ttl))
    assert error.code() == INVALID
    assert "expires_after" in error.details()
    assert disk_state(server.data_dir) == (set(), set())


def test_size_limit_is_inclusive_and_crossing_it_is_resource_exhausted(make_server):
    running, client = make_server(max_file_size=10)
    assert client.upload("ok.bin", b"0123456789").size == 10
    error = error_of(lambda: client.upload_messages([init("big.bin"), data(b"01234"), data(b"567890")]))
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "maximum of 10 bytes" in error.details()
    assert [f.filename for f in client.list().data] == ["ok.bin"]
    assert disk_state(running.data_dir)[1] == set()


def test_limit_is_enforced_as_soon_as_crossed_not_after_reading_everything(make_server):
    """The server stops the stream at the crossing chunk; the client is not drained to the end."""
    running, client = make_server(max_file_size=4 * MIB)
    pulled = 0
    total_chunks = 200  # 200 MiB if the server kept reading

    def messages():
        nonlocal pulled
        yield init("huge.bin")
        for _ in range(total_chunks):
            pulled += 1
            yield data(b"\0" * MIB)

    assert status_of(lambda: client.upload_messages(messages())) == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert pulled < 40  # the limit is crossed at chunk 5; flow-control windows allow a few more
    assert client.list().data == []
    assert disk_state(running.data_dir) == (set(), set())


def test_default_limit_is_512_megabytes_decimal(server):
    assert server.storage.max_file_size == 512_000_000


API_MESSAGE_LIMIT = 20 * MIB


def _data_of_serialized_size(size: int) -> files_pb2.UploadFileChunk:
    """A data chunk whose wire form is exactly `size` bytes (tag and length prefix included)."""
    message = data(b"\0" * (size - 5))  # 1 tag byte and a 4-byte length for 2 to 256 MiB of data
    assert message.ByteSize() == size
    return message


def _refused_upload(make_server, messages: list[files_pb2.UploadFileChunk]) -> grpc.RpcError:
    """Send `messages` to a fresh emulator; check that the upload handler itself refused the stream
    with RESOURCE_EXHAUSTED (so no commit could follow it) and that nothing was stored."""
    plan = FaultPlan()
    running, client = make_server(faults=plan)
    error = error_of(lambda: client.upload_messages(messages))
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, error.details()
    assert plan.wait_for(lambda p: p.outcomes("UploadFile") == ["RESOURCE_EXHAUSTED"], timeout=10), (
        plan.outcomes("UploadFile")
    )
    assert client.list().data == []
    assert disk_state(running.data_dir) == (set(), set())
    return error


def test_single_message_above_receive_limit_is_resource_exhausted(make_server):
    """One 21 MiB message exceeds the 20 MiB message limit: the handler refuses it in grpc's words,
    whatever the load (a refusal by the transport would end the stream like a half-close)."""
    error = _refused_upload(make_server, [init("x.bin"), data(b"\0" * (21 * MIB))])
    assert error.details() == f"Received message larger than max ({21 * MIB + 5} vs. {API_MESSAGE_LIMIT})"


def test_oversized_message_after_good_chunks_stores_nothing(make_server):
    """Good chunks, then one message above the limit: the chunks already written are never
    committed as a truncated file while the client is told the upload failed."""
    good = [data(b"a" * MIB) for _ in range(3)]
    _refused_upload(make_server, [init("x.bin"), *good, data(b"\0" * (21 * MIB))])


def test_message_limit_is_inclusive(make_server):
    """A chunk whose wire form is exactly 20 MiB is stored; one byte more is refused."""
    _, client = make_server()
    at_limit = _data_of_serialized_size(API_MESSAGE_LIMIT)
    assert client.upload_messages([init("edge.bin"), at_limit]).size == len(at_limit.data)
    error = _refused_upload(make_server, [init("over.bin"), _data_of_serialized_size(API_MESSAGE_LIMIT + 1)])
    assert f"({API_MESSAGE_LIMIT + 1} vs. {API_MESSAGE_LIMIT})" in error.details()


def test_chunks_up_to_five_megabytes_are_accepted(files):
    payload = b"z" * (5 * 1000 * 1000 + 17)
    created = files.upload_messages([init("five.bin"), *chunked(payload, size=len(payload))])
    assert created.size == len(payload)


def test_cancel_mid_upload_leaves_no_row_and_no_temp(make_server):
    """The client cancels after the first chunk; the server sees CANCELLED and keeps nothing."""
    plan = FaultPlan()
    running, client = make_server(faults=plan)
    first_sent = threading.Event()
    release = threading.Event()

    def messages():
        yield init("cancelled.bin")
        yield data(b"a" * MIB)
        first_sent.set()
        release.wait(10)
        yield data(b"b" * MIB)

    future = client.stub.UploadFile.future(messages(), metadata=client.metadata)
    assert first_sent.wait(10)
    # Wait until the server is holding a temp file for this upload, then cancel.
    assert _wait(lambda: disk_state(running.data_dir)[1] != set())
    future.cancel()
    release.set()
    assert plan.wait_for(lambda p: p.outcomes("UploadFile") == ["CANCELLED"], timeout=10)
    assert _wait(lambda: disk_state(running.data_dir) == (set(), set()))
    assert client.list().data == []


def _wait(predicate, timeout: float = 10.0) -> bool:
    """Poll a filesystem condition (no event exists for it) with a short interval."""
    done = threading.Event()
    deadline = timeout / 0.02
    for _ in range(int(deadline)):
        if predicate():
            return True
        done.wait(0.02)
    return predicate()
