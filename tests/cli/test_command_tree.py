"""Start-up builds only the part of the command tree an invocation runs, and behaves the same."""

from __future__ import annotations

import pytest

from tests.support.cli import run_xai
from xai_files_cli.cli.app import _subcommand_named, click_command


@pytest.mark.parametrize(
    ("argv", "built"),
    [
        (["files", "ls"], "files"),
        (["-q", "--timeout", "3", "files", "upload", "x"], "files"),
        (["--timeout=3", "--local", "chat", "hi"], "chat"),
        (["--help", "files"], None),  # root help lists every command
        (["--version"], None),
        (["filez"], None),  # an unknown command gets click's suggestions from the whole tree
        (["--no-such-option", "files"], None),
        ([], None),
    ],
)
def test_the_command_an_invocation_names_is_built_alone(argv: list[str], built: str | None) -> None:
    assert _subcommand_named(argv)[0] == built


def test_a_partial_tree_holds_the_named_command_with_the_root_options() -> None:
    whole, files_only = click_command(), click_command("files")
    assert list(files_only.commands) == ["files"]  # type: ignore[attr-defined]
    assert [p.name for p in files_only.params] == [p.name for p in whole.params]


def test_help_and_errors_are_the_same_either_way(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_xai("--help").code == 0
    root_help = capsys.readouterr().out
    assert "files" in root_help and "chat" in root_help and "models" in root_help
    assert run_xai("files", "--help").code == 0
    assert "batch-upload" in capsys.readouterr().out
    unknown = run_xai("files", "lss")
    assert unknown.code == 2 and "lss" in unknown.stderr
