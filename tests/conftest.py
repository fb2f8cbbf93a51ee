"""Shared fixtures: isolation from the developer's machine, a real emulator on a loopback port,
and `run_xai`, which runs the whole CLI in-process with injected streams."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from xai_files_cli.cli.app import run
from xai_files_cli.output.io import IOStreams

TEST_KEY = "xai-testkey0123456789abcdefghijklmnopqrstuv"
REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def isolation(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own config/data dirs and none of the developer's XAI_* settings."""
    home = tmp_path_factory.mktemp("home")
    for name in list(os.environ):
        if name.startswith(("XAI_", "_XAI_")) or name in (
            "FORCE_COLOR",
            "CLICOLOR_FORCE",
            "GITHUB_ACTIONS",
            "PY_COLORS",
            "GRPC_TRACE",
        ):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XAI_CONFIG_DIR", str(home / "config"))
    monkeypatch.setenv("XAI_DATA_DIR", str(home / "data"))
    monkeypatch.setenv("XAI_STATE_DIR", str(home / "state"))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "100")
    return home


@dataclass
class CliResult:
    """Exit code and everything the command wrote."""

    code: int
    stdout_bytes: bytes
    stderr: str

    @property
    def stdout(self) -> str:
        return self.stdout_bytes.decode("utf-8", errors="replace")

    def __repr__(self) -> str:  # shown by pytest when an assertion fails
        return f"CliResult(code={self.code}, stdout={self.stdout!r}, stderr={self.stderr!r})"


def run_xai(
    *args: str,
    stdin: bytes = b"",
    stdin_tty: bool = False,
    stdout_tty: bool = False,
    stderr_tty: bool = False,
    color: bool = False,
) -> CliResult:
    """Run `xai ARGS` in this process through `run`, with in-memory streams."""
    io = IOStreams.for_test(
        stdin, stdin_tty=stdin_tty, stdout_tty=stdout_tty, stderr_tty=stderr_tty, color=color
    )
    code = run(list(args), io)
    return CliResult(code=code, stdout_bytes=io.stdout_bytes(), stderr=io.stderr_text())


@pytest.fixture
def server(tmp_path: Path) -> Iterator[object]:
    """A real emulator (`xai serve` code) on 127.0.0.1:<random port> with its own data dir."""
    from xai_files_cli.emulator.server import ServerConfig, start_server

    running = start_server(
        ServerConfig(data_dir=tmp_path / "server-data", api_key=TEST_KEY), host="127.0.0.1", port=0
    )
    try:
        yield running
    finally:
        running.stop(grace=0)


@pytest.fixture
def xai(server: object, monkeypatch: pytest.MonkeyPatch):
    """`xai(*args, **io_flags)` runs the CLI against the `server` fixture with the test key."""
    monkeypatch.setenv("XAI_API_HOST", server.target)  # type: ignore[attr-defined]
    monkeypatch.setenv("XAI_API_KEY", TEST_KEY)
    return run_xai


@pytest.fixture
def faulty(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """`faulty.start(*specs)` -> a running emulator with those faults (see tests/core/helpers.py)."""
    from tests.core.helpers import FaultyServers

    servers = FaultyServers(tmp_path / "servers", monkeypatch)
    yield servers
    servers.close()


def xai_subprocess_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for running `python -m xai_files_cli` or SDK scripts in a subprocess."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO_ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra or {})
    return env


PYTHON = sys.executable
