"""benchmarks/run.py keeps working: a --quick run (small data, one repetition) completes.

It asserts that every benchmark row is produced, never how fast anything was: performance targets
are read from a full `python benchmarks/run.py`, not from timed unit tests.
"""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO_ROOT, xai_subprocess_env


def test_quick_benchmark_run_produces_every_row() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "benchmarks" / "run.py"), "--quick"],
        capture_output=True,
        text=True,
        env=xai_subprocess_env(),
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    names = [line.split("  ")[0] for line in result.stdout.splitlines()[1:]]
    for expected in ("xai --help", "upload", "download", "batch-upload", "files ls", "chat", "peak RSS"):
        assert any(expected in name for name in names), (expected, result.stdout)
