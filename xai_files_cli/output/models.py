"""Drawing the language models this key can use: a table on a terminal (programs get JSON)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from xai_files_cli.output.sanitize import escape_terminal

if TYPE_CHECKING:
    from xai_files_cli.core.model_catalog import ModelInfo


def models_table(models: Sequence[ModelInfo]) -> Any:
    """A rich Table of language models with prices in USD per million tokens."""
    from rich.table import Table
    from rich.text import Text

    table = Table(box=None, pad_edge=False, show_edge=False, header_style="bold")
    table.add_column("MODEL", no_wrap=True)
    table.add_column("ALIASES", overflow="fold")
    table.add_column("CONTEXT", justify="right", no_wrap=True)
    table.add_column("IN $/1M", justify="right", no_wrap=True)
    table.add_column("OUT $/1M", justify="right", no_wrap=True)
    for model in models:
        table.add_row(
            Text(escape_terminal(model.name)),
            Text(escape_terminal(", ".join(model.aliases)) or "-"),
            f"{model.max_prompt_length:,}" if model.max_prompt_length else "-",
            f"{model.prompt_usd_per_million:g}",
            f"{model.completion_usd_per_million:g}",
        )
    return table
