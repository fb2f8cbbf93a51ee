"""The local server bounds the work of one request: attachment sizes are checked against the prompt
limit before reading, text is read under a character budget, PDF extraction runs in a child
process with a time and page budget, and a request the client cancelled stops working."""

from __future__ import annotations

import os
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest

from tests.support.emulator import ServeProcess
from tests.support.raw_grpc import error_of, request, user
from xai_files_cli._pb import chat_pb2_grpc, files_pb2
from xai_files_cli.emulator import chat_engine
from xai_files_cli.emulator.pdf_text import PdfLimits
from xai_files_cli.emulator.storage import Storage

MB = 1_000_000
TEXT = files_pb2.DOWNLOAD_FORMAT_TEXT
LINE = b"The risk register lists vendor delays, budget overruns and the office move.\n"


def _pdf(objects: list[bytes]) -> bytes:
    """A PDF file of the given objects (numbered from 1; object 1 is the catalog)."""
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return out


def _slow_pdf(operators: int = 1_000_000) -> bytes:
    """About 30 kB: one page whose compressed content stream holds a million text operators,
    which pypdf needs tens of seconds (and hundreds of MB) to walk."""
    content = zlib.compress(b"BT /F1 12 Tf " + b"(a) Tj 0 0 Td " * operators + b"ET", 9)
    return _pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
            b"<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream" % (len(content), content),
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        ]
    )


def _many_pages_pdf(pages: int) -> bytes:
    kids = b" ".join(b"%d 0 R" % (5 + i) for i in range(pages))
    page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 9 9] /Resources << /Font << /F1 4 0 R >> >> "
    return _pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, pages),
            b"<< /Length 22 >>\nstream\nBT /F1 12 Tf (x) Tj ET\nendstream",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
            *[page + b"/Contents 3 0 R >>" for _ in range(pages)],
        ]
    )


def _peak_rss_mb(pid: int) -> int:
    """The process's peak resident set size so far (VmHWM), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
    raise AssertionError("no VmHWM in /proc")


def _extraction_children() -> list[int]:
    """Pids of this process's PDF extraction children that are still running."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat_fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(stat_fields[1]) == os.getpid() and stat_fields[0] != "Z" and b"emulator.pdf_text" in command:
            found.append(int(entry.name))
    return found


def _wait_for(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


pytestmark = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")


def test_oversized_attachments_are_refused_fast_with_bounded_memory(tmp_path):
    """Four 47 MB text files are refused from their sizes alone, without being read; one 47 MB file
    (12 M tokens by size, not knowable before reading) is refused once 10 M tokens were read."""
    data_dir = tmp_path / "data"
    store = Storage(data_dir)
    payload = LINE * (47 * MB // len(LINE))
    ids = []
    for number in range(4):
        with store.begin_upload(f"big{number}.txt", None) as upload:
            upload.write(payload)
            ids.append(upload.commit().id)
    store.close()
    del payload
    serve = ServeProcess(data_dir)
    client = serve.client()
    chat = chat_pb2_grpc.ChatStub(client.channel)
    try:
        chat.GetCompletion(request(user("hello")), metadata=client.metadata, timeout=30)  # warm up
        baseline = _peak_rss_mb(serve.proc.pid)
        for attached, most_mb in ((ids, 15), (ids[:1], 120)):
            started = time.monotonic()
            error = error_of(
                lambda attached=attached: chat.GetCompletion(
                    request(user("What are the risks?", *attached)), metadata=client.metadata, timeout=30
                )
            )
            elapsed = time.monotonic() - started
            assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert "this model accepts 10000000" in error.details()
            assert elapsed < 3, elapsed
            grown = _peak_rss_mb(serve.proc.pid) - baseline
            assert grown < most_mb, f"peak RSS grew by {grown} MiB for {len(attached)} file(s)"
    finally:
        client.close()
        serve.kill()


def test_a_crafted_slow_pdf_is_refused_within_the_time_budget(make_server):
    _, files = make_server(pdf_limits=PdfLimits(seconds=0.5))
    stored = files.upload("slow.pdf", _slow_pdf())
    chat = chat_pb2_grpc.ChatStub(files.channel)
    calls = {
        "chat": lambda: chat.GetCompletion(
            request(user("risks?", stored.id)), metadata=files.metadata, timeout=20
        ),
        "text download": lambda: files.content(stored.id, TEXT),
    }
    for what, call in calls.items():
        started = time.monotonic()
        error = error_of(call)
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, (what, error.details())
        assert "took longer than 0.5 s" in error.details()
        assert time.monotonic() - started < 5, what
    assert _wait_for(lambda: _extraction_children() == [], 3)


def test_a_pdf_with_too_many_pages_is_refused(make_server):
    _, files = make_server(pdf_limits=PdfLimits(max_pages=20))
    stored = files.upload("long.pdf", _many_pages_pdf(30))
    error = error_of(lambda: files.content(stored.id, TEXT))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "it has 30 pages; the local server reads at most 20" in error.details()
    fine = files.upload("short.pdf", _many_pages_pdf(3))
    assert files.content(fine.id, TEXT) == b"x\nx\nx"


@pytest.mark.parametrize("call", ["chat", "text download"])
def test_a_cancelled_request_stops_its_pdf_extraction(make_server, caplog, call):
    _, files = make_server(pdf_limits=PdfLimits(seconds=60))
    stored = files.upload("slow.pdf", _slow_pdf())
    if call == "chat":
        stub = chat_pb2_grpc.ChatStub(files.channel)
        future = stub.GetCompletion.future(request(user("risks?", stored.id)), metadata=files.metadata)
    else:
        request_ = files_pb2.RetrieveFileContentRequest(file_id=stored.id, format=TEXT)
        future = files.stub.RetrieveFileContent(request_, metadata=files.metadata)
    caplog.set_level("INFO", logger="xai.emulator")
    assert _wait_for(lambda: len(_extraction_children()) == 1, 10), "the extraction never started"
    future.cancel()
    started = time.monotonic()
    assert _wait_for(lambda: _extraction_children() == [], 5), "the extraction outlived its client"
    assert time.monotonic() - started < 2
    if call == "chat":
        assert _wait_for(lambda: "chat request stopped: the client went away" in caplog.text, 5)


def test_ranking_stops_when_asked():
    text = "risk " * 500_000
    document = chat_engine.index_document("big.txt", text)
    asked = []

    def should_stop() -> bool:
        asked.append(True)
        return True

    with pytest.raises(chat_engine.Stopped):
        chat_engine.answer(
            [chat_engine.Turn("user", "risk?")], [chat_engine.Attachment(document)], should_stop=should_stop
        )
    assert len(asked) == 1
