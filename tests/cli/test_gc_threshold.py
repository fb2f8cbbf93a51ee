"""The entry point collects garbage in larger batches (a listing allocates about a million objects),
without turning the collector off."""

from __future__ import annotations

from tests.support.constants import TEST_KEY
from tests.support.processes import run_python, xai_subprocess_env
from xai_files_cli.emulator.server import RunningServer

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
    assert _first_threshold_printed(MAIN_PROBE) >= 10_000


# The `xai` console script runs `from xai_files_cli.cli.app import main; main()`: prints the threshold
# at the moment Typer is first imported.
SCRIPT_PROBE = (
    "import gc, sys; "
    "sys.addaudithook(lambda event, args: event == 'import' and args[0] == 'typer' "
    "and print('threshold', gc.get_threshold()[0], file=sys.stderr)); "
    "sys.argv = ['xai', '--version']; from xai_files_cli.cli.app import main; main()"
)


def test_the_console_script_raises_it_before_importing_typer() -> None:
    assert _first_threshold_printed(SCRIPT_PROBE) >= 10_000


def _first_threshold_printed(probe: str) -> int:
    """The young-generation threshold `probe` (an `xai --version` run) printed first on stderr."""
    result = run_python("-c", probe, timeout=30)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith("xai ")
    thresholds = [int(line.split()[1]) for line in result.stderr.splitlines() if line.startswith("threshold")]
    assert thresholds, result.stderr[-2000:]
    return thresholds[0]


# Runs `python -m xai_files_cli ARGS` and prints how many collections of each generation it made
# (the CLI leaves through os._exit, so the count is printed there).
COUNTING_PROBE = (
    "import gc, os, runpy, sys; done = []; "
    "gc.callbacks.append(lambda phase, info: phase == 'stop' and done.append(info['generation'])); "
    "leave = os._exit; "
    "os._exit = lambda code: (print('collections', len(done), file=sys.stderr), leave(code)); "
    "sys.argv = ['xai', *sys.argv[1:]]; runpy.run_module('xai_files_cli', run_name='__main__')"
)


def test_a_short_command_never_collects(server: RunningServer) -> None:
    """Start-up leaves tens of thousands of objects alive (modules, classes, functions); a collection
    scans them all (about 4 ms each), so the threshold is above what a short command allocates."""
    env = xai_subprocess_env({"XAI_API_HOST": server.target, "XAI_API_KEY": TEST_KEY})
    result = run_python("-c", COUNTING_PROBE, "files", "ls", "--limit", "1", "--json", env=env, timeout=30)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]"
    counts = [int(line.split()[1]) for line in result.stderr.splitlines() if line.startswith("collections")]
    assert counts == [0]
