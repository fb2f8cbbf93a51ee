"""Terminal lines of upload runs: skipped files, the `--dry-run` plan table and its total.

Server strings and paths pass through `escape_terminal`; programs get JSON from `output.machine`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from xai_files_cli.core.records import FileInfo, UploadResult
from xai_files_cli.core.upload_plan import SKIP, PlanEntry
from xai_files_cli.output.files import human_size
from xai_files_cli.output.sanitize import escape_terminal

if TYPE_CHECKING:
    from xai_files_cli.output.io import IOStreams

_PLAN_HEADERS = ("ACTION", "NAME", "SIZE", "REASON")


def skipped_line(info: FileInfo, reason: str) -> str:
    """`Skipped report.pdf (1.2 KB): unchanged: uploaded as file_abc` for `upload` on a terminal."""
    return f"Skipped {escape_terminal(info.filename)} ({human_size(info.size)}): {escape_terminal(reason)}"


def batch_skipped_line(result: UploadResult) -> str:
    """One terminal line per skipped batch item, beside the ✓/✗ lines of uploaded and failed ones."""
    assert result.file is not None
    path, file_id = escape_terminal(str(result.item.path)), escape_terminal(result.file.id)
    return f"= {path} → {file_id} ({human_size(result.file.size)}, unchanged: skipped)"


def plan_total(plan: Sequence[PlanEntry]) -> str:
    """`3 files (12 KB) to upload, 2 skipped (8 KB)`: the one-line total of a plan."""
    uploads = [entry for entry in plan if entry.action != SKIP]
    skips = [entry for entry in plan if entry.action == SKIP]
    up_bytes = sum(entry.size or 0 for entry in uploads)
    skip_bytes = sum(entry.size or 0 for entry in skips)
    noun = "file" if len(uploads) == 1 else "files"
    sent = f"{len(uploads)} {noun} ({human_size(up_bytes)}) to upload"
    return f"{sent}, {len(skips)} skipped ({human_size(skip_bytes)})"


def print_plan(io: IOStreams, plan: Sequence[PlanEntry]) -> None:
    """The `--dry-run` plan on a terminal: a table, then the total line."""
    from rich.table import Table
    from rich.text import Text

    if plan:
        table = Table(box=None, pad_edge=False, show_edge=False, header_style="bold")
        for header in _PLAN_HEADERS:
            table.add_column(
                header,
                no_wrap=header in ("ACTION", "SIZE"),
                overflow="fold",
                justify="right" if header == "SIZE" else "left",
            )
        for entry in plan:
            size = human_size(entry.size) if entry.size is not None else "?"
            cells = (entry.action, entry.item.filename, size, entry.reason)
            table.add_row(*(Text(escape_terminal(cell)) for cell in cells))
        io.out_console().print(table)
    io.write_out(plan_total(plan) + "\n")
