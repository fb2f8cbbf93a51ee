"""Helpers shared by the chat tests: sample documents, a tiny real PDF, a stalling stream, and
fixtures (`chat_server`, `notes`) that test modules import."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import TEST_KEY
from xai_files_cli.emulator.faults import FaultPlan
from xai_files_cli.emulator.server import RunningServer, ServerConfig, start_server

NOTES = (
    "Project Falcon status notes.\n"
    "\n"
    "The main risk is that the vendor misses the March deadline for the sensor firmware.\n"
    "\n"
    "Budget: spending is on plan, with a reserve of 40,000 euros kept for testing.\n"
    "\n"
    "A second risk is the office move in April, which may slip by two weeks.\n"
    "\n"
    "The team grew to twelve engineers; hiring is finished.\n"
)


def _pdf_string(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def make_pdf(lines: list[str]) -> bytes:
    """A minimal one-page PDF (Helvetica text) that pypdf can extract `lines` from."""
    shown = " ".join(f"({_pdf_string(line)}) Tj T*" for line in lines)
    stream = f"BT /F1 12 Tf 72 720 Td 14 TL {shown} ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        "/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{offset:010d} 00000 n \n" for offset in offsets).encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


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


@dataclass
class ChatServer:
    """An emulator started for a chat test, with its fault plan (which also counts calls)."""

    running: RunningServer
    plan: FaultPlan

    def stored(self) -> list[str]:
        """Names of the files the server holds now."""
        records, _ = self.running.storage.list_files(limit=1000)
        return sorted(record.filename for record in records)

    def calls(self, method: str) -> int:
        return self.plan.calls(method)


@pytest.fixture
def chat_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., ChatServer]]:
    """`chat_server(*fault_specs)` starts an emulator the CLI (in-process) is pointed at."""
    started: list[RunningServer] = []

    def start(*faults: str) -> ChatServer:
        plan = FaultPlan.parse(faults)
        running = start_server(
            ServerConfig(data_dir=tmp_path / f"server{len(started)}", api_key=TEST_KEY, faults=plan)
        )
        started.append(running)
        monkeypatch.setenv("XAI_API_HOST", running.target)
        monkeypatch.setenv("XAI_API_KEY", TEST_KEY)
        return ChatServer(running, plan)

    yield start
    for running in started:
        running.stop(grace=0)


@pytest.fixture
def notes(tmp_path: Path) -> Path:
    path = tmp_path / "notes.txt"
    path.write_text(NOTES)
    return path
