"""RetrieveFileContent (original and text), public URLs, hostile ids and download cancellation."""

from __future__ import annotations

import bz2
import gzip
import io
import os
import threading

import grpc
import pytest

from tests.support.constants import MIB
from tests.support.emulator import FakeClock
from tests.support.raw_grpc import error_of, status_of
from xai_files_cli._pb import files_pb2
from xai_files_cli.emulator.faults import FaultPlan

TEXT = files_pb2.DOWNLOAD_FORMAT_TEXT
ORIGINAL = files_pb2.DOWNLOAD_FORMAT_ORIGINAL
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32


def _pdf_with_text(text: str) -> bytes:
    """A minimal one-page PDF whose page content draws `text` (built by hand, no writer library)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def test_download_streams_in_chunks_of_at_most_3_mib(files):
    payload = os.urandom(7 * MIB + 5)
    created = files.upload("big.bin", payload)
    chunks = files.chunks(created.id)
    assert b"".join(chunks) == payload
    assert [len(c) for c in chunks] == [3 * MIB, 3 * MIB, MIB + 5]


@pytest.mark.parametrize("fmt", [None, files_pb2.DOWNLOAD_FORMAT_UNKNOWN, ORIGINAL])
def test_original_format_returns_the_raw_bytes(files, fmt):
    created = files.upload("x.pdf", b"%PDF-1.4 not really")
    assert files.content(created.id, fmt) == b"%PDF-1.4 not really"


def test_text_format_of_text_files_is_utf8(files):
    text = "héllo\nwörld — ünïcode ✓\n" * 1000
    created = files.upload("notes.md", text.encode())
    assert files.content(created.id, TEXT).decode() == text


def test_text_format_replaces_invalid_utf8(files):
    created = files.upload("log.txt", b"ok \xff\xfe end")
    assert files.content(created.id, TEXT).decode() == "ok \ufffd\ufffd end"


def test_text_format_of_a_pdf_is_its_extracted_text(files):
    created = files.upload("doc.pdf", _pdf_with_text("Quarterly revenue grew"))
    assert "Quarterly revenue grew" in files.content(created.id, TEXT).decode()


@pytest.mark.parametrize(
    ("name", "payload"),
    [
        ("pic.png", PNG),
        ("blob.bin", b"\0\1\2\3" * 10),
        ("archive.zip", b"PK\x03\x04" + b"\0" * 20),
        # a compressed file's name gives the type of the content after decompression, not of these bytes
        ("notes.txt.gz", gzip.compress(b"compressed text " * 50, mtime=0)),
        ("table.csv.bz2", bz2.compress(b"a,b\n1,2\n" * 50)),
    ],
)
def test_text_format_of_binary_files_is_invalid_argument(files, name, payload):
    created = files.upload(name, payload)
    error = error_of(lambda: files.content(created.id, TEXT))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "no text extraction" in error.details()


def test_text_format_of_a_broken_pdf_is_invalid_argument(files):
    created = files.upload("broken.pdf", b"%PDF-1.4\ngarbage without objects")
    assert status_of(lambda: files.content(created.id, TEXT)) == grpc.StatusCode.INVALID_ARGUMENT


# pypdf 7 raises AttributeError ('NumberObject' object has no attribute 'items') for a trailer
# that is a number instead of a dictionary: any parser failure must still be INVALID_ARGUMENT.
PDF_WITH_NUMBER_TRAILER = (
    b"%PDF-1.4\n1 0 obj\n<</Type/Catalog/Pages 2 0 R>>\nendobj\n2 0 obj\n<</Type/Pages/Kids[]/Count 0>>\n"
    b"endobj\nxref\n0 3\n0000000000 65535 f \n0000000009 00000 n \n0000000054 00000 n \n"
    b"trailer\n7\nstartxref\n100\n%%EOF\n"
)


def test_text_format_of_a_pdf_the_parser_chokes_on_is_invalid_argument(files):
    created = files.upload("odd.pdf", PDF_WITH_NUMBER_TRAILER)
    error = error_of(lambda: files.content(created.id, TEXT))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error.details()
    assert "cannot read PDF" in error.details()


def test_unknown_download_format_is_invalid_argument(files):
    created = files.upload("a.txt", b"a")
    assert status_of(lambda: files.content(created.id, 99)) == grpc.StatusCode.INVALID_ARGUMENT


HOSTILE_IDS = [
    "",
    "file_",
    "../x",
    "../../etc/passwd",
    "' OR 1=1 --",
    "file_00000000-0000-4000-8000-000000000000",  # well-formed but unknown
    "FILE_00000000-0000-4000-8000-000000000000",
    "file_00000000-0000-4000-8000-000000000000/../x",
    "\x00\x1b]52;c;AAAA\x07",
    "x" * (1024 * 1024),
]


@pytest.mark.parametrize("file_id", HOSTILE_IDS, ids=range(len(HOSTILE_IDS)))
def test_unknown_or_hostile_ids_are_not_found_everywhere(files, file_id):
    files.upload("keep.txt", b"k")
    for call in (
        lambda: files.get(file_id),
        lambda: files.delete(file_id),
        lambda: files.content(file_id),
        lambda: files.create_url(file_id),
        lambda: files.revoke_url(file_id),
    ):
        error = error_of(call)
        assert error.code() == grpc.StatusCode.NOT_FOUND
        assert len(error.details()) < 200
    assert len(files.list().data) == 1


def test_delete_then_everything_is_not_found(files, server):
    created = files.upload("gone.txt", b"bye")
    response = files.delete(created.id)
    assert response.id == created.id and response.deleted is True
    assert status_of(lambda: files.delete(created.id)) == grpc.StatusCode.NOT_FOUND
    assert status_of(lambda: files.get(created.id)) == grpc.StatusCode.NOT_FOUND
    assert status_of(lambda: files.content(created.id)) == grpc.StatusCode.NOT_FOUND
    assert list((server.data_dir / "blobs").iterdir()) == []


def test_open_download_survives_a_concurrent_delete(files, server):
    created = files.upload("big.bin", b"a" * (7 * MIB))
    stream = files.stub.RetrieveFileContent(
        files_pb2.RetrieveFileContentRequest(file_id=created.id), metadata=files.metadata
    )
    first = next(stream)
    files.delete(created.id)
    rest = b"".join(chunk.data for chunk in stream)
    assert len(first.data) + len(rest) == 7 * MIB


@pytest.mark.parametrize(
    ("name", "payload"),
    [
        ("pic.png", PNG),
        ("photo.jpg", b"\xff\xd8\xff\xe0" + b"\0" * 16),
        ("doc.pdf", b"%PDF-1.7\n"),
        ("clip.mp4", b"\0\0\0\x18ftypmp42" + b"\0" * 16),
        ("renamed.dat", PNG),
    ],
)
def test_public_url_for_images_videos_pdfs(files, server, name, payload):
    created = files.upload(name, payload)
    url = files.create_url(created.id)
    assert url.public_url.startswith(f"http://127.0.0.1:{server.storage.public_port()}/public/")
    assert not url.HasField("expires_at")
    again = files.create_url(created.id)
    assert again.public_url == url.public_url  # one URL per file
    assert files.get(created.id).public_url == url.public_url
    revoked = files.revoke_url(created.id)
    assert (revoked.file_id, revoked.revoked, revoked.public_url) == (created.id, True, url.public_url)
    assert not files.get(created.id).HasField("public_url")
    nothing = files.revoke_url(created.id)
    assert nothing.revoked is False and not nothing.HasField("public_url")
    assert files.content(created.id) == payload  # still readable with the key


@pytest.mark.parametrize(
    ("name", "payload"),
    [
        ("notes.txt", b"hello"),
        ("x.bin", b"\0\1"),
        ("page.html", b"<p>"),
        ("pic.png.gz", gzip.compress(PNG, mtime=0)),
    ],
)
def test_public_url_refused_for_other_types(files, name, payload):
    created = files.upload(name, payload)
    error = error_of(lambda: files.create_url(created.id))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "images, videos and PDFs" in error.details()


def test_public_url_expiry_rules(make_server):
    clock = FakeClock()
    _, client = make_server(clock=clock)
    no_ttl = client.upload("a.png", PNG)
    with_ttl = client.upload("b.png", PNG, ttl=7200)
    forever = client.create_url(no_ttl.id)
    assert not forever.HasField("expires_at")
    inherited = client.create_url(with_ttl.id)
    assert inherited.expires_at == with_ttl.expires_at
    explicit = client.create_url(no_ttl.id, expires_after=60)
    assert explicit.public_url == forever.public_url
    assert explicit.expires_at.ToNanoseconds() == clock.now + 60 * 10**9
    unchanged = client.create_url(no_ttl.id)  # omitted: keeps the current expiry
    assert unchanged.expires_at == explicit.expires_at
    assert client.get(no_ttl.id).public_url_expires_at == explicit.expires_at
    clock.advance(61)
    assert not client.get(no_ttl.id).HasField("public_url")  # expired URL is gone
    assert {f.filename for f in client.list(filter="public_url != null").data} == {"b.png"}
    renewed = client.create_url(no_ttl.id)
    assert renewed.public_url != forever.public_url
    for bad in (0, -5):
        assert status_of(lambda bad=bad: client.create_url(no_ttl.id, expires_after=bad)) == (
            grpc.StatusCode.INVALID_ARGUMENT
        )


def test_cancelled_downloads_stop_promptly_and_leak_no_fds(make_server):
    """Many downloads cancelled after the first chunk: the server notices each and keeps no fd open."""
    plan = FaultPlan()
    _, client = make_server(faults=plan)
    created = client.upload(
        "big.bin", b"x" * (48 * MIB)
    )  # far more than flow control lets through before a cancel
    fd_dir = "/proc/self/fd"

    def open_fds() -> int:
        return len(os.listdir(fd_dir))

    # Warm up (first calls create the per-thread DB connections), then measure.
    for _ in range(5):
        stream = client.stub.RetrieveFileContent(
            files_pb2.RetrieveFileContentRequest(file_id=created.id), metadata=client.metadata
        )
        next(stream)
        stream.cancel()
    assert plan.wait_for(lambda p: len(p.outcomes("RetrieveFileContent")) == 5)
    before = open_fds()
    rounds = 60
    for _ in range(rounds):
        stream = client.stub.RetrieveFileContent(
            files_pb2.RetrieveFileContentRequest(file_id=created.id), metadata=client.metadata
        )
        next(stream)
        stream.cancel()
    assert plan.wait_for(lambda p: len(p.outcomes("RetrieveFileContent")) == 5 + rounds)
    assert set(plan.outcomes("RetrieveFileContent")) == {"CANCELLED"}
    done = threading.Event()
    for _ in range(100):  # handler threads close their blob just after the cancellation is seen
        if open_fds() <= before + 2:
            break
        done.wait(0.02)
    assert open_fds() <= before + 2
