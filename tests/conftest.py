"""Shared fixtures: isolation from the developer's machine, emulators on loopback ports (one
factory, tests/support/emulator.py), the CLI pointed at them, sample notes and TLS material.

Helpers that are not fixtures live in tests/support/; test modules import those, never each other.
"""

from __future__ import annotations

import compileall
import os
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import xai_files_cli
from tests.support.cli import CliResult, run_xai
from tests.support.emulator import ChatServer, Emulators
from tests.support.samples import NOTES
from tests.support.timing import install_fast_retries
from tests.support.tls import TlsCerts, make_certs
from xai_files_cli.emulator.server import RunningServer

# The suite keeps bytecode caches even where PYTHONDONTWRITEBYTECODE is set: without them every xdist
# worker rewrites the asserts of every test module again (about 5 s of CPU each), and every `xai`
# subprocess compiles the package from source. Caches are only written from here on; a changed source
# file still invalidates its cache.
sys.dont_write_bytecode = False


def pytest_configure(config: pytest.Config) -> None:
    """Byte-compile the package once, before any worker starts, as an install would: the `xai`
    subprocesses the tests start inherit PYTHONDONTWRITEBYTECODE and would otherwise each compile the
    modules that no worker happened to import after the line above (measured on a clean clone: the
    first run took 101 s, a second one 84 s)."""
    if not hasattr(config, "workerinput"):
        compileall.compile_dir(str(Path(xai_files_cli.__file__).parent), quiet=1)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked `slow` run first: with several workers, a long test started last would leave the
    others idle while it finishes."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(autouse=True)
def isolation(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own config/data dirs and none of the developer's XAI_* or OTEL_* settings."""
    home = tmp_path_factory.mktemp("home")
    for name in list(os.environ):
        if name.startswith(("XAI_", "_XAI_", "OTEL_")) or name in (
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
    monkeypatch.setenv("XAI_LOGS_PATH", str(home / "logs" / "conversations.db"))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "100")
    return home


@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries after UNAVAILABLE wait milliseconds, for tests that meet a dead server on purpose."""
    install_fast_retries(monkeypatch)


@pytest.fixture
def emulators(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulators]:
    """`emulators.start(*fault_specs, point_cli=True, **config)` -> a running emulator, stopped after
    the test; by default the in-process CLI (host, test key) points at the newest one."""
    started = Emulators(tmp_path / "emulators", monkeypatch)
    yield started
    started.close()


@pytest.fixture
def server(tmp_path: Path, emulators: Emulators) -> RunningServer:
    """A real emulator (`xai serve` code) on 127.0.0.1:<random port> with its own data dir and no
    fault plan; the CLI is not pointed at it (the `xai` fixture does that)."""
    return emulators.start(point_cli=False, data_dir=tmp_path / "server-data", faults=None)


@pytest.fixture
def xai(server: RunningServer, emulators: Emulators) -> Callable[..., CliResult]:
    """`xai(*args, **io_flags)` runs the CLI against the `server` fixture with the test key."""
    emulators.point_cli_at(server)
    return run_xai


@pytest.fixture
def chat_server(emulators: Emulators) -> Callable[..., ChatServer]:
    """`chat_server(*fault_specs)` starts an emulator the CLI (in-process) is pointed at."""

    def start(*faults: str) -> ChatServer:
        running = emulators.start(*faults)
        assert running.faults is not None
        return ChatServer(running, running.faults)

    return start


@pytest.fixture
def notes(tmp_path: Path) -> Path:
    """A text file of project notes the chat engine can answer from."""
    path = tmp_path / "notes.txt"
    path.write_text(NOTES)
    return path


@pytest.fixture(scope="session")
def tls_certs(tmp_path_factory: pytest.TempPathFactory) -> TlsCerts:
    """A private CA and server certificates, made once per session (skips without `openssl`)."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is not installed")
    return make_certs(tmp_path_factory.mktemp("tls"))
