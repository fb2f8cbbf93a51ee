"""What a short command pays at start-up besides its imports.

Typer reads the signature of the root callback, of the command being run and of its option
callbacks on every run (the root's up to four times). An annotation kept as text (`from __future__
import annotations`) is `eval`ed and compiled each time it is read, about a millisecond per
signature, so the modules that declare these signatures evaluate their annotations when defined.
"""

from __future__ import annotations

import typing
from collections.abc import Callable
from typing import Any

import pytest

from xai_files_cli.cli import app, files, options


def _files_commands() -> list[Callable[..., Any]]:
    return [command.callback for command in files.files_app.registered_commands if command.callback]


def _annotation_texts(function: Callable[..., Any]) -> list[str]:
    return [name for name, value in function.__annotations__.items() if isinstance(value, str)]


@pytest.mark.parametrize(
    "function",
    [app.root, app._version_callback, options._errors_as_json, *_files_commands()],
    ids=lambda function: function.__name__,
)
def test_signatures_typer_reads_on_every_run_are_evaluated_already(function: Callable[..., Any]) -> None:
    assert _annotation_texts(function) == []
    typing.get_type_hints(function, include_extras=True)  # and they are the real types


def test_every_files_command_is_checked() -> None:
    names = {command.name for command in files.files_app.registered_commands}
    assert {"upload", "batch-upload", "ls", "get", "cat", "rm"} <= names
    assert len(_files_commands()) == len(names)
