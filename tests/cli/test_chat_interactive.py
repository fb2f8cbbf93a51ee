"""`xai chat -i`: a conversation over the same attachments, history kept client-side and sent
every turn, each turn recorded, `/file` and `/quit` inside, Ctrl-D (end of input) to leave."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.cli import InterruptedInput, run_with_stdin, run_xai
from tests.support.emulator import ChatServer

RISKS = "\n\n".join(
    f"Risk {n}: the {thing} may fail."
    for n, thing in enumerate(["pump", "valve", "sensor", "cable", "fan", "relay"], start=1)
)


def test_two_turns_send_the_history_and_the_follow_up_builds_on_it(chat_server, tmp_path: Path) -> None:
    srv: ChatServer = chat_server()
    doc = tmp_path / "risks.txt"
    doc.write_text(RISKS)
    result = run_xai("chat", "-i", "--json", "-f", str(doc), stdin=b"What are the risks?\n\nTell me more\n")
    assert result.code == 0, result
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    quoted_first = {line for line in first["content"].splitlines() if line.startswith("> ")}
    quoted_second = {line for line in second["content"].splitlines() if line.startswith("> ")}
    assert len(quoted_first) == 3 and len(quoted_second) == 3
    # "Tell me more" has no search words: only the history tells the server what "more" means.
    assert not quoted_first & quoted_second
    assert all(line.startswith("> Risk ") for line in quoted_first | quoted_second)
    assert (
        second["usage"]["prompt_tokens"]
        > first["usage"]["prompt_tokens"] + first["usage"]["completion_tokens"]
    )
    assert second["usage"]["cached_prompt_text_tokens"] > 0  # same attachment, read once
    assert srv.calls("UploadFile") == 1 and srv.calls("GetCompletionChunk") == 2
    assert (first["conversation"], first["turn"], second["turn"]) == (second["conversation"], 1, 2)
    assert srv.stored() == ["risks.txt"]  # it stays attached to the recorded conversation until it expires


def test_a_first_question_argument_then_turns_from_stdin(chat_server, tmp_path: Path) -> None:
    chat_server()
    doc = tmp_path / "risks.txt"
    doc.write_text(RISKS)
    result = run_xai("chat", "pump", "-i", "-f", str(doc), stdin=b"relay\n")
    assert result.code == 0, result
    assert result.stdout.count("From risks.txt:") == 2
    assert result.stdout.index("> Risk 1: the pump") < result.stdout.index("> Risk 6: the relay")
    assert result.stderr == ""


def test_on_a_terminal_turns_are_prompted_and_usage_is_shown(chat_server, tmp_path: Path) -> None:
    chat_server()
    doc = tmp_path / "risks.txt"
    doc.write_text(RISKS)
    result = run_xai(
        "chat", "-i", "-f", str(doc), stdin=b"valve\n", stdin_tty=True, stdout_tty=True, stderr_tty=True
    )
    assert result.code == 0, result
    assert (
        "Chatting with grok-4 about risks.txt. /file PATH|ID attaches a file · /quit (or Ctrl-D) leaves"
        " · /help.\n> " in result.stderr
    )
    assert result.stderr.count(" completion tokens") == 1
    assert "▌ Risk 2: the valve may fail. [1]" in result.stdout  # Markdown on a terminal


def test_end_of_input_before_any_question_leaves_quietly(chat_server, tmp_path: Path) -> None:
    srv: ChatServer = chat_server()
    doc = tmp_path / "risks.txt"
    doc.write_text(RISKS)
    result = run_xai("chat", "-i", "-f", str(doc), stdin=b"")
    assert (result.code, result.stdout, result.stderr) == (0, "", "")
    assert srv.calls("GetCompletionChunk") == 0 and srv.stored() == []


def test_interactive_refuses_dash(chat_server) -> None:
    chat_server()
    result = run_xai("chat", "-i", "-", stdin=b"x\n")
    assert result.code == 2
    assert "--interactive reads your turns from stdin" in result.stderr


def test_ctrl_c_at_the_turn_prompt_puts_the_error_on_its_own_line(chat_server) -> None:
    srv: ChatServer = chat_server()
    ttys = {"stdin_tty": True, "stdout_tty": True, "stderr_tty": True}
    result = run_with_stdin(InterruptedInput(), "chat", "-i", **ttys)
    assert (result.code, result.stdout) == (130, "")
    assert result.stderr.endswith("\n> \nxai: interrupted\n"), result
    assert srv.calls("GetCompletionChunk") == 0
