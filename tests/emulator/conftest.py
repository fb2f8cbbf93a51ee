"""Fixtures for emulator tests: raw Files and Chat clients of the shared `server`, and extra servers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.emulator.conversation_helpers import ChatClient, report_pdf
from tests.support.constants import TEST_KEY
from tests.support.emulator import Emulators
from tests.support.raw_grpc import Files
from tests.support.samples import NOTES
from xai_files_cli.emulator.server import RunningServer


@pytest.fixture
def files(server: RunningServer) -> Iterator[Files]:
    """A raw-stub client of the `server` fixture, authenticated with the test key."""
    client = Files(server.target, TEST_KEY)
    yield client
    client.close()


@pytest.fixture
def chat(server: RunningServer) -> Iterator[ChatClient]:
    """A raw-stub Chat and Auth client of the `server` fixture, authenticated with the test key
    (test_chat_service.py keeps its own `chat`, built on the `files` client)."""
    client = ChatClient(server.target, TEST_KEY)
    yield client
    client.close()


@pytest.fixture
def notes_id(files: Files) -> str:
    """The id of the project notes (tests/support/samples.py) stored as notes.txt on `server`."""
    return files.upload("notes.txt", NOTES.encode()).id


@pytest.fixture
def report_id(files: Files) -> str:
    """The id of the two-page report PDF (conversation_helpers.report_pdf) stored as report.pdf."""
    return files.upload("report.pdf", report_pdf()).id


@pytest.fixture
def make_server(emulators: Emulators) -> Iterator[Callable[..., tuple[RunningServer, Files]]]:
    """Start extra emulators with custom ServerConfig fields (no fault plan unless given);
    returns (server, raw client authenticated with the server's key)."""
    clients: list[Files] = []

    def make(data_dir: Path | None = None, **fields: Any) -> tuple[RunningServer, Files]:
        fields.setdefault("faults", None)
        running = emulators.start(point_cli=False, data_dir=data_dir, **fields)
        clients.append(Files(running.target, running.api_key))
        return running, clients[-1]

    yield make
    for client in clients:
        client.close()
