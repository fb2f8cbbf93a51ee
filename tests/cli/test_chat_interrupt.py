"""Ctrl-C during `xai chat`: exit 130, the partial answer ends on a fresh line, the call is
cancelled, and auto-uploaded files are still deleted."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.constants import REPO_ROOT, TEST_KEY
from tests.support.emulator import ChatServer
from tests.support.processes import start_xai, xai_subprocess_env
from xai_files_cli.cli.app import run
from xai_files_cli.emulator.chat_service import ChatServicer
from xai_files_cli.output.io import IOStreams


class StallAfterText:
    """Patch for ChatServicer.GetCompletionChunk: send up to the first text chunk, then wait
    until the client cancels (or `release` is set). `stalled` is set when the wait begins and
    `cancelled` when the server saw the client go away."""

    def __init__(self, original: Any) -> None:
        self.original = original
        self.stalled = threading.Event()
        self.cancelled = threading.Event()
        self.release = threading.Event()

    def __call__(self, servicer: Any, request: Any, context: Any) -> Iterator[Any]:
        def on_done() -> None:  # the RPC ended; while stalled, only the client can have ended it
            if self.stalled.is_set():
                self.cancelled.set()
            self.release.set()

        context.add_callback(on_done)
        for chunk in self.original(servicer, request, context):
            yield chunk
            if any(output.delta.content for output in chunk.outputs):
                self.stalled.set()
                self.release.wait(30)
                return


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
    code = run(["chat", "What are the risks?", "-f", str(notes), "--raw"], io)
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
    process = start_xai(
        "chat",
        "What are the risks?",
        "-f",
        str(notes),
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
