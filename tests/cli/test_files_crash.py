"""The CLI killed, and the server restarted, in the middle of a call; real processes.

Every step waits for a marker: a byte count on disk, a fault the server logged, the server's own
"stopping" line. No test sleeps for a guessed amount of time.
"""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.constants import MIB, TEST_KEY
from tests.support.emulator import Emulators, ServeProcess, seed
from tests.support.processes import start_xai_against
from xai_files_cli.emulator.files_service import CHUNK_SIZE

PARTIAL_NAME = re.compile(r"\.copy\.bin\.[0-9a-f]{8}\.partial")


def _wait_for_partial(directory: Path, size: int, process: subprocess.Popen[str]) -> Path:
    """The download's temp file once it holds `size` bytes (polls the directory, the marker)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        for entry in directory.iterdir():
            if entry.name.endswith(".partial") and entry.stat().st_size >= size:
                return entry
        time.sleep(0.01)
    raise AssertionError(f"no partial file of {size} bytes appeared in {directory}")


def test_sigkill_mid_download_then_rerun(emulators: Emulators, tmp_path: Path) -> None:
    """The old destination survives a SIGKILL byte for byte; the re-run removes the leftover."""
    server = emulators.start("RetrieveFileContent:stall:after=1,amount=60", point_cli=False)
    payload = os.urandom(3 * CHUNK_SIZE)
    file_id = seed(server, "big.bin", payload)
    out = tmp_path / "out"
    out.mkdir()
    dest = out / "copy.bin"
    dest.write_bytes(b"precious old content")

    first = start_xai_against(server.target, TEST_KEY, "files", "cat", file_id, "-o", str(dest))
    partial = _wait_for_partial(out, CHUNK_SIZE, first)  # one chunk on disk, the stream stalled
    assert dest.read_bytes() == b"precious old content"  # untouched while the download runs
    first.kill()
    first.communicate(timeout=10)
    assert first.returncode == -signal.SIGKILL
    assert server.faults.wait_for(lambda plan: plan.outcomes("RetrieveFileContent") == ["CANCELLED"])

    assert dest.read_bytes() == b"precious old content"  # the old file, untouched
    leftovers = sorted(p.name for p in out.iterdir() if p != dest)
    assert leftovers == [partial.name] and PARTIAL_NAME.fullmatch(partial.name)  # recognisable
    assert stat.S_IMODE(partial.stat().st_mode) == 0o600  # private while it lingers
    assert partial.read_bytes() == payload[:CHUNK_SIZE]

    again = start_xai_against(server.target, TEST_KEY, "files", "cat", file_id, "-o", str(dest))
    stdout, stderr = again.communicate(timeout=60)
    assert (again.returncode, stdout, stderr) == (0, "", "")
    assert dest.read_bytes() == payload  # the whole file, not the leftover's prefix
    assert sorted(p.name for p in out.iterdir()) == ["copy.bin"]  # no temp file left, old or new
    assert server.faults.outcomes("RetrieveFileContent") == ["CANCELLED", "OK"]


def _restartable(tmp_path: Path, *faults: str, grace: str) -> tuple[ServeProcess, dict[str, bytes]]:
    """`xai -v serve` with delayed calls, and two files stored in it: {id: content}."""
    fault_args = [arg for spec in faults for arg in ("--fault", spec)]
    serve = ServeProcess(tmp_path / "data", "--grace", grace, *fault_args, verbose=True)
    client = serve.client()
    stored = {}
    try:
        for name, content in (("a.txt", b"alpha"), ("b.bin", os.urandom(MIB))):
            stored[client.upload(name, content).id] = content
    except BaseException:
        serve.kill()  # a failed set-up must not leave the server running
        raise
    finally:
        client.close()
    return serve, stored


@pytest.mark.slow
def test_server_restarted_during_ls_and_get_the_retries_land(tmp_path: Path) -> None:
    """SIGTERM while both calls are in flight, the same server is back on the same port and data
    dir before the grace period ends; the calls the old one aborts are retried and land there."""
    old, stored = _restartable(  # a grace long enough for the new server to start on a busy machine
        tmp_path, "ListFiles:delay:amount=60", "RetrieveFile:delay:amount=60", grace="6"
    )
    new = None
    try:
        some_id = next(iter(stored))
        listing = start_xai_against(old.target, old.key, "files", "ls", "--json")
        getting = start_xai_against(old.target, old.key, "files", "get", some_id, "--json")
        old.expect_line("fault ListFiles:delay")  # both calls are now held inside the old server
        old.expect_line("fault RetrieveFile:delay")
        old.proc.send_signal(signal.SIGTERM)
        old.expect_line("stopping: new calls are refused")  # its port is closed
        # Zero-second delays change nothing but log each call: proof that the retries reached it.
        zero = ("--fault", "ListFiles:delay:amount=0", "--fault", "RetrieveFile:delay:amount=0")
        new = ServeProcess(tmp_path / "data", *zero, port=old.port, key=old.key, verbose=True)
        out, err = listing.communicate(timeout=60)
        assert (listing.returncode, err) == (0, ""), err
        assert sorted(f["id"] for f in json.loads(out)) == sorted(stored)
        out, err = getting.communicate(timeout=60)
        assert (getting.returncode, err) == (0, ""), err
        assert json.loads(out)["size"] == len(stored[some_id])
        new.expect_line("fault ListFiles:delay on call 1")
        new.expect_line("fault RetrieveFile:delay on call 1")
        code, rest = old.finish(timeout=30)
        assert code == 0 and rest.endswith("xai serve: stopped\n")
        client = new.client()
        assert {f.id: client.content(f.id) for f in client.list_all()} == stored
        client.close()
    finally:
        old.kill()
        if new is not None:
            new.kill()


def test_server_stopped_for_good_during_get_exits_6_cleanly(tmp_path: Path) -> None:
    """The server stopped mid-call and nobody comes back: the retries give up with one line and exit 6."""
    old, stored = _restartable(tmp_path, "RetrieveFile:delay:amount=60", grace="0.2")
    try:
        some_id = next(iter(stored))
        getting = start_xai_against(old.target, old.key, "files", "get", some_id)
        old.expect_line("fault RetrieveFile:delay")
        old.proc.send_signal(signal.SIGTERM)
        out, err = getting.communicate(timeout=60)
        assert (getting.returncode, out) == (6, "")
        assert err.startswith(f"xai: get {some_id}: ")
        assert err.endswith(f"(UNAVAILABLE); the API host {old.target} comes from env XAI_API_HOST\n")
        assert err.count("\n") == 1 and "Traceback" not in err
        assert old.finish(timeout=30)[0] == 0
    finally:
        old.kill()
