"""Values our protos do not know, from a server speaking a newer API: never a traceback.

A small gRPC server in the test serves Files, Chat and Models replies with timestamps datetime cannot
hold (past year 9999, before year 1, invalid nanos) and enum numbers newer than our protos. The
CLI shows such a time raw (`@SECONDS` on a terminal, the seconds as an integer in JSON) and such an
enum value as the number (`unknown(17)` on a terminal, 17 in JSON).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path

import grpc
import pytest
from google.protobuf import timestamp_pb2

from tests.support.cli import run_xai
from tests.support.constants import TEST_KEY
from xai_files_cli._pb import (
    chat_pb2,
    chat_pb2_grpc,
    files_pb2,
    files_pb2_grpc,
    models_pb2,
    models_pb2_grpc,
    usage_pb2,
)

YEAR_10000 = 253402300800  # 10000-01-01T00:00:00Z, one second past what datetime can hold
BEFORE_YEAR_1 = -62135596801
NEW_FINISH_REASON = 17
NEW_MODALITY = 42


def _time(seconds: int, nanos: int = 0) -> timestamp_pb2.Timestamp:
    return timestamp_pb2.Timestamp(seconds=seconds, nanos=nanos)


def _file(file_id: str, name: str, size: int, created: timestamp_pb2.Timestamp) -> files_pb2.File:
    return files_pb2.File(
        id=file_id,
        filename=name,
        size=size,
        created_at=created,
        expires_at=_time(2**62),
        public_url="https://files.example/x",
        public_url_expires_at=_time(BEFORE_YEAR_1),
    )


FILES = [
    _file("file_far", "far.txt", 3, _time(YEAR_10000)),
    _file("file_old", "old.txt", 4, _time(BEFORE_YEAR_1)),
    _file("file_nanos", "nanos.txt", 5, _time(0, nanos=-5)),
]


class NewerFiles(files_pb2_grpc.FilesServicer):
    """Stores nothing; answers with far timestamps."""

    def __init__(self) -> None:
        self.uploaded: list[str] = []

    def UploadFile(self, request_iterator, context):
        size = name = 0
        for message in request_iterator:
            if message.WhichOneof("chunk") == "init":
                name = message.init.name
            else:
                size += len(message.data)
        self.uploaded.append(str(name))
        return _file("file_new", str(name), size, _time(YEAR_10000))

    def ListFiles(self, request, context):
        return files_pb2.ListFilesResponse(data=FILES)

    def RetrieveFile(self, request, context):
        return next(f for f in FILES if f.id == request.file_id)

    def DeleteFile(self, request, context):
        return files_pb2.DeleteFileResponse(id=request.file_id, deleted=True)


def _answer_output() -> chat_pb2.CompletionOutput:
    message = chat_pb2.CompletionMessage(role=chat_pb2.ROLE_ASSISTANT, content="An answer.")
    return chat_pb2.CompletionOutput(finish_reason=NEW_FINISH_REASON, message=message)


class NewerChat(chat_pb2_grpc.ChatServicer):
    """One answer whose finish reason is newer than our protos, created past year 9999."""

    def GetCompletion(self, request, context):
        return chat_pb2.GetChatCompletionResponse(
            id="resp_1",
            model="grok-next",
            outputs=[_answer_output()],
            created=_time(YEAR_10000),
            usage=usage_pb2.SamplingUsage(prompt_tokens=3, completion_tokens=2),
        )

    def GetCompletionChunk(self, request, context):
        delta = chat_pb2.Delta(role=chat_pb2.ROLE_ASSISTANT, content="An answer.")
        yield chat_pb2.GetChatCompletionChunk(
            id="resp_1",
            model="grok-next",
            outputs=[chat_pb2.CompletionOutputChunk(delta=delta, finish_reason=NEW_FINISH_REASON)],
            created=_time(YEAR_10000),
            usage=usage_pb2.SamplingUsage(prompt_tokens=3, completion_tokens=2),
        )


class NewerModels(models_pb2_grpc.ModelsServicer):
    def ListLanguageModels(self, request, context):
        model = models_pb2.LanguageModel(
            name="grok-next",
            input_modalities=[models_pb2.TEXT, NEW_MODALITY],
            output_modalities=[NEW_MODALITY],
            created=_time(YEAR_10000),
            max_prompt_length=1000,
        )
        return models_pb2.ListLanguageModelsResponse(models=[model])


@pytest.fixture
def newer_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[NewerFiles]:
    """The newer-API server on a loopback port; the CLI points at it."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    files = NewerFiles()
    files_pb2_grpc.add_FilesServicer_to_server(files, server)
    chat_pb2_grpc.add_ChatServicer_to_server(NewerChat(), server)
    models_pb2_grpc.add_ModelsServicer_to_server(NewerModels(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    monkeypatch.setenv("XAI_API_HOST", f"127.0.0.1:{port}")
    monkeypatch.setenv("XAI_API_KEY", TEST_KEY)
    try:
        yield files
    finally:
        server.stop(grace=0)


def _ok(*args: str, stdout_tty: bool = False) -> str:
    result = run_xai(*args, stdout_tty=stdout_tty)
    assert (result.code, result.stderr) == (0, ""), result
    assert "Traceback" not in result.stdout
    return result.stdout


def test_ls_json_gives_out_of_range_times_as_seconds(newer_server: NewerFiles) -> None:
    listed = json.loads(_ok("files", "ls", "--json"))
    assert [(f["id"], f["created_at"]) for f in listed] == [
        ("file_far", YEAR_10000),
        ("file_old", BEFORE_YEAR_1),
        ("file_nanos", 0),
    ]
    assert {f["expires_at"] for f in listed} == {2**62}
    assert {f["public_url_expires_at"] for f in listed} == {BEFORE_YEAR_1}


def test_ls_table_shows_out_of_range_times_raw(newer_server: NewerFiles) -> None:
    out = _ok("files", "ls", stdout_tty=True)
    rows = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert f"@{YEAR_10000}" in rows["file_far"] and f"@{2**62}" in rows["file_far"]
    assert f"@{BEFORE_YEAR_1}" in rows["file_old"]
    assert "@0" in rows["file_nanos"]


def test_get_shows_raw_times_on_a_terminal_and_in_json(newer_server: NewerFiles) -> None:
    out = _ok("files", "get", "file_far", stdout_tty=True)
    assert f"created      @{YEAR_10000} (seconds since 1970; outside the dates" in out
    assert f"url expires  @{BEFORE_YEAR_1}" in out
    assert json.loads(_ok("files", "get", "file_old"))["created_at"] == BEFORE_YEAR_1


def test_a_stored_upload_still_reports_its_id(newer_server: NewerFiles, tmp_path: Path) -> None:
    path = tmp_path / "up.txt"
    path.write_bytes(b"hello")
    assert _ok("files", "upload", str(path)) == "file_new\n"
    shown = _ok("files", "upload", str(path), stdout_tty=True)
    assert shown.startswith("Uploaded up.txt (5 B) as file_new, expires @")
    uploaded = json.loads(_ok("files", "upload", str(path), "--json"))
    assert (uploaded["id"], uploaded["size"], uploaded["created_at"]) == ("file_new", 5, YEAR_10000)
    assert newer_server.uploaded == ["up.txt"] * 3


@pytest.mark.parametrize("mode", [[], ["--no-stream"]])
def test_chat_json_gives_a_new_finish_reason_as_its_number(newer_server: NewerFiles, mode: list[str]) -> None:
    reply = json.loads(_ok("chat", "hello", "--json", *mode))
    assert (reply["content"], reply["finish_reason"]) == ("An answer.", NEW_FINISH_REASON)


def test_chat_on_a_terminal_names_an_unknown_finish_reason(newer_server: NewerFiles) -> None:
    result = run_xai("chat", "hello", "--raw", stdout_tty=True, stderr_tty=True)
    assert (result.code, result.stdout) == (0, "An answer.\n"), result
    assert f" · finish reason unknown({NEW_FINISH_REASON}) · conversation " in result.stderr


def test_models_give_new_modalities_and_far_times_raw(newer_server: NewerFiles) -> None:
    [model] = json.loads(_ok("models", "--json"))
    assert model["input_modalities"] == ["text", NEW_MODALITY]
    assert model["output_modalities"] == [NEW_MODALITY]
    assert model["created"] == YEAR_10000
    assert "grok-next" in _ok("models", stdout_tty=True)
