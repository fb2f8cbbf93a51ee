"""Completion that finds old files: what was typed is sent to the server as a ListFiles filter (an id
or name prefix), so a file older than the newest hundred completes too, in a real bash under tmux;
`chat --file` completes local paths as well as ids."""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.support.constants import REPO_ROOT, TEST_KEY
from tests.support.emulator import seed
from tests.support.processes import xai_subprocess_env
from tests.support.tmux import require_tmux, tmux_terminal
from xai_files_cli.cli import complete_ids
from xai_files_cli.emulator.filters import compile_filter
from xai_files_cli.emulator.server import RunningServer

NEWER_FILES = 120  # more than the newest hundred that completion used to look at


def root_ctx(**params: object) -> SimpleNamespace:
    """What Typer hands a completer: a context whose root holds the global options parsed so far."""
    root = SimpleNamespace(params={"api_host": None, "profile": None, "local": False, **params})
    return SimpleNamespace(find_root=lambda: root)


@pytest.fixture
def old_file(xai: object, server: RunningServer) -> tuple[str, str]:
    """A file named `quarterly-2019.pdf` followed by NEWER_FILES newer ones: (its id, its name)."""
    old = seed(server, "quarterly-2019.pdf")
    for index in range(NEWER_FILES):
        seed(server, f"note-{index:03d}.txt")
    return old, "quarterly-2019.pdf"


def test_an_old_file_completes_from_its_id_prefix(old_file: tuple[str, str]) -> None:
    file_id, name = old_file
    assert complete_ids.complete_file_id(root_ctx(), file_id[:13]) == [(file_id, name)]
    assert complete_ids.complete_file_id(root_ctx(), file_id) == [(file_id, name)]


def test_an_old_file_completes_from_its_name(old_file: tuple[str, str], server: RunningServer) -> None:
    file_id, name = old_file
    assert complete_ids.complete_file_id(root_ctx(), "quart") == [(file_id, name)]
    notes = complete_ids.complete_file_id(root_ctx(), "note-00")
    assert [help_text for _, help_text in notes] == [
        f"note-{i:03d}.txt" for i in range(9, -1, -1)
    ]  # newest first
    assert len(complete_ids.complete_file_id(root_ctx(), "")) == 100  # nothing typed: the newest


def test_a_server_that_refuses_the_filter_still_gets_the_newest_files(emulators) -> None:
    running = emulators.start("ListFiles:fail:code=INVALID_ARGUMENT,times=1")
    file_id = seed(running, "report.pdf")
    assert complete_ids.complete_file_id(root_ctx(), "rep") == [(file_id, "report.pdf")]
    assert running.faults.calls("ListFiles") == 2


@pytest.mark.parametrize(
    "prefix", ['a"b', "back\\slash", "z\U0010ffff", "ab\ud7ff", "日本", "Zebra", "x" * 50, " lead"]
)
def test_the_prefix_filter_matches_exactly_the_names_that_start_with_it(
    prefix: str, server: RunningServer
) -> None:
    """The range filter is valid for the server's grammar and selects by prefix, whatever was typed."""
    compile_filter(complete_ids.prefix_filter(prefix), now_ns=0)  # parses: quotes and escapes are right
    inside = seed(server, prefix + "tail.txt")
    seed(server, "other.txt")
    got = complete_ids._matching_files(_client(server), prefix)
    assert [info.id for info in got] == [inside]


def _client(server: RunningServer):  # type: ignore[no-untyped-def]
    from xai_files_cli.core.channel import connect
    from xai_files_cli.core.files import FilesClient

    return FilesClient(connect(server.target, TEST_KEY), timeout=5)


def test_chat_file_completes_local_paths_and_ids(xai: object, server: RunningServer, tmp_path: Path) -> None:
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "q3.pdf").write_bytes(b"x")
    (tmp_path / "readme.md").write_bytes(b"x")
    (tmp_path / "has space.txt").write_bytes(b"x")
    (tmp_path / ".hidden").write_bytes(b"x")
    file_id = seed(server, "remote-notes.txt")
    os.chdir(tmp_path)
    got = complete_ids.complete_file_or_path(root_ctx(), "re")
    assert got == [("readme.md", "local file"), ("reports/", "directory"), (file_id, "remote-notes.txt")]
    assert complete_ids.complete_file_or_path(root_ctx(), "reports/") == [("reports/q3.pdf", "local file")]
    assert complete_ids.complete_file_or_path(root_ctx(), "./rea") == [("./readme.md", "local file")]
    assert complete_ids.complete_file_or_path(root_ctx(), "has") == []  # a shell would split it
    assert complete_ids.complete_file_or_path(root_ctx(), ".hid") == [(".hidden", "local file")]
    assert complete_ids.complete_file_or_path(root_ctx(), file_id[:12]) == [(file_id, "remote-notes.txt")]


def test_bash_in_a_terminal_completes_a_file_older_than_the_newest_hundred(
    old_file: tuple[str, str], server: RunningServer, tmp_path: Path
) -> None:
    """Type `xai files get <id prefix><TAB>` in an interactive bash (tmux) and read the line back."""
    require_tmux()
    file_id, _ = old_file
    shim = tmp_path / "bin" / "xai"
    shim.parent.mkdir()
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m xai_files_cli "$@"\n')
    shim.chmod(0o755)
    env = xai_subprocess_env({"XAI_API_HOST": server.target, "XAI_API_KEY": TEST_KEY, "PS1": "$ "})
    env["PATH"] = f"{shim.parent}{os.pathsep}{env['PATH']}"
    script = REPO_ROOT / "completions" / "xai.bash"
    with tmux_terminal(120) as terminal:
        session = terminal.start(["bash", "--norc", "--noprofile", "-i"], env)
        session.keys(f"source {shlex.quote(str(script))}", "Enter")
        session.keys(f"xai files get {file_id[:13]}", "Tab")
        session.keys("quart", "Tab")  # a second argument, by name: completes to the same id
        session.keys("C-a", "echo RESULT: ", "C-e", f"; {session.signal_command('done')}", "Enter")
        session.wait("done")
        screen = session.screen()
    result = next(line for line in screen if line.startswith("RESULT: "))
    assert result.split() == ["RESULT:", "xai", "files", "get", file_id, file_id], screen


def test_chat_file_option_uses_the_path_and_id_completer() -> None:
    import typer

    from xai_files_cli.cli.app import app

    chat = typer.main.get_command(app).commands["chat"]  # type: ignore[attr-defined]
    option = next(p for p in chat.params if "--file" in getattr(p, "opts", ()))
    custom = option._custom_shell_complete
    wrapped = [getattr(c.cell_contents, "__wrapped__", c.cell_contents) for c in custom.__closure__ or ()]
    assert complete_ids.complete_file_or_path in wrapped
