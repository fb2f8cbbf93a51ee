"""A download's deadline is one budget for all its attempts: a restart after a broken stream gets only
the time that is left, and the timeout says how many bytes arrived (real gRPC through a loopback
relay that stalls the server's bytes, as a stuck middlebox does)."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli import run_xai
from tests.support.emulator import Emulators, seed
from tests.support.stall_proxy import StallProxy
from xai_files_cli.core import files
from xai_files_cli.emulator.files_service import CHUNK_SIZE

SIZE = 2 * CHUNK_SIZE + 1000  # three messages: the relay lets the first through, then stalls
LIMIT = CHUNK_SIZE + 512 * 1024  # the first message and its framing, not the second
TIMED_OUT = re.compile(r"timed out after 2 s \(([\d,]+) of ([\d,]+) bytes received\) \(DEADLINE_EXCEEDED\)")


@pytest.fixture
def stalled_file(emulators: Emulators, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, StallProxy]]:
    """A file on an emulator reached through a relay that breaks each connection 1.2 s after it
    stalls: every attempt gets the first chunk, waits, and then finds its stream broken."""
    server = emulators.start(point_cli=False, faults=None)
    file_id = seed(server, "big.bin", os.urandom(SIZE))
    emulators.point_cli_at(server)
    with StallProxy(server.port, limit=LIMIT, hold=1.2) as proxy:
        monkeypatch.setenv("XAI_API_HOST", proxy.target)
        yield file_id, proxy


@pytest.mark.parametrize("deadline", ["--timeout", "default"])
def test_a_restart_gets_only_what_is_left_of_the_deadline(
    stalled_file: tuple[str, StallProxy], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, deadline: str
) -> None:
    file_id, proxy = stalled_file
    if deadline == "default":  # 60 s + 1 s per MB, shrunk to 2 s + nothing per MB
        monkeypatch.setattr(files, "DEFAULT_TIMEOUT", 2.0)
        monkeypatch.setattr(files, "TRANSFER_RATE", 10**15)
        options: tuple[str, ...] = ()
    else:
        options = ("--timeout", "2")
    dest = tmp_path / "out" / "big.bin"
    dest.parent.mkdir()
    started = time.monotonic()
    result = run_xai(*options, "files", "cat", file_id, "-o", str(dest))
    elapsed = time.monotonic() - started
    # The first attempt broke after 1.2 s; the restart had what was left of the 2 s, not 2 s more
    # (each restart with a fresh deadline took three 1.2 s attempts and ended "gave up after 3").
    assert (result.code, result.stdout) == (6, ""), result
    match = TIMED_OUT.search(result.stderr)
    assert match is not None, result.stderr
    assert result.stderr.startswith(f"xai: download {file_id}: timed out after 2 s (")
    assert match.group(2) == f"{SIZE:,}"
    assert int(match.group(1).replace(",", "")) == CHUNK_SIZE  # the first chunk arrived, then nothing
    assert proxy.connections == 2  # one restart
    assert elapsed < 3.0
    assert list(dest.parent.iterdir()) == []  # no partial file


def test_a_stalled_download_to_stdout_times_out_saying_how_far_it_got(
    stalled_file: tuple[str, StallProxy],
) -> None:
    file_id, proxy = stalled_file
    proxy.hold = None  # a stalled connection stays open: only the deadline ends the download
    result = run_xai("--timeout", "2", "files", "cat", file_id)
    assert result.code == 6, result
    assert len(result.stdout_bytes) == CHUNK_SIZE  # what arrived was written before the stall
    match = TIMED_OUT.search(result.stderr)
    assert match is not None, result.stderr
    assert (match.group(1), match.group(2)) == (f"{CHUNK_SIZE:,}", f"{SIZE:,}")
    assert proxy.connections == 1  # stdout cannot be rewound: no restart
