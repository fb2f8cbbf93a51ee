"""Conversations over real gRPC: `xai chat -c` / `--conversation` go on from the local log with the
earlier files still attached (history resent, or `--store` and previous_response_id), also across a
restart of `xai serve`; uploads carry their expiry and an expired one is sent again; `xai
conversations ls/show/rm` on a pipe and a terminal, rm deleting what the conversation uploaded."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from tests.support.cli import CliResult, run_xai
from tests.support.constants import TEST_KEY
from tests.support.emulator import ChatServer, FakeClock, ServeProcess
from tests.support.samples import make_pages_pdf
from xai_files_cli._pb import chat_pb2, chat_pb2_grpc

REPORT = [
    [
        "Quarterly report for the Falcon project.",
        "Revenue grew by 12 percent in the third quarter.",
        "Costs stayed flat.",
    ],
    ["Budget: a reserve of 40,000 euros is kept for testing.", "The main risk is the late sensor firmware."],
]
REVENUE = "Revenue grew by 12 percent in the third quarter."
BUDGET = "Budget: a reserve of 40,000 euros is kept for testing."
MODES = pytest.mark.parametrize("mode", [[], ["--store"]], ids=["history", "store"])


@pytest.fixture
def report(tmp_path: Path) -> Path:
    path = tmp_path / "report.pdf"
    path.write_bytes(make_pages_pdf(REPORT))
    return path


def ask(*args: str, **ttys: bool) -> dict:
    result = run_xai("chat", *args, "--json", **ttys)
    assert result.code == 0, result
    return json.loads(result.stdout)


def logged(*args: str) -> object:
    result = run_xai("conversations", *args)
    assert result.code == 0, result
    return json.loads(result.stdout)


class StoredCompletions:
    """The Chat service's stored-completion calls, raw, with the test key."""

    def __init__(self, target: str) -> None:
        self.channel = grpc.insecure_channel(target)
        self.stub = chat_pb2_grpc.ChatStub(self.channel)
        self.metadata = [("authorization", f"Bearer {TEST_KEY}")]

    def get(self, response_id: str) -> chat_pb2.GetChatCompletionResponse:
        request = chat_pb2.GetStoredCompletionRequest(response_id=response_id)
        return self.stub.GetStoredCompletion(request, metadata=self.metadata, timeout=10)

    def delete(self, response_id: str) -> None:
        request = chat_pb2.DeleteStoredCompletionRequest(response_id=response_id)
        self.stub.DeleteStoredCompletion(request, metadata=self.metadata, timeout=10)

    def gone(self, response_id: str) -> bool:
        try:
            self.get(response_id)
        except grpc.RpcError as error:
            return error.code() == grpc.StatusCode.NOT_FOUND
        return False


@pytest.fixture
def stored(chat_server) -> Iterator[tuple[ChatServer, StoredCompletions]]:
    srv: ChatServer = chat_server()
    client = StoredCompletions(srv.running.target)
    yield srv, client
    client.channel.close()


# -- going on with a conversation ---------------------------------------------------------------


@MODES
def test_turn_two_without_a_file_is_answered_from_the_pdf_of_turn_one(
    chat_server, report: Path, mode: list[str]
) -> None:
    srv: ChatServer = chat_server()
    first = ask("How did revenue grow?", "-f", str(report), *mode)
    assert REVENUE in first["content"]
    second = ask("-c", "What is the budget reserve?")
    assert BUDGET in second["content"]
    [cited] = second["citations"]
    assert (cited["name"], cited["page"], cited["file_id"]) == ("report.pdf", 2, first["files"][0]["id"])
    assert (second["conversation"], second["turn"]) == (first["conversation"], 2)
    assert [f["id"] for f in second["files"]] == [first["files"][0]["id"]]  # attached by id, not again
    assert srv.calls("UploadFile") == 1 and srv.calls("GetCompletionChunk") == 2
    shown = logged("show", "--json")
    assert shown["store"] == bool(mode) and [m["stored"] for m in shown["messages"]] == [bool(mode)] * 2


def test_store_mode_continues_from_the_stored_response(stored, report: Path) -> None:
    _srv, completions = stored
    first = ask("How did revenue grow?", "-f", str(report), "--store")
    kept = completions.get(first["id"])  # the server keeps the response, its file attached
    assert (
        REVENUE in [o for o in kept.outputs if o.message.role == chat_pb2.ROLE_ASSISTANT][-1].message.content
    )
    second = ask("-c", "What is the budget reserve?")
    assert BUDGET in second["content"]
    # The next turn refers to the stored response instead of sending the history: once the server
    # has forgotten it, going on fails.
    completions.delete(second["id"])
    result = run_xai("chat", "-c", "And the risk?")
    assert result.code == 4, result
    assert "no stored response" in result.stderr


def test_history_mode_sends_everything_and_needs_nothing_stored(stored, report: Path) -> None:
    _srv, completions = stored
    first = ask("How did revenue grow?", "-f", str(report))
    assert completions.gone(first["id"])  # nothing was stored on the server
    second = ask("-c", "What is the budget reserve?")
    assert BUDGET in second["content"]
    assert second["usage"]["prompt_tokens"] > first["usage"]["prompt_tokens"]  # the history was sent


def test_a_restart_of_xai_serve_between_turns(
    tmp_path: Path, report: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "served"
    serve = ServeProcess(data, key=TEST_KEY)
    try:
        monkeypatch.setenv("XAI_API_HOST", serve.target)
        monkeypatch.setenv("XAI_API_KEY", TEST_KEY)
        plain = ask("How did revenue grow?", "-f", str(report))
        kept = ask("How did revenue grow?", "-f", str(report), "--store")
        serve.proc.terminate()
        assert serve.finish()[0] == 0
    finally:
        serve.kill()
    again = ServeProcess(data, key=TEST_KEY)
    try:
        monkeypatch.setenv("XAI_API_HOST", again.target)
        for first in (plain, kept):
            second = ask("--conversation", first["conversation"], "What is the budget reserve?")
            assert BUDGET in second["content"] and second["turn"] == 2
    finally:
        again.kill()


def test_a_conversation_is_named_by_an_id_prefix_and_bad_references_are_refused(
    chat_server, notes: Path
) -> None:
    chat_server()
    assert (run_xai("chat", "-c", "more").code, run_xai("conversations", "show").code) == (4, 4)
    first = ask("What is the budget?", "-f", str(notes))
    other = ask("What are the risks?", "-f", str(notes), "--no-log")
    assert other["conversation"] is None
    again = ask("--conversation", first["conversation"][:5], "Tell me more")
    assert (again["conversation"], again["turn"]) == (first["conversation"], 2)
    unknown = run_xai("chat", "--conversation", "ffffffff", "more")
    assert unknown.code == 4 and "no conversation 'ffffffff'" in unknown.stderr
    both = run_xai("chat", "-c", "--conversation", first["conversation"], "more")
    assert (both.code, both.stderr) == (2, "xai: use either --continue or --conversation ID, not both\n")
    system = run_xai("chat", "-c", "-s", "Be brief.", "more")
    assert system.code == 2 and "--system starts a new conversation" in system.stderr


def test_the_conversation_model_is_kept_unless_another_is_asked_for(chat_server, notes: Path) -> None:
    chat_server()
    ask("What is the budget?", "-f", str(notes), "-m", "grok-3-mini")
    assert ask("-c", "Tell me more")["model"] == "grok-3-mini"
    assert ask("-c", "And the risks?", "-m", "grok-4")["model"] == "grok-4"


# -- uploads and their expiry -------------------------------------------------------------------


def test_uploads_carry_the_conversation_ttl(chat_server, notes: Path) -> None:
    srv: ChatServer = chat_server()
    before = time.time()
    default = ask("What is the budget?", "-f", str(notes))
    longer = ask("What is the budget?", "-f", str(notes), "--expires-after", "2h")
    for answer, ttl in ((default, 3600), (longer, 7200)):
        record = srv.running.storage.get(answer["files"][0]["id"])
        assert record is not None and record.expires_at is not None
        assert before + ttl - 5 <= record.expires_at.timestamp() <= time.time() + ttl + 5
    refused = run_xai("chat", "q", "-f", str(notes), "--expires-after", "10m")
    assert refused.code == 2 and "between 1h and 30d" in refused.stderr
    assert srv.calls("UploadFile") == 2


def _age_uploads(log_path: Path, seconds: float) -> None:
    """Move every logged upload's expiry `seconds` into the past (as if that much time went by)."""
    with sqlite3.connect(log_path) as db:
        db.execute("UPDATE files SET expires_at = expires_at - ?", (seconds,))


def test_an_expired_upload_is_sent_again_from_its_path(emulators, report: Path, isolation: Path) -> None:
    clock = FakeClock(int(time.time()))
    server = emulators.start(clock=clock)
    first = ask("How did revenue grow?", "-f", str(report))
    old = first["files"][0]["id"]
    clock.advance(3601)  # the server deletes it...
    _age_uploads(isolation / "logs" / "conversations.db", 3601)  # ...and the client knows the time
    result = run_xai("chat", "-c", "What is the budget reserve?", "--json")
    assert result.code == 0, result
    second = json.loads(result.stdout)
    new = second["files"][0]["id"]
    assert new != old and BUDGET in second["content"]
    assert result.stderr == "xai: report.pdf had expired on the server; uploaded it again\n"
    assert server.faults.calls("UploadFile") == 2
    third = ask("-c", "How did revenue grow?")  # the new id is what the conversation holds now
    assert REVENUE in third["content"] and server.faults.calls("UploadFile") == 2


def test_an_expired_upload_whose_file_is_gone_exits_4_before_any_call(
    chat_server, report: Path, isolation: Path
) -> None:
    srv: ChatServer = chat_server()
    ask("How did revenue grow?", "-f", str(report))
    _age_uploads(isolation / "logs" / "conversations.db", 3601)
    report.unlink()
    result = run_xai("chat", "-c", "What is the budget reserve?")
    assert result.code == 4, result
    assert "report.pdf (file_" in result.stderr and f"{report} is gone" in result.stderr
    assert srv.calls("GetCompletionChunk") == 1 and srv.calls("UploadFile") == 1


def test_a_failed_turn_of_a_new_conversation_records_nothing_and_deletes_its_upload(
    chat_server, notes: Path
) -> None:
    srv: ChatServer = chat_server("GetCompletionChunk:fail:code=INVALID_ARGUMENT")
    result = run_xai("chat", "What is the budget?", "-f", str(notes))
    assert result.code == 5, result
    assert srv.stored() == [] and logged("ls") == []


# -- conversations ls / show / rm ---------------------------------------------------------------


def two_conversations(notes: Path, report: Path) -> tuple[dict, dict, str]:
    """One conversation with an uploaded report (two turns), one with notes attached by id."""
    notes_id = run_xai("files", "upload", str(notes)).stdout.strip()
    first = ask("How did revenue grow?", "-f", str(report))
    ask("-c", "What is the budget reserve?")
    second = ask("What is the budget?\nPlease be precise.", "-f", notes_id)
    return first, second, notes_id


def test_ls_and_show_on_a_pipe_are_json(chat_server, notes: Path, report: Path) -> None:
    chat_server()
    first, second, notes_id = two_conversations(notes, report)
    listed = logged("ls")
    assert [c["id"] for c in listed] == [second["conversation"], first["conversation"]]  # newest first
    newest, oldest = listed
    assert (newest["title"], newest["turns"], newest["model"]) == ("What is the budget?", 1, "grok-4")
    assert oldest["title"] == "How did revenue grow?" and oldest["turns"] == 2
    assert [(f["name"], f["uploaded"]) for f in oldest["files"]] == [("report.pdf", True)]
    assert [(f["id"], f["name"], f["uploaded"]) for f in newest["files"]] == [(notes_id, "notes.txt", False)]
    assert [c["id"] for c in logged("ls", "-n", "1")] == [second["conversation"]]

    shown = logged("show", first["conversation"])
    assert [m["prompt"] for m in shown["messages"]] == [
        "How did revenue grow?",
        "What is the budget reserve?",
    ]
    turn_two = shown["messages"][1]
    assert BUDGET in turn_two["content"] and turn_two["files"] == []
    assert (turn_two["citations"][0]["name"], turn_two["citations"][0]["page"]) == ("report.pdf", 2)
    assert shown["messages"][0]["files"][0]["name"] == "report.pdf"
    assert logged("show")["id"] == second["conversation"]  # the latest without an id


def test_ls_and_show_on_a_terminal(chat_server, notes: Path, report: Path) -> None:
    chat_server()
    first, second, _ = two_conversations(notes, report)
    table = run_xai("conversations", "ls", stdout_tty=True)
    assert table.code == 0, table
    header, *rows = table.stdout.splitlines()
    assert header.split() == ["ID", "UPDATED", "TURNS", "MODEL", "FILES", "TITLE"]
    assert rows[0].split()[:1] == [second["conversation"]] and "notes.txt" in rows[0]
    assert rows[1].startswith(first["conversation"]) and "report.pdf" in rows[1]
    assert "How did revenue grow?" in rows[1] and " 2 " in rows[1]

    shown = run_xai("conversations", "show", first["conversation"][:4], stdout_tty=True)
    assert shown.code == 0, shown
    lines = shown.stdout.splitlines()
    assert lines[0].startswith(f"Conversation {first['conversation']} · grok-4 · 2 turns · updated ")
    assert lines[1].startswith("  file: report.pdf  file_") and "(uploaded, expires in " in lines[1]
    assert ">>> What is the budget reserve?" in lines
    assert any(line.startswith("▌ Budget: a reserve of 40,000 euros") for line in lines)  # Markdown
    assert "  [1] report.pdf, page 2" in lines
    prompt = run_xai("conversations", "show", stdout_tty=True).stdout
    assert ">>> What is the budget?\n... Please be precise.\n" in prompt


def test_rm_deletes_the_uploads_but_not_files_attached_by_id(chat_server, notes: Path, report: Path) -> None:
    srv: ChatServer = chat_server()
    first, second, _notes_id = two_conversations(notes, report)
    assert srv.stored() == ["notes.txt", "report.pdf"]
    removed = run_xai("conversations", "rm", first["conversation"], second["conversation"][:6])
    assert (removed.code, removed.stderr) == (0, ""), removed
    assert removed.stdout == f"{first['conversation']}\n{second['conversation']}\n"
    assert srv.stored() == ["notes.txt"]  # the report was uploaded by the conversation; notes was not
    assert srv.calls("DeleteFile") == 1
    assert logged("ls") == []
    assert run_xai("conversations", "rm", "--all", "--yes").code == 0  # nothing left: fine


def test_rm_on_a_terminal_asks_first(chat_server, notes: Path) -> None:
    srv: ChatServer = chat_server()
    conversation = ask("What is the budget?", "-f", str(notes))["conversation"]
    ttys = {"stdin_tty": True, "stdout_tty": True, "stderr_tty": True}
    declined = run_xai("conversations", "rm", conversation, stdin=b"n\n", **ttys)
    assert (
        declined.code == 130
        and f'Delete conversation {conversation} "What is the budget?"' in declined.stderr
    )
    assert " and 1 uploaded file?" in declined.stderr and srv.stored() == ["notes.txt"]
    done = run_xai("conversations", "rm", conversation, stdin=b"y\n", **ttys)
    assert done.code == 0, done
    assert done.stdout == f"Deleted conversation {conversation} and 1 uploaded file\n"
    assert srv.stored() == []


def test_rm_all_needs_yes_when_nobody_can_be_asked(chat_server, notes: Path) -> None:
    srv: ChatServer = chat_server()
    ask("What is the budget?", "-f", str(notes))
    ask("What are the risks?", "-f", str(notes), "--keep")
    refused = run_xai("conversations", "rm", "--all")
    assert refused.code == 2 and "add --yes" in refused.stderr
    assert run_xai("conversations", "rm").code == 2
    done = run_xai("conversations", "rm", "--all", "--yes")
    assert done.code == 0, done
    assert srv.stored() == ["notes.txt"]  # the --keep upload stays, as asked
    assert logged("ls") == []


def test_rm_deletes_the_stored_responses_of_a_store_conversation(stored, report: Path) -> None:
    srv, completions = stored
    first = ask("How did revenue grow?", "-f", str(report), "--store")
    second = ask("-c", "What is the budget reserve?")
    assert not completions.gone(second["id"])
    assert run_xai("conversations", "rm", first["conversation"]).code == 0
    assert completions.gone(first["id"]) and completions.gone(second["id"])
    assert srv.stored() == []


def test_rm_with_the_server_failing_still_forgets_and_exits_7(chat_server, notes: Path) -> None:
    chat_server("DeleteFile:fail:code=INTERNAL,times=0")
    conversation = ask("What is the budget?", "-f", str(notes))["conversation"]
    result = run_xai("conversations", "rm", conversation)
    assert result.code == 7, result
    assert "could not delete file_" in result.stderr and "it expires anyway" in result.stderr
    assert logged("ls") == []


def test_rm_of_an_unknown_id_among_others_exits_7(chat_server, notes: Path) -> None:
    chat_server()
    conversation = ask("What is the budget?", "-f", str(notes))["conversation"]
    result: CliResult = run_xai("conversations", "rm", "ffffffff", conversation)
    assert result.code == 7, result
    assert "no conversation 'ffffffff'" in result.stderr and result.stdout == f"{conversation}\n"


def test_the_log_is_private_and_its_path_is_printed(chat_server, notes: Path, isolation: Path) -> None:
    chat_server()
    ask("What is the budget?", "-f", str(notes))
    path = isolation / "logs" / "conversations.db"
    assert run_xai("conversations", "path").stdout == f"{path}\n"
    assert path.stat().st_mode & 0o777 == 0o600 and path.parent.stat().st_mode & 0o777 == 0o700


def test_conversation_ids_complete_from_the_log(chat_server, notes: Path, isolation: Path) -> None:
    from xai_files_cli.cli.conversations import complete_conversation

    assert complete_conversation(None, "") == []  # no log yet: nothing, and none is created
    assert not (isolation / "logs" / "conversations.db").exists()
    chat_server()
    conversation = ask("What is `the` budget; $HOME?", "-f", str(notes))["conversation"]
    assert complete_conversation(None, conversation[:2]) == [(conversation, "What is the budget HOME")]
    assert complete_conversation(None, "zz") == []


def test_a_log_that_cannot_be_opened_is_a_warning_and_the_upload_is_deleted(
    chat_server, notes: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    srv: ChatServer = chat_server()
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    monkeypatch.setenv("XAI_LOGS_PATH", str(blocker / "conversations.db"))
    result = run_xai("chat", "What is the budget?", "-f", str(notes))
    assert result.code == 0, result
    assert "Budget: spending is on plan" in result.stdout
    assert result.stderr.startswith(
        f"xai: warning: cannot use the conversation log {blocker}/conversations.db: "
    )
    assert result.stderr.endswith("; this conversation is not recorded\n")
    assert srv.stored() == []  # nothing refers to the upload: deleted as with --no-log
    going_on = run_xai("chat", "-c", "more")
    assert going_on.code == 1 and "cannot use the conversation log" in going_on.stderr


def test_an_expired_earlier_upload_the_conversation_reused_is_sent_again_too(
    emulators, report: Path, isolation: Path
) -> None:
    clock = FakeClock(int(time.time()))
    server = emulators.start(clock=clock)
    uploaded = run_xai("files", "upload", str(report), "--expires-after", "1h")
    first = ask("How did revenue grow?", "-f", str(report))
    [attached] = first["files"]
    assert attached["id"] == uploaded.stdout.strip() and not attached["uploaded"]  # reused, not uploaded
    clock.advance(3601)
    _age_uploads(isolation / "logs" / "conversations.db", 3601)
    second = ask("-c", "What is the budget reserve?")
    assert BUDGET in second["content"] and second["files"][0]["id"] != attached["id"]
    assert server.faults.calls("UploadFile") == 2


def test_a_follow_up_sends_the_images_of_earlier_turns_again(
    chat_server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chat_server()
    (tmp_path / "shots").mkdir()
    image = tmp_path / "shots" / "chart.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    monkeypatch.chdir(tmp_path / "shots")
    first = ask("What does the chart show?", "--image", "chart.png")  # a path relative to this directory
    assert first["usage"]["prompt_image_tokens"] == 256
    monkeypatch.chdir(tmp_path)  # the follow-up runs elsewhere: the image is found by its logged path
    second = ask("-c", "And its colours?")
    assert second["usage"]["prompt_image_tokens"] == 256
    image.unlink()
    result = run_xai("chat", "-c", "Anything else?", "--json")
    assert result.code == 0, result
    assert json.loads(result.stdout)["usage"]["prompt_image_tokens"] == 0
    assert f"cannot read {image} (an image of an earlier turn) any more" in result.stderr


def test_a_file_attached_by_a_relative_path_is_the_same_object_in_the_answer_and_the_log(
    chat_server, report: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chat_server()
    monkeypatch.chdir(report.parent)
    answer = ask("How did revenue grow?", "-f", report.name)
    shown = logged("show", "--json")
    assert answer["files"] == shown["files"]
    assert answer["files"][0]["path"] == str(report)
