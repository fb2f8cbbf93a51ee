"""The one way tests start emulators.

- `Emulators`: the `xai serve` code in this process, on a loopback port, each server with its own
  data dir and (unless told otherwise) a fault plan that also counts calls; `start` can point the
  in-process CLI at the new server. The `emulators`, `server`, `chat_server` and `make_server`
  fixtures are built on it.
- `ServeProcess` and `run_serve`: `xai serve` as a real process, for tests where the process
  itself (flags, signals, its output, a crash) is what is tested.
- `FakeClock` for ServerConfig(clock=...), `seed`/`seed_many` and `disk_state` for set-up and checks.
"""

from __future__ import annotations

import contextlib
import queue
import sqlite3
import subprocess
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.constants import TEST_KEY
from tests.support.processes import start_xai, xai_command, xai_subprocess_env
from tests.support.raw_grpc import Files
from xai_files_cli.emulator.faults import FaultPlan
from xai_files_cli.emulator.server import RunningServer, ServerConfig, start_server
from xai_files_cli.emulator.storage import PageQuery


class Emulators:
    """Starts emulators in this process and stops them all at `close`.

    `monkeypatch` is needed only to point the CLI at a server (`XAI_API_HOST`, `XAI_API_KEY`).
    """

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch | None = None) -> None:
        self._root = root
        self._monkeypatch = monkeypatch
        self._started: list[RunningServer] = []

    def start(
        self,
        *faults: str,
        point_cli: bool = True,
        data_dir: Path | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        **fields: Any,
    ) -> RunningServer:
        """A fresh emulator with these fault specs (`UploadFile:abort_upload:after=1`).

        `fields` are ServerConfig fields: `api_key` defaults to the test key; `faults` (a FaultPlan,
        or None for no fault interceptor at all) replaces the plan parsed from the specs.
        With `point_cli`, the in-process CLI's environment (host and test key) points at it.
        """
        if faults and "faults" in fields:
            raise TypeError("give fault specs or a FaultPlan, not both")
        fields.setdefault("faults", FaultPlan.parse(faults))
        fields.setdefault("api_key", TEST_KEY)
        data_dir = data_dir or self._root / f"emulator{len(self._started)}"
        running = start_server(ServerConfig(data_dir=data_dir, **fields), host=host, port=port)
        self._started.append(running)
        if point_cli:
            self.point_cli_at(running)
        return running

    def point_cli_at(self, running: RunningServer, key: str = TEST_KEY) -> None:
        """Make the in-process CLI use `running` with `key` (through the environment)."""
        if self._monkeypatch is None:
            raise TypeError("Emulators needs a monkeypatch to point the CLI at a server")
        self._monkeypatch.setenv("XAI_API_HOST", running.target)
        self._monkeypatch.setenv("XAI_API_KEY", key)

    def close(self) -> None:
        """Stop every server started here, without grace."""
        for running in self._started:
            running.stop(grace=0)


@dataclass
class ChatServer:
    """An emulator started for a chat test, with its fault plan (which also counts calls)."""

    running: RunningServer
    plan: FaultPlan

    def stored(self) -> list[str]:
        """Names of the files the server holds now."""
        records, _ = self.running.storage.list_files(PageQuery(limit=1000))
        return sorted(record.filename for record in records)

    def calls(self, method: str) -> int:
        return self.plan.calls(method)


def seed(server: RunningServer, name: str, payload: bytes = b"x", ttl: int | None = None) -> str:
    """Store a file directly in the emulator's storage (fast set-up); returns its id."""
    upload = server.storage.begin_upload(name, ttl)
    upload.write(payload)
    return upload.commit().id


class FakeClock:
    """An injectable nanosecond clock that only moves when told to."""

    def __init__(self, start_s: int = 1_800_000_000) -> None:
        self.now = start_s * 1_000_000_000

    def __call__(self) -> int:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += int(seconds * 1_000_000_000)


def disk_state(data_dir: Any) -> tuple[set[str], set[str]]:
    """(ids whose bytes are stored: blob files plus small files kept in files.db, temp names) under a
    data dir."""
    return (
        {p.name for p in (data_dir / "blobs").iterdir()} | inline_ids(data_dir),
        {p.name for p in (data_dir / "tmp").iterdir()},
    )


def inline_ids(data_dir: Any) -> set[str]:
    """Ids of the small files whose bytes files.db holds (no blob file), read without writing."""
    uri = f"{(Path(data_dir) / 'files.db').as_uri()}?mode=ro"
    with contextlib.closing(sqlite3.connect(uri, uri=True)) as db:
        return {row[0] for row in db.execute("SELECT id FROM inline_blobs")}


def seed_many(server: RunningServer, names: Iterable[str], payload: bytes = b"x") -> list[str]:
    """`seed` each name, many at once (their commits share fsyncs, as concurrent uploads do); ids in
    the order of `names`."""
    with ThreadPoolExecutor(max_workers=16) as pool:
        return list(pool.map(lambda name: seed(server, name, payload), names))


def serve_env(key: str | None, extra: dict[str, str] | None = None) -> dict[str, str]:
    """A subprocess environment whose only API key is `key` (none at all for None)."""
    env = xai_subprocess_env()
    env.pop("XAI_API_KEY", None)
    if key is not None:
        env["XAI_API_KEY"] = key
    env.update(extra or {})
    return env


def run_serve(
    *args: str, key: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`xai serve ARGS` to its exit (for refusals: a server that starts fails the test by timing out)."""
    return subprocess.run(
        xai_command("serve", *args), capture_output=True, text=True, timeout=30, env=serve_env(key, env)
    )


class ServeProcess:
    """`xai serve` in a subprocess on a free port (or `port`); waits for its "listening on" line.

    `verbose=True` runs `xai -v serve`, which logs each injected fault and the start of a graceful
    stop on stderr: markers for `expect_line`.
    """

    def __init__(
        self,
        data_dir: Any,
        *extra: str,
        key: str | None = "serve-test-key-0123456789",
        port: int = 0,
        verbose: bool = False,
    ) -> None:
        self.data_dir = data_dir
        self.key = key
        args = [*(["-v"] if verbose else []), "serve", "--port", str(port), "--data-dir", str(data_dir)]
        self.proc = start_xai(
            *args, *extra, env=serve_env(key), stderr=subprocess.PIPE, stdout=subprocess.PIPE
        )
        self.first_line = self.proc.stderr.readline().decode()
        if "listening on" not in self.first_line:
            self.proc.kill()
            rest = self.proc.communicate(timeout=10)[1].decode()
            raise RuntimeError(f"xai serve did not start: {self.first_line}{rest}")
        self.target = self.first_line.split("listening on ", 1)[1].split(" ", 1)[0]
        self.port = int(self.target.rsplit(":", 1)[1])
        self.public_line = self.proc.stderr.readline().decode()  # "xai serve: public links on URL"
        self.public_base = self.public_line.split("public links on ", 1)[-1].split(" ", 1)[0].strip()
        self.lines: list[str] = []  # stderr lines read by expect_line, after the first
        self._lines: queue.Queue[str | None] | None = None  # filled by a reader thread once needed

    def client(self) -> Files:
        return Files(self.target, self.key)

    def expect_line(self, needle: str, timeout: float = 30.0) -> str:
        """A stderr line containing `needle`, already printed or waited for (fails on timeout or if
        the process ends first); lines printed in any order are found."""
        for line in self.lines:
            if needle in line:
                return line
        if self._lines is None:
            self._lines = queue.Queue()
            threading.Thread(target=self._read_stderr, daemon=True).start()
        while True:
            try:
                line = self._lines.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"xai serve did not print {needle!r}; it printed {self.lines}") from None
            if line is None:
                raise AssertionError(f"xai serve ended without printing {needle!r}; it printed {self.lines}")
            self.lines.append(line)
            if needle in line:
                return line

    def _read_stderr(self) -> None:
        assert self._lines is not None
        for raw in iter(self.proc.stderr.readline, b""):
            self._lines.put(raw.decode())
        self._lines.put(None)

    def finish(self, timeout: float = 15.0) -> tuple[int, str]:
        """Wait for exit; returns (exit code, the rest of stderr: what expect_line did not consume)."""
        if self._lines is None:
            _, err = self.proc.communicate(timeout=timeout)
            return self.proc.returncode, err.decode()
        self.proc.wait(timeout)
        rest = []
        while (line := self._lines.get(timeout=timeout)) is not None:
            rest.append(line)
        self._lines.put(None)  # keep the end marker for a later call
        return self.proc.returncode, "".join(rest)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        if self._lines is None:
            self.proc.communicate(timeout=10)
        else:
            self.proc.wait(10)
