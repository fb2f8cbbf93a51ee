"""benchmarks/run.py keeps working: --quick runs (small data, one repetition) of each section complete.

They assert that every benchmark row is produced, never how fast anything was: performance targets
are read from a full `python benchmarks/run.py [--scale]`, not from timed unit tests.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.constants import REPO_ROOT
from tests.support.processes import exits_within, python_command, xai_subprocess_env

SCALE_TARGET_ROWS = (
    "files: wall",
    "files: peak RSS",
    "files: first byte",
    "ls --all --jsonl",
    "ls --all --ids",
    "x 4 KiB vs floor",
    "per extra file",
    "batch-upload RSS",
    "to a file vs SDK",
    "to a file: xai peak RSS",
)
SCALE_INFO_ROWS = ("vs raw gRPC read", "vs disk write+fsync", "(no flag) vs SDK")
SKIP_EXISTING_ROWS = ("--skip-existing, first run", "--skip-existing re-run (all skipped)")


def run_benchmarks(*args: str, tmp: Path) -> list[str]:
    """Run benchmarks/run.py with its temp files under `tmp`; the report's row lines."""
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "benchmarks" / "run.py"), *args],
        capture_output=True,
        text=True,
        env=dict(xai_subprocess_env(), TMPDIR=str(tmp)),
        timeout=100,  # under the suite's per-test timeout, so that this clearer failure comes first
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.splitlines()[2:]  # after the title and the column header


def rows_named(lines: list[str], part: str) -> list[str]:
    """The rows whose name contains `part` (at least one)."""
    matches = [line for line in lines if part in line.split("  ")[0]]
    assert matches, (part, "\n".join(lines))
    return matches


@pytest.mark.slow  # a whole benchmark run in subprocesses: among the longest tests of the suite
def test_quick_benchmark_run_produces_every_row(tmp_path: Path) -> None:
    lines = run_benchmarks("--quick", tmp=tmp_path)
    for expected in (
        "xai --help",
        "upload",
        "download",
        "batch-upload",
        "files ls",
        "chat",
        "chat -c",
        "peak RSS",
    ):
        rows_named(lines, expected)


@pytest.mark.slow
def test_quick_scale_run_produces_every_row_and_cleans_up(tmp_path: Path) -> None:
    lines = run_benchmarks("--scale", "--quick", tmp=tmp_path)
    for name in SCALE_TARGET_ROWS:  # the speed target of a listing applies at the largest size only
        rows = rows_named(lines, name)
        assert any(row.endswith(("PASS", "MISS")) for row in rows), rows
    for name in SCALE_INFO_ROWS:
        rows_named(lines, name)
    for name in SKIP_EXISTING_ROWS:  # light up when the flag lands; until then they say why not
        rows = rows_named(lines, name)
        assert rows[0].endswith(("PASS", "MISS", "n/a (flag not implemented)")), rows
    assert list(tmp_path.iterdir()) == [], "the benchmark left files behind"


HARNESS_WITH_A_SERVER = """
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from harness import Server
server = Server(Path(sys.argv[2]))
print(server.proc.pid, flush=True)
sys.stdin.read()
"""


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL], ids=lambda s: s.name)
def test_the_benchmark_server_ends_with_the_harness(tmp_path: Path, signum: signal.Signals) -> None:
    """A harness stopped by a signal (a timed-out smoke test kills it) leaves no `xai serve` behind."""
    harness = subprocess.Popen(
        python_command("-c", HARNESS_WITH_A_SERVER, str(REPO_ROOT / "benchmarks"), str(tmp_path / "data")),
        env=xai_subprocess_env(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert harness.stdout is not None
    server_pid = int(harness.stdout.readline())
    try:
        harness.send_signal(signum)
        harness.wait(timeout=20)
        assert exits_within(server_pid, timeout=20), f"xai serve outlived the harness: {_state(server_pid)}"
    finally:
        if not exits_within(server_pid, timeout=0):
            os.kill(server_pid, signal.SIGKILL)
        harness.kill()
        harness.wait()


def _state(pid: int) -> str:
    """The State line of a process, for a failure message."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return "gone"
    return next((line for line in lines if line.startswith("State:")), "no state")


def test_server_cpu_measures_the_grpc_floor_too(tmp_path: Path) -> None:
    """benchmarks/server_cpu.py --floor also runs bare gRPC servers (sync, and grpc.aio) taking the same
    uploads, and reports how much more CPU per upload `xai serve` spends than each."""
    script = str(REPO_ROOT / "benchmarks" / "server_cpu.py")
    result = subprocess.run(
        [sys.executable, script, "--count", "20", "--rounds", "1", "--floor", "--work", str(tmp_path)],
        capture_output=True,
        text=True,
        env=xai_subprocess_env(),
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert [line.split(":")[0] for line in lines if line.startswith("median")] == [
        "median this      ",
        "median grpc floor",
        "median aio floor ",
    ]
    assert any(line.startswith("above the grpc floor: this ") for line in lines), lines
    assert any(line.startswith("above the aio floor: this ") for line in lines), lines
    assert list(tmp_path.iterdir()) == []  # the data dirs are removed at the end
