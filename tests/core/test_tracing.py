"""Opt-in OpenTelemetry: with OTEL_TRACES_EXPORTER=console each RPC's span is JSON on stderr and stdout
is unchanged; spans carry the SDK's attributes (file id, name, size, chunk count; gen_ai.* for chat);
OTLP over HTTP reaches a collector; `-v` and spans cover the batch engine's grpc.aio calls too; with
tracing off nothing of opentelemetry is imported."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import run_xai
from tests.support.constants import TEST_KEY
from tests.support.emulator import seed, seed_many
from tests.support.processes import run_python, xai_subprocess_env
from xai_files_cli.core import tracing
from xai_files_cli.core.channel import connect
from xai_files_cli.core.files import FilesClient
from xai_files_cli.emulator.server import RunningServer

CONSOLE = {"OTEL_TRACES_EXPORTER": "console"}


def run_cli(server: RunningServer, *args: str, env: dict[str, str] | None = None, cwd: Path | None = None):  # type: ignore[no-untyped-def]
    """`xai ARGS` as a real process against `server`, with extra environment."""
    full = xai_subprocess_env({"XAI_API_HOST": server.target, "XAI_API_KEY": TEST_KEY, **(env or {})})
    for name in [n for n in full if n.startswith("OTEL_") and n not in (env or {})]:
        del full[name]
    return run_python("-m", "xai_files_cli", *args, env=full, cwd=cwd)


def spans_in(stderr: str) -> list[dict[str, Any]]:
    """The span objects the console exporter wrote (pretty JSON, one after another)."""
    decoder = json.JSONDecoder()
    found, index = [], 0
    while (start := stderr.find("{\n", index)) != -1:
        span, end = decoder.raw_decode(stderr, start)
        found.append(span)
        index = end
    return found


def test_console_spans_go_to_stderr_and_stdout_is_unchanged(server: RunningServer) -> None:
    seed(server, "a.txt")
    plain = run_cli(server, "files", "ls", "--ids")
    traced = run_cli(server, "files", "ls", "--ids", env=CONSOLE)
    assert (traced.returncode, traced.stdout) == (0, plain.stdout), traced.stderr
    assert plain.stderr == ""
    [span] = spans_in(traced.stderr)
    assert (span["name"], span["kind"]) == ("file.list", "SpanKind.CLIENT")
    attributes = span["attributes"]
    assert attributes["rpc.service"] == "xai_api.Files" and attributes["rpc.method"] == "ListFiles"
    assert (attributes["file.count"], attributes["rpc.grpc.status_code"]) == (1, 0)
    assert attributes["server.port"] == server.port and attributes["provider.name"] == "xai"


def test_upload_span_has_the_file_id_name_size_and_chunk_count(server: RunningServer, tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(b"x" * (4 * 1024 * 1024))  # more than one 3 MiB chunk
    result = run_cli(server, "files", "upload", str(big), env=CONSOLE)
    assert result.returncode == 0, result.stderr
    [span] = spans_in(result.stderr)
    attributes = span["attributes"]
    assert span["name"] == "file.upload" and attributes["operation.name"] == "upload_file"
    assert attributes["file.id"] == result.stdout.strip()
    assert (attributes["file.name"], attributes["file.size"]) == ("big.bin", 4 * 1024 * 1024)
    assert attributes["file.chunk_count"] == 2


def test_download_spans_count_what_came_back(server: RunningServer, tmp_path: Path) -> None:
    file_id = seed(server, "notes.txt", b"hello world")
    result = run_cli(server, "files", "cat", file_id, "-o", str(tmp_path / "out.txt"), env=CONSOLE)
    assert result.returncode == 0, result.stderr
    by_name = {span["name"]: span["attributes"] for span in spans_in(result.stderr)}
    assert by_name["file.get"]["file.id"] == file_id and by_name["file.get"]["file.size"] == 11
    content = by_name["file.content"]
    assert (content["file.id"], content["file.size"], content["file.chunk_count"]) == (file_id, 11, 1)


def test_a_failed_call_is_an_error_span(server: RunningServer) -> None:
    result = run_cli(server, "files", "get", "file_nope", env=CONSOLE)
    assert result.returncode == 4
    [span] = spans_in(result.stderr.split("\nxai: ")[0])
    assert span["status"]["status_code"] == "ERROR" and span["status"]["description"] == "NOT_FOUND"
    assert span["attributes"]["rpc.grpc.status_code"] == 5
    assert result.stderr.rstrip().splitlines()[-1].startswith("xai: get file_nope: ")  # the error line stays


def test_chat_span_has_gen_ai_attributes(server: RunningServer, notes: Path) -> None:
    file_id = seed(server, "notes.txt", notes.read_bytes())
    result = run_cli(server, "chat", "-f", file_id, "What is the main risk?", env=CONSOLE)
    assert result.returncode == 0, result.stderr
    [chat] = [span for span in spans_in(result.stderr) if span["name"].startswith("chat")]
    attributes = chat["attributes"]
    assert chat["name"] == f"chat {attributes['gen_ai.request.model']}"
    assert attributes["gen_ai.operation.name"] == "chat" and attributes["gen_ai.provider.name"] == "xai"
    assert attributes["gen_ai.request.file_ids"] == [file_id]
    assert attributes["gen_ai.response.id"] and attributes["gen_ai.response.model"]
    usage = [attributes[f"gen_ai.usage.{kind}_tokens"] for kind in ("input", "output", "total")]
    assert usage[0] > 0 and usage[1] > 0 and usage[2] == usage[0] + usage[1]
    assert "What is the main risk" not in result.stderr  # prompts are not recorded


def test_batch_upload_calls_are_logged_with_v_and_traced(server: RunningServer, tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    for index in range(3):
        (folder / f"f{index}.txt").write_text(f"file {index}")
    result = run_cli(server, "-v", "files", "batch-upload", str(folder), env=CONSOLE)
    assert result.returncode == 0, result.stderr
    logged = [line for line in result.stderr.splitlines() if "/xai_api.Files/UploadFile" in line]
    assert len(logged) == 3, result.stderr
    assert all(f"INFO xai.rpc: /xai_api.Files/UploadFile {server.target}: OK in " in line for line in logged)
    uploads = [span for span in spans_in(result.stderr) if span["name"] == "file.upload"]
    assert sorted(span["attributes"]["file.name"] for span in uploads) == ["f0.txt", "f1.txt", "f2.txt"]
    assert {span["attributes"]["file.id"] for span in uploads} == {
        line.split("\t")[0] for line in result.stdout.splitlines()
    }


def test_v_logs_the_batch_engines_calls_in_process(xai, server: RunningServer, tmp_path: Path) -> None:
    for index in range(2):
        (tmp_path / f"f{index}.txt").write_text("x")
    result = xai("-v", "files", "batch-upload", str(tmp_path / "f0.txt"), str(tmp_path / "f1.txt"))
    assert result.code == 0, result
    assert result.stderr.count(f"xai: INFO xai.rpc: /xai_api.Files/UploadFile {server.target}: OK in ") == 2


class _Collector(BaseHTTPRequestHandler):
    received: list[tuple[str, bytes]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.path, body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def collector() -> Iterator[tuple[str, list[tuple[str, bytes]]]]:
    """An OTLP/HTTP collector on loopback: (its endpoint, the (path, body) pairs it received)."""
    received: list[tuple[str, bytes]] = []
    handler = type("Handler", (_Collector,), {"received": received})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", received
    httpd.shutdown()
    httpd.server_close()


def test_otlp_over_http_reaches_the_collector_without_the_key(server: RunningServer, collector) -> None:  # type: ignore[no-untyped-def]
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    endpoint, received = collector
    seed(server, "a.txt")
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"}
    result = run_cli(server, "files", "ls", "--ids", env=env)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert [path for path, _ in received] == ["/v1/traces"]  # exported before the process exited
    body = received[0][1]
    assert TEST_KEY.encode() not in body
    request = ExportTraceServiceRequest.FromString(body)
    spans = [span for rs in request.resource_spans for ss in rs.scope_spans for span in ss.spans]
    assert [span.name for span in spans] == ["file.list"]


@pytest.mark.parametrize(
    "env",
    [{}, {"OTEL_TRACES_EXPORTER": "none"}, {"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "console"}],
)
def test_tracing_off_imports_no_opentelemetry(server: RunningServer, env: dict[str, str]) -> None:
    """The extra is installed here; off, neither `--help` nor a call imports any of it."""
    for args in (["--help"], ["files", "ls", "--ids"]):
        result = run_cli(server, *args, env={"PYTHONPROFILEIMPORTTIME": "1", **env})
        assert result.returncode == 0, result.stderr
        imported = [line for line in result.stderr.splitlines() if "opentelemetry" in line]
        assert imported == [], imported[:3]
    assert "import time:" in result.stderr  # the check can see imports


@pytest.mark.parametrize(
    ("env", "wanted"),
    [
        ({}, False),
        ({"OTEL_TRACES_EXPORTER": "console"}, True),
        ({"OTEL_TRACES_EXPORTER": "none"}, False),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces"}, True),
        ({"OTEL_TRACES_EXPORTER": "console", "OTEL_SDK_DISABLED": "true"}, False),
    ],
)
def test_the_standard_environment_decides(env: dict[str, str], wanted: bool) -> None:
    assert tracing.wanted(env) is wanted


def test_in_process_runs_trace_only_while_asked(
    xai, server: RunningServer, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    seed(server, "a.txt")
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "console")
    tracing.reset()
    try:
        assert run_xai("files", "ls", "--ids").code == 0
    finally:
        monkeypatch.delenv("OTEL_TRACES_EXPORTER")
        tracing.reset()
    assert [span["name"] for span in spans_in(capfd.readouterr().err)] == ["file.list"]
    assert run_xai("files", "ls", "--ids").code == 0
    assert spans_in(capfd.readouterr().err) == []


def test_calls_cancelled_by_closing_a_listing_end_their_spans(
    emulators, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    """A listing closed early cancels its calls in flight; each still ends its span (asking a
    cancelled call for its exception raises, which gRPC swallowed, and the span stayed open)."""
    server = emulators.start("ListFiles:delay:amount=1,times=0", point_cli=False)
    seed_many(server, [f"f{index:02d}" for index in range(40)])
    assert server.faults is not None
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "console")
    tracing.reset()
    try:
        channel = connect(server.target, TEST_KEY)
        listing = FilesClient(channel).iter_files(page_size=3, concurrency=8)
        next(listing)
        in_flight = listing.stats()["in_flight"]
        assert in_flight > 0
        assert server.faults.wait_for(lambda plan: plan.calls("ListFiles") >= 1 + in_flight)
        listing.close()
        channel.close()
    finally:
        monkeypatch.delenv("OTEL_TRACES_EXPORTER")
        tracing.reset()
    spans = [span for span in spans_in(capfd.readouterr().err) if span["name"] == "file.list"]
    assert len(spans) == server.faults.calls("ListFiles"), (len(spans), server.faults.outcomes("ListFiles"))
