"""Help that teaches: every command's --help ends with two to four examples, and each example runs
as written against the local server (ids, a conversation id and the API host filled in), through
bash when it uses the shell (pipes, redirections, $(...)), in this process otherwise."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import typer

from tests.support.cli import CliResult, run_xai
from tests.support.constants import TEST_KEY
from tests.support.emulator import seed
from tests.support.processes import xai_subprocess_env
from tests.support.samples import NOTES, make_pdf
from xai_files_cli.cli.app import app
from xai_files_cli.cli.examples import EXAMPLES, Example
from xai_files_cli.emulator.server import RunningServer

_SHELL_SYNTAX = re.compile(r"[|<>;&$`~]|^\w+=")
REPORT = make_pdf(["Quarterly report", "The main risk is the vendor's March deadline."])


def commands() -> dict[str, object]:
    """Every runnable command of the app by path (`files ls`), and the app itself as ""."""
    found: dict[str, object] = {}

    def walk(command: object, path: tuple[str, ...]) -> None:
        found[" ".join(path)] = command
        for name, sub in (getattr(command, "commands", None) or {}).items():
            walk(sub, (*path, name))

    walk(typer.main.get_command(app), ())
    return {path: cmd for path, cmd in found.items() if path == "" or not getattr(cmd, "commands", None)}


COMMANDS = commands()


@pytest.mark.parametrize("path", sorted(COMMANDS))
def test_every_command_ends_its_help_with_two_to_four_examples(
    path: str, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_xai(*path.split(), "--help")
    assert result.code == 0, result
    help_text = capsys.readouterr().out  # click writes help to the process's stdout
    assert "\n  Examples:\n" in help_text, f"`xai {path}` has no examples in cli/examples.py"
    shown = [
        line.strip()[2:] for line in help_text.split("\n  Examples:\n", 1)[1].splitlines() if "$ " in line
    ]
    assert 2 <= len(shown) <= 4, shown
    assert shown == [example.command for example in EXAMPLES[path]]
    assert all(re.search(r"(^|[ (])xai ", command) for command in shown)


# -- running them ---------------------------------------------------------------------------------
@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory with the files the examples name, and a private HOME."""
    work = tmp_path / "work"
    (work / "docs" / "2026").mkdir(parents=True)
    (work / "report.pdf").write_bytes(REPORT)
    (work / "scan.pdf").write_bytes(REPORT)
    (work / "notes.txt").write_text(NOTES)
    (work / "key.txt").write_text(TEST_KEY + "\n")
    (work / "docs" / "plan.pdf").write_bytes(REPORT)
    (work / "docs" / "2026" / "q1.pdf").write_bytes(REPORT)
    (work / "docs" / "readme.md").write_text("# docs\n")
    home = tmp_path / "home"
    (home / ".local" / "share" / "bash-completion" / "completions").mkdir(parents=True)
    (home / ".zfunc").mkdir()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "xai"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m xai_files_cli "$@"\n')
    shim.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("SHELL", "/bin/bash")
    for name in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "BASH_COMPLETION_USER_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(work)
    return work


def _set_up_profiles(target: str) -> None:
    """Profiles the examples name: `work` and `old-profile`, each with the key and this server."""
    for profile in ("work", "old-profile"):
        assert run_xai("config", "set", "-p", profile, "api_host", target).code == 0
        stored = run_xai("auth", "login", "-p", profile, "--no-verify", stdin=TEST_KEY.encode())
        assert stored.code == 0, stored


def _conversation_id() -> str:
    """Log one chat and return its conversation's id."""
    asked = run_xai("chat", "-f", "notes.txt", "What is the main risk?")
    assert asked.code == 0, asked
    listed = run_xai("conversations", "ls", "--json")
    assert listed.code == 0, listed
    import json

    return str(json.loads(listed.stdout)[0]["id"])


def _filled(command: str, server: RunningServer, ids: list[str], conversation: str | None) -> str:
    """The example with its placeholders replaced by what exists in this test."""
    replaced = command.replace("file_abc123", ids[0]).replace("file_def456", ids[1])
    replaced = replaced.replace("api.x.ai:443", server.target).replace("localhost:50051", server.target)
    replaced = replaced.replace("test-key", TEST_KEY)
    if conversation is not None:
        replaced = replaced.replace("3f2a", conversation[:8])
    return replaced


def _run_shell(command: str) -> CliResult:
    missing = [tool for tool in ("jq", "du", "head") if f"| {tool}" in command or f"{tool} " == command[:3]]
    for tool in missing:
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")
    result = subprocess.run(
        ["bash", "-c", f"set -eo pipefail; {command}"],
        capture_output=True,
        env=xai_subprocess_env(),
        timeout=60,
    )
    return CliResult(result.returncode, result.stdout, result.stderr.decode(errors="replace"))


def _run_server(command: str) -> CliResult:
    """A `serve` example: it starts, says where it listens, and stops cleanly on SIGTERM."""
    if "--port" not in command:
        command = command.replace("xai serve", "xai serve --port 0")
    argv = ["bash", "-c", f"exec env {command}"]  # env: SIGTERM reaches xai, VAR=value still works
    with subprocess.Popen(argv, stderr=subprocess.PIPE, text=True, env=xai_subprocess_env()) as proc:
        assert proc.stderr is not None
        first = proc.stderr.readline()
        proc.send_signal(signal.SIGTERM)
        _, rest = proc.communicate(timeout=30)
    assert "listening on" in first, first + rest
    return CliResult(proc.returncode, b"", first + rest)


def _run(command: str) -> CliResult:
    if command.startswith("xai serve") or (" xai serve" in command and "&&" not in command):
        return _run_server(command)
    if _SHELL_SYNTAX.search(command):
        return _run_shell(command)
    return run_xai(*shlex.split(command)[1:])


RUNNABLE = sorted(path for path in EXAMPLES if path in COMMANDS)


@pytest.mark.parametrize("path", RUNNABLE)
def test_each_example_runs_against_the_local_server(
    path: str, xai: Callable[..., CliResult], server: RunningServer, workspace: Path
) -> None:
    if path.startswith(("auth", "config")):
        _set_up_profiles(server.target)
    conversation = _conversation_id() if path.startswith("conversations") else None
    for example in EXAMPLES[path]:
        ids = [seed(server, "report.pdf", REPORT), seed(server, "notes.txt", NOTES.encode())]
        command = _filled(example.command, server, ids, conversation)
        result = _run(command)
        assert result.code == 0, f"{example.command!r} -> {command!r}: {result}"
        assert "Traceback" not in result.stderr, result.stderr
        _check_side_effect(example, workspace)


def _check_side_effect(example: Example, workspace: Path) -> None:
    """Examples that promise a file deliver it."""
    for name in ("report.pdf", "copy.pdf", "results.jsonl"):
        if f"> {name}" in example.command or f"-o {name}" in example.command:
            assert (workspace / name).stat().st_size > 0, example
    if "completions/xai" in example.command:
        assert (Path(os.environ["HOME"]) / ".local/share/bash-completion/completions/xai").read_text()
