"""`xai chat` when things go wrong: bad input is refused before anything is sent, server errors
keep their exit codes, a broken stream keeps the text already shown, and nothing auto-uploaded is
left on the server, whatever happened."""

from __future__ import annotations

import errno
import json
from pathlib import Path

import pytest

from tests.support.cli import run_with_stdout, run_xai
from tests.support.emulator import ChatServer

UNKNOWN_ID = "file_00000000-0000-4000-8000-000000000000"


def test_unknown_id_exits_4_and_the_other_upload_is_removed(chat_server, notes: Path) -> None:
    srv: ChatServer = chat_server()
    result = run_xai("chat", "risks", "-f", str(notes), "-f", UNKNOWN_ID)
    assert result.code == 4, result
    assert result.stdout == ""
    assert result.stderr == f"xai: chat: attached file '{UNKNOWN_ID}' not found (NOT_FOUND)\n"
    assert srv.calls("UploadFile") == 1 and srv.calls("DeleteFile") == 1
    assert srv.stored() == []


def test_missing_path_exits_2_and_nothing_is_uploaded(chat_server, notes: Path, tmp_path: Path) -> None:
    srv: ChatServer = chat_server()
    missing = tmp_path / "nope.txt"
    result = run_xai("chat", "risks", "-f", str(notes), "-f", str(missing))
    assert result.code == 2, result
    assert result.stderr == f"xai: no such file: {missing} (neither a local path nor a file id)\n"
    assert srv.calls("UploadFile") == 0 and srv.stored() == []


@pytest.mark.parametrize("make", ["directory", "fifo"])
def test_a_directory_or_fifo_is_refused_before_any_upload(
    chat_server, notes: Path, tmp_path: Path, make: str
) -> None:
    import os

    srv: ChatServer = chat_server()
    odd = tmp_path / make
    if make == "directory":
        odd.mkdir()
    else:
        os.mkfifo(odd)
    result = run_xai("chat", "risks", "-f", str(notes), "-f", str(odd))
    assert result.code == 2, result
    assert str(odd) in result.stderr
    assert srv.calls("UploadFile") == 0


def test_a_file_over_the_limit_exits_5_before_any_upload(chat_server, notes: Path, tmp_path: Path) -> None:
    srv: ChatServer = chat_server()
    huge = tmp_path / "huge.txt"
    with huge.open("wb") as handle:
        handle.truncate(512_000_001)  # sparse: no disk space used
    result = run_xai("chat", "risks", "-f", str(notes), "-f", str(huge))
    assert result.code == 5, result
    assert "512,000,001 bytes is over the 512 MB limit" in result.stderr
    assert srv.calls("UploadFile") == 0


def test_an_unreadable_file_is_rejected_and_still_cleaned_up(chat_server, tmp_path: Path) -> None:
    srv: ChatServer = chat_server()
    image = tmp_path / "photo.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    result = run_xai("chat", "what is this?", "-f", str(image))
    assert result.code == 5, result
    assert result.stderr == (
        "xai: chat: cannot read photo.png: not a text or PDF file (image/png) (INVALID_ARGUMENT)\n"
    )
    assert srv.stored() == []


@pytest.mark.parametrize(
    ("args", "stdin", "stdin_tty", "message"),
    [
        ((), b"", True, "xai: no prompt: give PROMPT, pipe it on stdin, or use -i for a conversation\n"),
        ((), b"  \n\n", False, "xai: the prompt is empty (nothing on stdin)\n"),
        (("-",), b"", False, "xai: the prompt is empty (nothing on stdin)\n"),
        (
            ("   ",),
            b"",
            True,
            "xai: no prompt: give PROMPT, pipe it on stdin, or use -i for a conversation\n",
        ),
        (("a", "-", "-"), b"x", False, "xai: '-' (read stdin) may be given once\n"),
        (
            ("q", "--reasoning-effort", "max"),
            b"",
            True,
            "xai: --reasoning-effort must be one of low, medium, high, got 'max'\n",
        ),
    ],
)
def test_bad_prompts_exit_2_and_upload_nothing(
    chat_server, notes: Path, args: tuple[str, ...], stdin: bytes, stdin_tty: bool, message: str
) -> None:
    srv: ChatServer = chat_server()
    result = run_xai("chat", *args, "-f", str(notes), stdin=stdin, stdin_tty=stdin_tty)
    assert (result.code, result.stderr) == (2, message)
    assert srv.calls("UploadFile") == 0


def test_out_of_range_flags_are_usage_errors(chat_server, notes: Path) -> None:
    srv: ChatServer = chat_server()
    assert run_xai("chat", "q", "-f", str(notes), "--temperature", "3").code == 2
    assert run_xai("chat", "q", "-f", str(notes), "--max-tokens", "0").code == 2
    missing_image = run_xai("chat", "q", "--image", "nope.png")
    assert (missing_image.code, missing_image.stderr) == (2, "xai: no such image: nope.png\n")
    assert srv.calls("UploadFile") == 0 and srv.calls("GetCompletionChunk") == 0


def test_a_stream_cut_keeps_the_text_shown_and_exits_6(chat_server, notes: Path) -> None:
    # Chunks 1-2 are the attachment search; 3 and 4 carry text; then the server fails.
    srv: ChatServer = chat_server("GetCompletionChunk:fail_stream:after=4")
    result = run_xai("chat", "What are the risks?", "-f", str(notes))
    assert result.code == 6, result
    shown = (
        "From notes.txt:\n"
        "> The main risk is that the vendor misses the March deadline for the sensor firmware.\n"
    )
    assert result.stdout == shown
    assert result.stderr == (
        f"xai: chat: answer cut off after {len(shown)} characters: server unavailable: injected fault"
        " (UNAVAILABLE)\n"
    )
    assert srv.calls("GetCompletionChunk") == 1  # never retried once text has arrived
    assert srv.stored() == []


def test_a_stream_cut_mid_line_ends_the_line_before_the_error(chat_server, tmp_path: Path) -> None:
    chat_server("GetCompletionChunk:fail_stream:after=4,code=INTERNAL")
    doc = tmp_path / "long.txt"
    line = "The risk " + "is long and winding. " * 20
    doc.write_text(line + "\n")
    result = run_xai("chat", "risk", "-f", str(doc), "--raw", stdout_tty=True)
    assert result.code == 1, result  # INTERNAL
    header, partial, rest = result.stdout.split("\n")
    assert (header, rest) == ("From long.txt:", "")  # the newline after the partial line is ours
    assert partial.startswith("> The risk is long and winding.") and len(partial) < len(line)
    assert result.stderr.endswith(": injected fault (INTERNAL)\n")


def test_a_stream_cut_with_json_keeps_the_partial_answer(chat_server, notes: Path) -> None:
    srv: ChatServer = chat_server("GetCompletionChunk:fail_stream:after=4")
    result = run_xai("chat", "What are the risks?", "-f", str(notes), "--json")
    assert result.code == 6, result
    data = json.loads(result.stdout)
    assert data["content"].startswith("From notes.txt:\n> The main risk")
    assert data["finish_reason"] is None
    assert data["error"]["code"] == "UNAVAILABLE"
    assert data["files"][0]["deleted"] is True
    error = json.loads(result.stderr)["error"]
    assert error["code"] == "UNAVAILABLE" and error["exit_code"] == 6
    assert srv.stored() == []


def test_unavailable_before_any_answer_is_retried_by_the_channel(chat_server, notes: Path) -> None:
    srv: ChatServer = chat_server("GetCompletionChunk:fail:times=2")
    result = run_xai("chat", "What are the risks?", "-f", str(notes))
    assert result.code == 0, result
    assert result.stdout.startswith("From notes.txt:")
    assert srv.calls("GetCompletionChunk") == 3


def test_chat_with_no_server_exits_6_and_uploads_nothing(
    monkeypatch: pytest.MonkeyPatch, notes: Path
) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("XAI_API_HOST", f"127.0.0.1:{port}")
    monkeypatch.setenv("XAI_API_KEY", "xai-" + "k" * 40)
    result = run_xai("--timeout", "5", "chat", "risks", "-f", str(notes))
    assert result.code == 6, result
    assert "cannot connect" in result.stderr and result.stdout == ""


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--max-tokens", "99999999999"], "xai: Invalid value for '--max-tokens'"),  # over the int32 field
        (["--temperature", "nan"], "xai: --temperature must be a number from 0 to 2, got nan\n"),
    ],
)
def test_flag_values_the_wire_cannot_carry_exit_2_before_any_rpc(chat_server, flags, message) -> None:
    srv: ChatServer = chat_server()
    result = run_xai("chat", "risks", *flags)
    assert (result.code, result.stdout) == (2, ""), result
    assert result.stderr.startswith(message)
    assert srv.calls("GetCompletionChunk") == 0


def test_closed_pipe_mid_answer_exits_0(chat_server, notes: Path) -> None:
    srv: ChatServer = chat_server()
    result = run_with_stdout(BrokenPipeError(errno.EPIPE, "Broken pipe"), "chat", "risks", "-f", str(notes))
    assert (result.code, result.stderr) == (0, "")
    assert srv.stored() == []  # the auto-upload is still cleaned up


def test_full_disk_mid_answer_is_one_line_exit_1(chat_server, notes: Path) -> None:
    srv: ChatServer = chat_server()
    error = OSError(errno.ENOSPC, "No space left on device")
    result = run_with_stdout(error, "chat", "risks", "-f", str(notes))
    assert (result.code, result.stderr) == (1, "xai: cannot write to stdout: No space left on device\n")
    assert srv.stored() == []
