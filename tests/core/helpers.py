"""Helpers for core and CLI tests: emulators with injected faults, seeded files, raw RpcErrors."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from tests.conftest import TEST_KEY
from xai_files_cli.emulator.faults import FaultPlan
from xai_files_cli.emulator.server import RunningServer, ServerConfig, start_server


class FaultyServers:
    """Starts emulators with fault specs (`UploadFile:abort_upload:after=1`) and stops them all."""

    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self._tmp_path = tmp_path
        self._monkeypatch = monkeypatch
        self._started: list[RunningServer] = []

    def start(self, *specs: str, point_cli: bool = True) -> RunningServer:
        """A fresh emulator with these faults; the CLI env (host, key) points at it."""
        plan = FaultPlan.parse(specs)
        data_dir = self._tmp_path / f"faulty{len(self._started)}"
        running = start_server(ServerConfig(data_dir=data_dir, api_key=TEST_KEY, faults=plan))
        self._started.append(running)
        if point_cli:
            self._monkeypatch.setenv("XAI_API_HOST", running.target)
            self._monkeypatch.setenv("XAI_API_KEY", TEST_KEY)
        return running

    def close(self) -> None:
        for running in self._started:
            running.stop(grace=0)


def seed(server: RunningServer, name: str, payload: bytes = b"x", ttl: int | None = None) -> str:
    """Store a file directly in the emulator's storage (fast set-up); returns its id."""
    upload = server.storage.begin_upload(name, ttl)
    upload.write(payload)
    return upload.commit().id


def unused_port() -> int:
    """A loopback TCP port with nothing listening (bound then released)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class FakeRpcError(grpc.RpcError):
    """An RpcError with a chosen status, for mapping tests that need no server."""

    def __init__(self, code: grpc.StatusCode, details: str = "") -> None:
        super().__init__()
        self._code = code
        self._details = details

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details
