"""`xai chat`: answers from files on a pipe and a terminal, prompts from args and stdin, --json,
auto-upload (kept for the conversation with an expiry, deleted with --no-log), --keep, --no-stream
and the sampling flags (real gRPC, in-process CLI)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.support.cli import run_xai
from tests.support.emulator import ChatServer
from tests.support.samples import RISKS_ANSWER, make_pdf

# With the sources shown on a terminal stderr, each quote ends with the number of its source.
RISKS_WITH_NUMBERS = RISKS_ANSWER.replace("firmware.\n", "firmware. [1]\n").replace(
    "weeks.\n", "weeks. [2]\n"
)


def test_piped_output_is_the_plain_answer_and_the_upload_stays_for_the_conversation(
    chat_server, notes: Path
) -> None:
    srv: ChatServer = chat_server()
    result = run_xai("chat", "What are the risks?", "--file", str(notes))
    assert result.code == 0, result
    assert result.stdout == RISKS_ANSWER
    assert result.stderr == ""  # no usage, no progress, nothing for people on a pipe
    assert srv.calls("UploadFile") == 1 and srv.calls("DeleteFile") == 0
    [record], _ = srv.running.storage.list_files()
    assert record.filename == "notes.txt" and record.expires_at is not None  # gone within the hour


def test_no_log_deletes_the_upload_after_the_answer(chat_server, notes: Path) -> None:
    srv: ChatServer = chat_server()
    result = run_xai("chat", "What are the risks?", "--file", str(notes), "--no-log")
    assert result.code == 0, result
    assert result.stdout == RISKS_ANSWER
    assert srv.calls("UploadFile") == 1 and srv.calls("DeleteFile") == 1
    assert srv.stored() == []
    assert json.loads(run_xai("conversations", "ls").stdout) == []


def test_terminal_gets_the_answer_sources_and_a_usage_line_on_stderr(chat_server, notes: Path) -> None:
    chat_server()
    result = run_xai(
        "chat", "What are the risks?", "-f", str(notes), "--raw", stdout_tty=True, stderr_tty=True
    )
    assert result.code == 0, result
    assert result.stdout == RISKS_WITH_NUMBERS
    # The last lines, after the transient upload bar has erased itself.
    *_, sources, first, second, usage = result.stderr.rstrip("\n").split("\n")
    assert (sources.rsplit("\x1b[2K", 1)[-1], first, second) == (
        "Sources:",
        "  [1] notes.txt",
        "  [2] notes.txt",
    )
    conversation = json.loads(run_xai("conversations", "ls").stdout)[0]["id"]
    pattern = r"grok-4 · \d+ prompt \+ \d+ completion tokens · \$0\.\d+ · conversation " + conversation
    assert re.fullmatch(pattern, usage), usage


def test_server_control_characters_are_escaped_on_a_terminal_only(chat_server, tmp_path: Path) -> None:
    chat_server()
    doc = tmp_path / "evil.txt"
    doc.write_text("The risk \x1b]52;c;ZXZpbA==\x07 is hidden\x1b[2J here.\n")
    on_tty = run_xai("chat", "risk", "-f", str(doc), "--raw", stdout_tty=True)
    piped = run_xai("chat", "risk", "-f", str(doc))
    assert "\x1b" not in on_tty.stdout and "\\x1b]52;c;ZXZpbA==\\x07 is hidden\\x1b[2J" in on_tty.stdout
    assert "\x1b]52;c;ZXZpbA==\x07 is hidden\x1b[2J" in piped.stdout  # a pipe gets the bytes as sent


def test_prompt_from_piped_stdin(chat_server, notes: Path) -> None:
    chat_server()
    result = run_xai("chat", "-f", str(notes), stdin=b"What is the budget?\n")
    assert result.code == 0, result
    assert result.stdout.startswith("From notes.txt:\n> Budget: spending is on plan")


def test_dash_adds_stdin_to_the_prompt(chat_server, notes: Path) -> None:
    chat_server()
    result = run_xai("chat", "Review this", "-", "-f", str(notes), stdin=b"office move\n")
    assert result.code == 0, result
    assert '"office", "move"' in result.stdout  # "Review this" has no search words; stdin does
    assert "> A second risk is the office move in April" in result.stdout


def test_chat_with_stdin_only_and_no_files_gets_the_engine_rules(chat_server) -> None:
    chat_server()
    result = run_xai("chat", "-", stdin=b"What is the capital of France?")
    assert result.code == 0, result
    assert "I answer only by quoting files attached to the question" in result.stdout


def test_json_has_a_stable_shape(chat_server, notes: Path) -> None:
    srv: ChatServer = chat_server()
    result = run_xai("chat", "What are the risks?", "--file", str(notes), "--json")
    assert result.code == 0, result
    data = json.loads(result.stdout)
    assert set(data) == {
        "id",
        "model",
        "content",
        "reasoning_content",
        "finish_reason",
        "usage",
        "citations",
        "sources",
        "system_fingerprint",
        "files",
        "conversation",
        "turn",
    }
    file_id = data["files"][0]["id"]
    url = f"file://{file_id}/notes.txt"
    assert data["content"] == RISKS_ANSWER.replace("firmware.\n", f"firmware. [[1]]({url})\n").replace(
        "weeks.\n", f"weeks. [[2]]({url})\n"
    )  # --json asks for inline citations: the markers stay, `citations` locate them
    assert data["model"] == "grok-4" and data["finish_reason"] == "stop"
    assert data["sources"] == [url]  # the quoted file
    first, second = data["citations"]
    assert first | {"score": None} == {
        "id": "1",
        "file_id": file_id,
        "name": "notes.txt",
        "page": None,
        "url": url,
        "chunk_id": "passage-2",
        "start_index": data["content"].index("[[1]]"),
        "end_index": data["content"].index("[[1]]") + len(f"[[1]]({url})"),
        "score": None,
    }
    assert first["score"] > 0 and second["id"] == "2"
    assert data["id"].startswith("chatcmpl-")
    assert re.fullmatch(r"[0-9a-f]{8}", data["conversation"]) and data["turn"] == 1
    usage = data["usage"]
    assert usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert usage["reasoning_tokens"] == 0 and usage["cached_prompt_text_tokens"] == 0
    assert usage["server_side_tools_used"] == 1 and usage["cost_usd"] > 0
    [attached] = data["files"]
    assert attached["id"].startswith("file_") and attached["expires_at"].endswith("Z")
    assert attached | {"id": None, "expires_at": None} == {
        "id": None,
        "name": "notes.txt",
        "path": str(notes),
        "uploaded": True,
        "deleted": False,  # it stays attached to the conversation until it expires
        "expires_at": None,
    }
    assert srv.stored() == ["notes.txt"]


def test_keep_leaves_the_upload_on_the_server_and_names_it(chat_server, notes: Path) -> None:
    srv: ChatServer = chat_server()
    result = run_xai("chat", "risks", "-f", str(notes), "--keep", "--json")
    assert result.code == 0, result
    [attached] = json.loads(result.stdout)["files"]
    assert attached["uploaded"] and not attached["deleted"]
    assert result.stderr == f"xai: kept {notes} as {attached['id']}\n"
    assert srv.stored() == ["notes.txt"]
    assert srv.running.storage.get(attached["id"]).expires_at is None  # kept files do not expire


def test_auto_uploads_expire_within_an_hour_as_a_safety_net(chat_server, notes: Path) -> None:
    srv: ChatServer = chat_server("DeleteFile:fail:code=INTERNAL,times=0")
    result = run_xai("chat", "risks", "-f", str(notes), "--no-log")
    assert result.code == 0, result  # the answer was given; the failed cleanup is only a warning
    assert result.stdout == RISKS_ANSWER
    assert result.stderr.startswith("xai: warning: could not delete file_")
    assert result.stderr.endswith("; it expires within an hour\n")
    [record], _ = srv.running.storage.list_files()
    assert record.expires_at is not None


def test_an_uploaded_id_is_attached_as_is(chat_server, notes: Path) -> None:
    srv: ChatServer = chat_server()
    uploaded = run_xai("files", "upload", str(notes))
    file_id = uploaded.stdout.strip()
    result = run_xai("chat", "budget", "-f", file_id, "--json")
    assert result.code == 0, result
    data = json.loads(result.stdout)
    assert data["files"] == [
        {
            "id": file_id,
            "name": "notes.txt",
            "path": None,
            "uploaded": False,
            "deleted": False,
            "expires_at": None,
        }
    ]  # the name comes from the answer's sources
    assert "> Budget: spending is on plan" in data["content"]
    assert srv.stored() == ["notes.txt"]  # not ours to delete
    assert srv.calls("UploadFile") == 1


def test_several_files_at_once_mixing_ids_and_paths(chat_server, notes: Path, tmp_path: Path) -> None:
    srv: ChatServer = chat_server()
    table = tmp_path / "people.csv"
    table.write_text("name,role\nAda,engineer\nGrace,admiral\n")
    file_id = run_xai("files", "upload", str(notes)).stdout.strip()
    result = run_xai(
        "chat", "Compare the budget and the admiral", "-f", file_id, "-f", str(table), "--no-log"
    )
    assert result.code == 0, result
    assert "From notes.txt:\n> Budget" in result.stdout
    assert "From people.csv:\n> name,role\n> Ada,engineer\n> Grace,admiral" in result.stdout
    assert srv.stored() == ["notes.txt"]  # the upload is gone, the file given by id is not ours


def test_a_pdf_is_answered_from_its_text(chat_server, tmp_path: Path) -> None:
    chat_server()
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(make_pdf(["Quarterly report.", "Revenue grew by 12 percent in Q3."]))
    result = run_xai("chat", "How did revenue change?", "-f", str(pdf))
    assert result.code == 0, result
    assert result.stdout.startswith(
        "From report.pdf:\n> Quarterly report.\n> Revenue grew by 12 percent in Q3."
    )


def test_no_stream_uses_the_unary_call_and_prints_the_same_answer(chat_server, notes: Path) -> None:
    srv: ChatServer = chat_server()
    result = run_xai("chat", "What are the risks?", "-f", str(notes), "--no-stream")
    assert result.code == 0, result
    assert result.stdout == RISKS_ANSWER
    assert srv.calls("GetCompletion") == 1 and srv.calls("GetCompletionChunk") == 0


def test_model_system_max_tokens_and_reasoning_reach_the_server(chat_server, notes: Path) -> None:
    chat_server()
    plain = json.loads(run_xai("chat", "risks", "-f", str(notes), "--json").stdout)
    result = run_xai(
        "chat",
        "risks",
        "-f",
        str(notes),
        "--json",
        "-m",
        "grok-3-mini",
        "-s",
        "You are terse and precise.",
        "--temperature",
        "0.2",
        "--max-tokens",
        "12",
        "--reasoning-effort",
        "high",
    )
    assert result.code == 0, result
    data = json.loads(result.stdout)
    assert data["model"] == "grok-3-mini"
    assert data["finish_reason"] == "max_len" and data["usage"]["completion_tokens"] <= 12
    assert data["reasoning_content"].startswith("Split notes.txt into 5 passages")
    assert data["usage"]["prompt_tokens"] > plain["usage"]["prompt_tokens"]  # the system prompt counts


def test_cut_at_max_tokens_is_said_on_a_terminal(chat_server, notes: Path) -> None:
    chat_server()
    result = run_xai("chat", "risks", "-f", str(notes), "--max-tokens", "5", stderr_tty=True)
    assert result.code == 0, result
    assert result.stdout.endswith("\n") and len(result.stdout) <= 5 * 4 + 1
    assert re.search(r" · cut at --max-tokens · conversation [0-9a-f]{8}\n$", result.stderr), result


def test_images_are_sent_as_image_parts(chat_server, tmp_path: Path) -> None:
    chat_server()
    image = tmp_path / "chart.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    result = run_xai(
        "chat", "what do they show?", "--image", str(image), "--image", "https://example.com/a.jpg", "--json"
    )
    assert result.code == 0, result
    assert json.loads(result.stdout)["usage"]["prompt_image_tokens"] == 2 * 256


def test_local_quickstart_answers_from_the_file(notes: Path) -> None:
    result = run_xai("--local", "chat", "What are the risks?", "--file", str(notes))
    assert result.code == 0, result
    assert result.stdout == RISKS_ANSWER
