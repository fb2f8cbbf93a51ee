"""Ctrl-C during `xai chat`: exit 130, the partial answer ends on a fresh line, the call is
cancelled, and auto-uploaded files are still deleted."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from tests import chat_helpers
from tests.chat_helpers import ChatServer, StallAfterText
from tests.conftest import PYTHON, REPO_ROOT, TEST_KEY, xai_subprocess_env
from xai_files_cli.cli.app import run
from xai_files_cli.emulator.chat_service import ChatServicer
from xai_files_cli.output.io import IOStreams

chat_server = chat_helpers.chat_server  # a shared fixture
notes = chat_helpers.notes  # a shared fixture


def test_keyboard_interrupt_mid_answer_exits_130_and_cleans_up(chat_server, notes: Path) -> None:
    srv: ChatServer = chat_server()
    io = IOStreams.for_test(stdout_tty=True)
    written: list[str] = []
    real_write = io.write_out

    def interrupting_write(text: str) -> None:
        real_write(text)
        written.append(text)
        if len(written) == 2:  # the user presses Ctrl-C after two pieces of text
            raise KeyboardInterrupt

    io.write_out = interrupting_write  # type: ignore[method-assign]
    code = run(["chat", "What are the risks?", "-f", str(notes)], io)
    assert code == 130
    out = io.stdout_text()
    assert out.startswith("From notes.txt:\n> The main risk")
    assert out.endswith("\n") and "Quoted" not in out
    assert io.stderr_text().endswith("xai: interrupted\n")
    assert srv.calls("DeleteFile") == 1 and srv.stored() == []


@pytest.fixture
def stall(monkeypatch: pytest.MonkeyPatch) -> StallAfterText:
    """Make the emulator's stream stop after the first text chunk until the client goes away."""
    patch = StallAfterText(ChatServicer.GetCompletionChunk)

    def stalling(servicer, request, context):  # type: ignore[no-untyped-def]
        yield from patch(servicer, request, context)

    monkeypatch.setattr(ChatServicer, "GetCompletionChunk", stalling)
    yield patch
    patch.release.set()


def test_sigint_during_a_stream_exits_130_and_deletes_the_upload(
    stall: StallAfterText, chat_server, notes: Path
) -> None:
    srv: ChatServer = chat_server()  # started after the patch, so it serves the stalling stream
    env = xai_subprocess_env({"XAI_API_HOST": srv.running.target, "XAI_API_KEY": TEST_KEY})
    process = subprocess.Popen(
        [PYTHON, "-m", "xai_files_cli", "chat", "What are the risks?", "-f", str(notes)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=REPO_ROOT,
    )
    try:
        first = os.read(process.stdout.fileno(), 4096)  # blocks until the first text is printed
        assert first and stall.stalled.wait(30), first
        process.send_signal(signal.SIGINT)
        rest, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    out = (first + rest).decode()
    assert process.returncode == 130, (out, err)
    assert out == "From notes.txt:\n"  # what was shown stays, on its own line
    assert err.decode().endswith("xai: interrupted\n")
    assert "Traceback" not in err.decode()
    assert stall.cancelled.wait(10)  # the server saw the call cancelled
    assert srv.stored() == []  # the auto-uploaded file was deleted on the way out
