"""Help stays fast: asking for help loads neither gRPC, protobuf nor rich.

grpc, protobuf and rich are the heaviest imports the CLI has (tens of milliseconds each, far more
on a loaded machine); commands import them when they run, never at module level of the command
tree. Each case runs the real entry point in a fresh interpreter under `-X importtime`, which lists
every module the process imported, in any thread, up to its exit.
"""

from __future__ import annotations

import pytest

from tests.support.processes import run_python

HEAVY = ("grpc", "google.protobuf", "rich", "xai_files_cli._pb")


def _imported_modules(*args: str) -> set[str]:
    """Every module `xai ARGS` imports, read from `python -X importtime` (one per stderr line)."""
    result = run_python("-X", "importtime", "-m", "xai_files_cli", *args, timeout=30)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith("Usage: xai"), result.stdout[:200]
    return {
        line.rsplit("|", 1)[1].strip()
        for line in result.stderr.splitlines()
        if line.startswith("import time:") and line.count("|") == 2
    }


@pytest.mark.parametrize("args", [("--help",), ("files", "upload", "--help"), ("chat", "--help")])
def test_help_loads_neither_grpc_nor_rich(args: tuple[str, ...]) -> None:
    modules = _imported_modules(*args)
    assert "xai_files_cli.cli.app" in modules  # the listing is real: the CLI itself shows up in it
    loaded = sorted(m for m in modules if any(m == heavy or m.startswith(f"{heavy}.") for heavy in HEAVY))
    assert loaded == [], f"xai {' '.join(args)} imported {loaded}"
