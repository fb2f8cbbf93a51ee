"""Fixtures for core tests: a FilesClient on the shared emulator, and emulators with faults."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.constants import TEST_KEY
from tests.support.emulator import Emulators
from xai_files_cli.core.channel import connect
from xai_files_cli.core.files import FilesClient


@pytest.fixture
def client(server) -> Iterator[FilesClient]:
    """A FilesClient over a real channel to the `server` fixture."""
    channel = connect(server.target, TEST_KEY)
    yield FilesClient(channel)
    channel.close()


@pytest.fixture
def faulty_client(emulators: Emulators):
    """`faulty_client(*specs, timeout=None)` -> (server, FilesClient) with those faults."""
    channels = []

    def make(*specs: str, timeout: float | None = None):
        running = emulators.start(*specs)
        channel = connect(running.target, TEST_KEY)
        channels.append(channel)
        return running, FilesClient(channel, timeout=timeout)

    yield make
    for channel in channels:
        channel.close()
