"""ListFiles writes stored rows straight into its reply: the same File messages `to_proto` makes,
for every combination of optional fields, over real gRPC."""

from __future__ import annotations

from tests.support.emulator import FakeClock
from xai_files_cli._pb import files_pb2
from xai_files_cli.emulator.files_service import add_files, to_proto
from xai_files_cli.emulator.filters import compile_filter
from xai_files_cli.emulator.storage import PageQuery


def test_list_reply_equals_to_proto_of_each_record(make_server) -> None:
    clock = FakeClock()
    running, client = make_server(clock=clock)
    storage = running.storage

    def upload(name: str, ttl: int | None = None) -> files_pb2.File:
        clock.advance(1)  # created in this order
        return client.upload(name, name.encode(), ttl=ttl)

    plain, expiring, shared = upload("plain.txt"), upload("expiring.txt", 7200), upload("shared.txt")
    storage.set_public_url(shared.id, "http://127.0.0.1:1/public/", None)
    lapsing = upload("lapsing.txt", 7200)
    storage.set_public_url(lapsing.id, "http://127.0.0.1:1/public/", 60)
    clock.advance(61)  # the last file's public URL has expired; the file has not

    records, _ = storage.list_files(PageQuery(limit=100))
    listed = client.list_all()
    assert [file.id for file in listed] == [plain.id, expiring.id, shared.id, lapsing.id]
    assert listed == [to_proto(record) for record in records]
    assert listed[2].public_url and not listed[3].HasField("public_url")
    assert listed[1].HasField("expires_at") and not listed[0].HasField("expires_at")

    rows, more = storage.list_rows(PageQuery(limit=3))
    reply = files_pb2.ListFilesResponse()
    add_files(reply, rows)
    assert more and list(reply.data) == listed[:3]


def test_a_kept_filter_binds_the_time_of_each_call() -> None:
    text = 'public_url != null AND name >= "a"'
    first, second = compile_filter(text, 1_000), compile_filter(text, 2_000)
    assert first.sql == second.sql
    assert 1_000 in first.params and 2_000 not in first.params
    assert 2_000 in second.params and 1_000 not in second.params
