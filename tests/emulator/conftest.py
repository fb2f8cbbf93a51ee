"""Fixtures for emulator tests: a raw Files client for the shared `server`, and a server factory."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import TEST_KEY
from tests.emulator.helpers import Files
from xai_files_cli.emulator.server import RunningServer, ServerConfig, start_server


@pytest.fixture
def files(server: RunningServer) -> Iterator[Files]:
    """A raw-stub client of the `server` fixture, authenticated with the test key."""
    client = Files(server.target, TEST_KEY)
    yield client
    client.close()


@pytest.fixture
def make_server(tmp_path: Path) -> Iterator[Callable[..., tuple[RunningServer, Files]]]:
    """Start extra emulators with custom ServerConfig fields; returns (server, client)."""
    started: list[tuple[RunningServer, Files]] = []

    def make(data_dir: Path | None = None, **fields: Any) -> tuple[RunningServer, Files]:
        fields.setdefault("api_key", TEST_KEY)
        config = ServerConfig(data_dir=data_dir or tmp_path / f"data{len(started)}", **fields)
        running = start_server(config)
        client = Files(running.target, config.api_key)
        started.append((running, client))
        return running, client

    yield make
    for running, client in started:
        client.close()
        running.stop(grace=0)
