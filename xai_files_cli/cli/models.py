"""Command: `xai models`, the language models this key can use (a table on a terminal, JSON when piped)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from xai_files_cli.cli.options import json_flag

if TYPE_CHECKING:
    from xai_files_cli.cli.context import AppContext


def register(app: typer.Typer) -> None:
    """Attach this module's commands to the root app."""
    app.command("models")(models)


def models(
    ctx: typer.Context,
    json_output: Annotated[bool, json_flag("Print a JSON array (the default when piped).")] = False,
) -> None:
    """List language models: name, aliases, context length and price per million tokens."""
    app_ctx: AppContext = ctx.obj
    io = app_ctx.io
    found = app_ctx.models().list()
    from xai_files_cli.output import machine

    if json_output or not io.stdout_is_tty:
        machine.write_json(io, [model.to_json() for model in found])
        return
    if not found:
        io.write_out("No models.\n")
        return
    from xai_files_cli.output.files import print_table
    from xai_files_cli.output.models import models_table

    print_table(io, models_table(found, width=io.out_console().width))
