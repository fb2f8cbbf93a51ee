"""Listings on a terminal that may be long: the `ls` table written in chunks as files arrive.

A listing that fits one screen is the ordinary fitted table (`output.files`). A longer one is never
built whole: the first screenful fixes the column widths (fitted to the terminal by
`output.files.fit_columns`; NAME gets all the room left), then rows are written a chunk at a
time, through the user's pager when there is one (`output.pager`). Only NAME is ever cut (with an
ellipsis); a later id, size or time wider than its column is written whole rather than cut.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from xai_files_cli.core.records import FileInfo
from xai_files_cli.output import files as file_views
from xai_files_cli.output.pager import Pager

if TYPE_CHECKING:
    from xai_files_cli.output.io import IOStreams

CHUNK_ROWS = 200
# The widest usual value of a column, so rows further down (older files, larger sizes) still fit.
_STEADY_WIDTHS = {"SIZE": 6, "CREATED": 14, "EXPIRES": 14}
_RESERVED_LINES = 3  # the header, the footer and the shell prompt after them


def print_files_stream(
    io: IOStreams,
    files: Iterable[FileInfo],
    *,
    pager: list[str] | None = None,
    footer: Callable[[int], str | None] = lambda count: None,
    empty: str = "No files.",
) -> int:
    """Write the files as a table on the terminal stdout; returns how many were shown.

    `pager` is the pager's argv (used only when the table is longer than a screen); `footer(count)`
    gives the line written after the rows (None for none). Files are read from `files` as the table
    is written, so an error raised by it leaves the rows before it on the screen.
    """
    console = io.out_console()
    iterator = iter(files)
    screen = max(1, console.height - _RESERVED_LINES)
    first = list(itertools.islice(iterator, screen))
    if len(first) < screen:
        if first:
            file_views.print_table(io, file_views.files_table(first, width=console.width))
        else:
            io.write_out(empty + "\n")
        _write_footer(io.write_out, footer(len(first)))
        return len(first)
    paging = Pager.start(pager) if pager else None
    write = paging.stream.write if paging is not None else io.write_out
    shown = 0
    try:
        widths = _steady_widths(first, console.width)
        write(_header_line(widths, bold=io.color))
        chunk: list[FileInfo] = first
        while chunk:
            write(_rows_text(chunk, widths))
            shown += len(chunk)
            chunk = list(itertools.islice(iterator, CHUNK_ROWS))
        _write_footer(write, footer(shown))
    except BrokenPipeError:
        if paging is None:
            raise
        # The user left the pager before the end: nothing more to show.
    finally:
        if paging is not None:
            paging.close()
    return shown


def _write_footer(write: Callable[[str], object], text: str | None) -> None:
    if text:
        write(text + "\n")


def _steady_widths(files: Sequence[FileInfo], width: int) -> list[int | None]:
    """Column widths for the whole listing, from its first rows and the usual widest values; NAME
    takes all the room the others leave, since a longer name may come further down."""
    columns = file_views.FILE_COLUMNS
    natural = file_views.natural_widths(columns, file_views.file_rows(files))
    natural = [
        width if c.shrinks else max(w, _STEADY_WIDTHS.get(c.header, 0))
        for c, w in zip(columns, natural, strict=True)
    ]
    return file_views.fit_columns(columns, natural, width)


def _header_line(widths: Sequence[int | None], *, bold: bool) -> str:
    headers = tuple(column.header for column in file_views.FILE_COLUMNS)
    line = _line(headers, widths)
    return f"\x1b[1m{line}\x1b[0m\n" if bold else line + "\n"


def _rows_text(files: Sequence[FileInfo], widths: Sequence[int | None]) -> str:
    now = datetime.now(timezone.utc)
    return "".join(_line(row, widths) + "\n" for row in file_views.file_rows(files, now))


def _line(cells: Sequence[str], widths: Sequence[int | None]) -> str:
    """One table line as rich draws it: cells padded to their width, two spaces apart."""
    from rich.cells import cell_len, set_cell_size

    parts = []
    for column, cell, width in zip(file_views.FILE_COLUMNS, cells, widths, strict=True):
        if width is None:
            continue
        size = cell_len(cell)
        if size > width and column.shrinks:
            cell, size = set_cell_size(cell, width - 1) + "…", width
        pad = " " * max(0, width - size)
        parts.append(pad + cell if column.justify == "right" else cell + pad)
    return (" " * file_views.GAP).join(parts)
