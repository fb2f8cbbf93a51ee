"""Drawing the language models this key can use: a table on a terminal (programs get JSON)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from xai_files_cli.output.files import Column, fitted_table
from xai_files_cli.output.sanitize import escape_terminal

if TYPE_CHECKING:
    from xai_files_cli.core.model_catalog import ModelInfo

# MODEL is never cut (it is what `--model` takes); ALIASES gives way with an ellipsis and is the first
# to go, then CONTEXT, OUT and IN.
MODEL_COLUMNS = (
    Column("MODEL"),
    Column("ALIASES", shrinks=True, min_width=10, drop_rank=0),
    Column("CONTEXT", justify="right", drop_rank=1),
    Column("IN $/1M", justify="right", drop_rank=3),
    Column("OUT $/1M", justify="right", drop_rank=2),
)


def _model_rows(models: Sequence[ModelInfo]) -> list[tuple[str, ...]]:
    return [
        (
            escape_terminal(model.name),
            escape_terminal(", ".join(model.aliases)) or "-",
            f"{model.max_prompt_length:,}" if model.max_prompt_length else "-",
            f"{model.prompt_usd_per_million:g}",
            f"{model.completion_usd_per_million:g}",
        )
        for model in models
    ]


def models_table(models: Sequence[ModelInfo], *, width: int | None = None) -> Any:
    """A rich Table of language models with prices in USD per million tokens, fitted to `width` cells
    when given."""
    return fitted_table(MODEL_COLUMNS, _model_rows(models), width)
