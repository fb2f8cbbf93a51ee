"""benchmarks/run.py keeps working: --quick runs (small data, one repetition) of each section complete.

They assert that every benchmark row is produced, never how fast anything was: performance targets
are read from a full `python benchmarks/run.py [--scale]`, not from timed unit tests.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.constants import REPO_ROOT
from tests.support.processes import xai_subprocess_env

pytestmark = pytest.mark.slow  # whole benchmark runs in subprocesses: the longest tests of the suite

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
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.splitlines()[2:]  # after the title and the column header


def rows_named(lines: list[str], part: str) -> list[str]:
    """The rows whose name contains `part` (at least one)."""
    matches = [line for line in lines if part in line.split("  ")[0]]
    assert matches, (part, "\n".join(lines))
    return matches


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
