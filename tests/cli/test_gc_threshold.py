"""The entry point collects garbage in larger batches (a listing allocates about a million objects),
without turning the collector off."""

from __future__ import annotations

from tests.support.processes import run_python

PROBE = (
    "import gc, sys; from xai_files_cli.cli import app; "
    "app.run = lambda argv, io: print(*gc.get_threshold(), gc.isenabled()) or 0; app.main()"
)


def test_the_entry_point_raises_the_young_generation_threshold() -> None:
    result = run_python("-c", PROBE, timeout=30)
    assert result.returncode == 0, result.stderr[-2000:]
    young, middle, old, enabled = result.stdout.split()
    assert int(young) >= 10_000 and (int(middle), int(old)) == (10, 10)
    assert enabled == "True"
