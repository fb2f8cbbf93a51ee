"""Start-up builds only the group command an invocation runs (`files ls` without the other `files`
commands), and the command behaves and documents itself the same."""

from __future__ import annotations

import pytest

from tests.support.cli import run_xai
from xai_files_cli.cli.app import COMMAND_MODULES, _registered, _subcommand_named, click_command, whole_app
from xai_files_cli.cli.context import AppContext
from xai_files_cli.output.io import IOStreams


@pytest.mark.parametrize(
    ("argv", "built"),
    [
        (["files", "ls", "--all"], ("files", "ls")),
        (["-q", "--timeout", "3", "files", "upload", "x"], ("files", "upload")),
        (["auth", "status"], ("auth", "status")),
        (["files"], ("files", None)),
        (["files", "--help"], ("files", None)),  # the group's help lists every command
        (["files", "lss"], ("files", None)),  # an unknown name gets suggestions from the whole group
        (["chat", "hi"], ("chat", None)),  # a command, not a group
        (["--help", "files", "ls"], (None, None)),
    ],
)
def test_the_group_command_an_invocation_names_is_built_alone(
    argv: list[str], built: tuple[str | None, str | None]
) -> None:
    assert _subcommand_named(argv) == built


def test_a_pruned_group_holds_the_named_command_with_its_options() -> None:
    whole = click_command("files")
    pruned = click_command("files", "ls")
    whole_group = whole.commands["files"]  # type: ignore[attr-defined]
    pruned_group = pruned.commands["files"]  # type: ignore[attr-defined]
    assert list(pruned_group.commands) == ["ls"]
    assert [p.name for p in pruned_group.commands["ls"].params] == [
        p.name for p in whole_group.commands["ls"].params
    ]
    assert len(whole_group.commands) > 5  # building the group alone still holds every command


def test_a_group_commands_help_is_the_same_pruned(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_xai("files", "ls", "--help").code == 0
    pruned_help = capsys.readouterr().out
    whole = click_command()
    context = AppContext(io=IOStreams.for_test(b""))
    whole.main(args=["files", "ls", "--help"], prog_name="xai", standalone_mode=False, obj=context)
    assert capsys.readouterr().out == pruned_help
    assert "--all" in pruned_help


def test_each_command_module_registers_the_command_it_is_listed_for() -> None:
    for name in COMMAND_MODULES:
        groups, commands = _registered(name)
        names = [g.name for g in groups] + [c.name for c in commands]
        assert names == [name]


def test_the_whole_tree_holds_every_command() -> None:
    root = click_command()
    assert sorted(root.commands) == sorted(COMMAND_MODULES)  # type: ignore[attr-defined]
    assert whole_app() is whole_app()  # registered once: examples are attached once
