"""The private Typer names this CLI needs, imported in this one module.

Typer vendors click as `typer._click` and has no public names for these: the Command that
`typer.main.get_command` returns, the click exceptions `run` turns into exit codes
(ClickException, NoArgsIsHelpError), ParameterSource (to tell a flag
given on the command line from a value Typer read from the environment), ParamType and FloatRange
(the base of the duration and seconds parameter types), and the shell-completion classes whose
scripts we replace, with click's own steps from a command line to the parameter being completed.
A Typer release that moves any of them breaks this module and nothing else.
"""

from __future__ import annotations

from typer._click.core import Command, ParameterSource
from typer._click.exceptions import ClickException, NoArgsIsHelpError
from typer._click.shell_completion import (
    CompletionItem,
    _resolve_context,
    _resolve_incomplete,
    add_completion_class,
)
from typer._click.types import FloatRange, ParamType
from typer._completion_classes import BashComplete, FishComplete, ZshComplete, completion_init

__all__ = [
    "BashComplete",
    "ClickException",
    "Command",
    "CompletionItem",
    "FishComplete",
    "FloatRange",
    "NoArgsIsHelpError",
    "ParamType",
    "ParameterSource",
    "ZshComplete",
    "_resolve_context",
    "_resolve_incomplete",
    "add_completion_class",
    "completion_init",
]
