"""CI progress lines (stderr not a terminal) keep coming while a transfer is stalled: a heartbeat says
it is waiting, how much arrived so far and for how long nothing moved; none after the transfer ends,
none with --quiet (real gRPC: the emulator holds the stream mid-transfer)."""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path

import pytest

from tests.support.cli import run_xai
from tests.support.emulator import Emulators, seed
from xai_files_cli.emulator.files_service import CHUNK_SIZE
from xai_files_cli.output import progress

INTERVAL = 0.1  # seconds between lines, for the test (5 s in use)
STALL = 1.0
WAITING = re.compile(r"^\d\d:\d\d:\d\d xai: (\w+) big\.bin: waiting: (.+) so far, no data for ([\d.]+) s$")


@pytest.fixture(autouse=True)
def short_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(progress, "LINE_INTERVAL", INTERVAL)


def heartbeat_alive() -> bool:
    return any(thread.name == "xai-progress-heartbeat" for thread in threading.enumerate())


def waiting_lines(stderr: str) -> list[re.Match[str]]:
    return [match for line in stderr.splitlines() if (match := WAITING.match(line))]


def test_a_stalled_download_prints_waiting_lines_until_it_moves_again_unless_quiet(
    emulators: Emulators, tmp_path: Path
) -> None:
    server = emulators.start(f"RetrieveFileContent:stall:after=1,amount={STALL},times=2")
    payload = os.urandom(2 * CHUNK_SIZE + 1000)
    file_id = seed(server, "big.bin", payload)
    result = run_xai("files", "cat", file_id, "-o", str(tmp_path / "big.bin"))
    assert (result.code, result.stdout) == (0, ""), result
    assert (tmp_path / "big.bin").read_bytes() == payload
    lines = waiting_lines(result.stderr)
    # Before: nothing at all while the stream was held (lines came only with bytes).
    assert len(lines) >= 3, result.stderr
    assert {match.group(1) for match in lines} == {"download"}
    assert {match.group(2) for match in lines} == {"3.1 MB of 6.3 MB (49%)"}  # the first chunk, then nothing
    idle = [float(match.group(3)) for match in lines]
    assert idle == sorted(idle) and idle[0] >= INTERVAL and idle[-1] < STALL + INTERVAL
    assert not heartbeat_alive()  # ended with the transfer: no line can follow

    quiet = run_xai("-q", "files", "cat", file_id, "-o", str(tmp_path / "again.bin"))
    assert (quiet.code, quiet.stdout, quiet.stderr) == (0, "", ""), quiet
    assert server.faults is not None and server.faults.calls("RetrieveFileContent") == 2  # held again


def test_a_stalled_upload_prints_waiting_lines(emulators: Emulators, tmp_path: Path) -> None:
    server = emulators.start(f"UploadFile:stall_upload:after=1,amount={STALL}")
    source = tmp_path / "big.bin"
    source.write_bytes(os.urandom(24 * 1024 * 1024))  # more than the flow-control windows hold
    result = run_xai("files", "upload", str(source))
    assert result.code == 0, result
    lines = waiting_lines(result.stderr)
    assert len(lines) >= 3, result.stderr
    assert {match.group(1) for match in lines} == {"upload"}
    assert server.faults is not None and server.faults.held("UploadFile") == 1
    assert not heartbeat_alive()
