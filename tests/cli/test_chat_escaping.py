"""Untrusted text in chat: model output carrying bidi overrides, C1 controls, BEL and OSC sequences reaches a
terminal escaped in every chat mode (streamed, --no-stream, interactive), and JSON-escaped with --json.

test_chat.py already covers ESC/CSI/OSC 52 in a streamed answer and the raw bytes on a pipe.
The local engine quotes the attached file, so hostile text in the file is hostile model output.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest

from tests.support.cli import run_with_stdin, run_xai

HOSTILE = (
    "The risk is \u202eevil\u202c reversed, \u2066isolated\u2069, \x9b31m a C1 CSI, "
    "\x1b]8;;http://x.example\x07a link\x1b]8;;\x07 and a bell\x07 here.\n"
)
ESCAPED = (
    "The risk is \\u202eevil\\u202c reversed, \\u2066isolated\\u2069, \\x9b31m a C1 CSI, "
    "\\x1b]8;;http://x.example\\x07a link\\x1b]8;;\\x07 and a bell\\x07 here."
)
RAW_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


@pytest.fixture
def hostile(tmp_path: Path) -> Path:
    path = tmp_path / "evil.txt"
    path.write_text(HOSTILE)
    return path


@pytest.mark.parametrize(
    "mode",
    [
        ["risk", "--raw"],
        ["risk", "--no-stream", "--raw"],
        ["--interactive", "--raw"],  # the question comes from the terminal
    ],
)
def test_every_chat_mode_escapes_model_output_on_a_terminal(
    chat_server, hostile: Path, mode: list[str]
) -> None:
    chat_server()
    result = run_xai(
        "chat", *mode, "-f", str(hostile), stdin=b"risk\n", stdin_tty=True, stdout_tty=True, stderr_tty=True
    )
    assert result.code == 0, result
    assert ESCAPED in result.stdout
    assert not RAW_CONTROL.search(result.stdout)
    for raw in ("\u202e", "\u2066", "\x9b", "\x07", "\x1b]"):  # stderr (progress, usage) has our styling only
        assert raw not in result.stderr


@pytest.mark.parametrize("mode", [["risk"], ["risk", "--no-stream"], ["--interactive"]])
def test_markdown_rendering_escapes_model_output_too(chat_server, hostile: Path, mode: list[str]) -> None:
    chat_server()
    ttys = {"stdin_tty": True, "stdout_tty": True, "stderr_tty": True}
    result = run_with_stdin(io.BytesIO(b"risk\n"), "chat", *mode, "-f", str(hostile), width=400, **ttys)
    assert result.code == 0, result
    assert f"▌ {ESCAPED} [1]" in result.stdout  # rendered as a block quote, escaped
    for raw in ("\u202e", "\u2066", "\x9b", "\x07", "\x1b]"):  # only rich's own cursor codes remain
        assert raw not in result.stdout


def test_json_output_escapes_the_same_text_and_round_trips(chat_server, hostile: Path) -> None:
    chat_server()
    result = run_xai("chat", "risk", "-f", str(hostile), "--json", stdout_tty=True)
    assert result.code == 0, result
    assert not RAW_CONTROL.search(result.stdout)  # \u001b, \u009b, \u202e: JSON escapes, not raw
    assert HOSTILE.rstrip("\n") in json.loads(result.stdout)["content"]  # the exact text, for programs
