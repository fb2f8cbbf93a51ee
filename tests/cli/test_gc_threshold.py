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


# Prints the threshold at the moment `python -m xai_files_cli` starts importing the command tree.
MAIN_PROBE = (
    "import gc, runpy, sys; "
    "sys.addaudithook(lambda event, args: event == 'import' and args[0] == 'xai_files_cli.cli.app' "
    "and print('threshold', gc.get_threshold()[0], file=sys.stderr)); "
    "sys.argv = ['xai', '--version']; runpy.run_module('xai_files_cli', run_name='__main__')"
)


def test_python_m_raises_it_before_importing_the_command_tree() -> None:
    result = run_python("-c", MAIN_PROBE, timeout=30)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith("xai ")
    thresholds = [int(line.split()[1]) for line in result.stderr.splitlines() if line.startswith("threshold")]
    assert thresholds and thresholds[0] >= 10_000
