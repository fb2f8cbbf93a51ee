"""How file results look on a terminal: the `ls` table, `get` blocks, one-line results.

Sizes and times are humanised and every server string passes through `escape_terminal`. For
programs, commands write `FileInfo.to_json()` through `output.machine`. All writes go through
IOStreams and let BrokenPipeError propagate (the root command exits 0 on it).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xai_files_cli.core.records import FileInfo, Moment, PublicUrl, RawTime, UploadResult
from xai_files_cli.output.sanitize import escape_terminal
from xai_files_cli.record import Record

if TYPE_CHECKING:
    from xai_files_cli.output.io import IOStreams

_UNITS = ("kB", "MB", "GB", "TB")


# -- formatting helpers ---------------------------------------------------------------------------
def human_size(size: int) -> str:
    """Decimal units, as the service's 512 MB limit: `0 B`, `999 B`, `1.5 kB`, `12 MB`."""
    if size < 1000:
        return f"{size} B"
    value = float(size)
    for unit in _UNITS:
        value /= 1000
        if value < 999.95 or unit == _UNITS[-1]:
            return f"{value:.1f} {unit}" if value < 10 else f"{value:.0f} {unit}"
    raise AssertionError("unreachable")  # pragma: no cover


def relative_time(moment: Moment, now: datetime | None = None) -> str:
    """`just now`, `5 minutes ago`, `in 2 days`; a time out of the date range raw (`@SECONDS`)."""
    if isinstance(moment, RawTime):
        return str(moment)
    now = now or datetime.now(timezone.utc)
    seconds = (moment - now).total_seconds()
    future = seconds > 0
    span = abs(seconds)
    if span < 45:
        return "just now" if not future else "in a few seconds"
    for limit, size, unit in (
        (45 * 60, 60, "minute"),
        (22 * 3600, 3600, "hour"),
        (45 * 86400, 86400, "day"),  # a 30-day TTL reads "in 30 days"
        (320 * 86400, 30 * 86400, "month"),
        (float("inf"), 365 * 86400, "year"),
    ):
        if span < limit:
            count = max(1, round(span / size))
            label = f"{count:,} {unit}{'s' if count != 1 else ''}"
            return f"in {label}" if future else f"{label} ago"
    raise AssertionError("unreachable")  # pragma: no cover


def local_time(moment: Moment) -> str:
    """`2026-01-02 03:04:05` in the local time zone (in UTC where that zone would leave years 1-9999);
    a time out of the date range raw (`@SECONDS`)."""
    if isinstance(moment, RawTime):
        return str(moment)
    try:
        return _clock(moment.astimezone())
    except (OverflowError, ValueError, OSError):
        return _clock(moment.astimezone(timezone.utc)) + " UTC"


def _clock(moment: datetime) -> str:
    return f"{moment.year:04d}-{moment:%m-%d %H:%M:%S}"


def _when(moment: Moment) -> str:
    """A time for a details block: `2026-01-02 03:04:05 (in 2 days)`, or raw with what it is."""
    if isinstance(moment, RawTime):
        return f"{moment} (seconds since 1970; outside the dates this client can show)"
    return f"{local_time(moment)} ({relative_time(moment)})"


# -- fitting a table to the terminal --------------------------------------------------------------
GAP = 2  # cells between two columns
SHRINK_FLOOR = 3  # cells the shrinking column keeps on a terminal too narrow for its minimum


class Column(Record):
    """One column of a terminal table and how it gives way on a narrow terminal.

    At most one column `shrinks`: it is cut with an ellipsis, down to `min_width` cells. Columns with
    a `drop_rank` are left out, lowest rank first, while the table is still too wide; the others
    (ids, names of models) always keep their full width, so they are never broken.
    """

    header: str
    justify: str = "left"
    shrinks: bool = False
    min_width: int = 0
    drop_rank: int | None = None


def natural_widths(columns: Sequence[Column], rows: Sequence[Sequence[str]]) -> list[int]:
    """Each column's width in terminal cells without cutting anything (a CJK character takes two)."""
    from rich.cells import cell_len

    return [max([cell_len(col.header)] + [cell_len(row[i]) for row in rows]) for i, col in enumerate(columns)]


def fit_columns(columns: Sequence[Column], natural: Sequence[int], width: int | None) -> list[int | None]:
    """The width each column gets in `width` cells, None for a column left out.

    Less important columns are dropped while the table does not fit with the shrinking column at its
    minimum; then the shrinking column takes what is left (below its minimum only when nothing else
    can give way, down to a few cells). When even that is too wide (a terminal narrower than an id),
    the table is wider than the terminal: the terminal wraps the row, but no id is cut.
    """
    if width is None:
        return list(natural)
    kept = list(range(len(columns)))

    def floor(i: int) -> int:
        return min(natural[i], columns[i].min_width) if columns[i].shrinks else natural[i]

    def needed(indexes: list[int]) -> int:
        return sum(floor(i) for i in indexes) + GAP * (len(indexes) - 1)

    ranked = [i for i in kept if columns[i].drop_rank is not None]
    droppable = sorted(ranked, key=lambda i: columns[i].drop_rank or 0)
    for index in droppable:
        if needed(kept) <= width:
            break
        kept.remove(index)
    widths: list[int | None] = [natural[i] if i in kept else None for i in range(len(columns))]
    for i in kept:
        if columns[i].shrinks:  # its minimum gives way too once nothing else can: `ab…` still tells
            room = width - (needed(kept) - floor(i))
            widths[i] = min(natural[i], room) if room >= SHRINK_FLOOR else floor(i)
    return widths


def fitted_table(columns: Sequence[Column], rows: Sequence[Sequence[str]], width: int | None) -> Any:
    """A rich Table of `rows` (plain strings, already escaped) fitted to `width` cells by `fit_columns`."""
    from rich.table import Table
    from rich.text import Text

    widths = fit_columns(columns, natural_widths(columns, rows), width)
    shown = [i for i, w in enumerate(widths) if w is not None]
    table = Table(box=None, pad_edge=False, show_edge=False, header_style="bold")
    for i in shown:
        table.add_column(
            columns[i].header,
            no_wrap=True,
            overflow="ellipsis",
            width=widths[i],
            justify=columns[i].justify,  # type: ignore[arg-type]
        )
    for row in rows:
        table.add_row(*(Text(row[i]) for i in shown))
    return table


def table_width(table: Any) -> int:
    """The cells a table made by `fitted_table` takes: its columns and the gaps between them."""
    widths = [column.width or 0 for column in table.columns]
    return sum(widths) + GAP * (len(widths) - 1)


def print_table(io: IOStreams, table: Any) -> None:
    """Print a fitted table on stdout; one still wider than the terminal is printed whole (not cropped)."""
    console = io.out_console()
    needed = table_width(table)
    if needed <= console.width:
        console.print(table)
        return
    saved = console.width
    console.width = needed
    try:
        console.print(table, crop=False)
    finally:
        console.width = saved


# -- terminal output ------------------------------------------------------------------------------
_NAME_MIN = 8  # NAME shrinks, down to this many cells, before any column is dropped
FILE_COLUMNS = (
    Column("ID"),
    Column("NAME", shrinks=True, min_width=_NAME_MIN),
    Column("SIZE", justify="right", drop_rank=2),
    Column("CREATED", drop_rank=1),
    Column("EXPIRES", drop_rank=0),
)
_HEADERS = tuple(column.header for column in FILE_COLUMNS)


def size_with_bytes(size: int) -> str:
    """`4.2 MB (4,194,304 bytes)`; a size already shown in bytes (`3 B`) is not repeated."""
    human = human_size(size)
    return human if human == f"{size} B" else f"{human} ({size:,} bytes)"


def file_rows(files: Sequence[FileInfo], now: datetime | None = None) -> list[tuple[str, ...]]:
    """The cells of `FILE_COLUMNS` for each file, escaped and humanised."""
    return [
        (
            escape_terminal(info.id),
            escape_terminal(info.filename),
            human_size(info.size),
            relative_time(info.created_at, now),
            relative_time(info.expires_at, now) if info.expires_at else "never",
        )
        for info in files
    ]


def files_table(files: Sequence[FileInfo], *, width: int | None = None, now: datetime | None = None) -> Any:
    """A rich Table of files: full ids, escaped names, human sizes, relative times.

    Fitted to `width` cells when given: ids stay whole (to be copied), NAME is cut with an ellipsis
    down to a few cells, then EXPIRES, CREATED and SIZE are left out, in that order.
    """
    return fitted_table(FILE_COLUMNS, file_rows(files, now), width)


def files_table_min_width(files: Sequence[FileInfo], *, now: datetime | None = None) -> int:
    """The narrowest width at which `files_table` shows every column (ids and times whole)."""
    widths = natural_widths(FILE_COLUMNS, file_rows(files, now))
    name = _HEADERS.index("NAME")
    fixed = sum(w for i, w in enumerate(widths) if i != name)
    return fixed + min(widths[name], _NAME_MIN) + GAP * (len(_HEADERS) - 1)


def print_files_table(io: IOStreams, files: Sequence[FileInfo]) -> None:
    """The `ls` table on a terminal stdout, fitted to its width, or a friendly line when there is nothing."""
    if not files:
        io.write_out("No files.\n")
        return
    print_table(io, files_table(files, width=io.out_console().width))


_UNBROKEN_DETAILS = frozenset({"id", "public url"})  # tokens to copy: the terminal may wrap them, we never do


def file_details(info: FileInfo) -> list[tuple[str, str]]:
    """Key/value rows of one file for a terminal, server strings escaped."""
    expires = _when(info.expires_at) if info.expires_at is not None else "never"
    rows = [
        ("id", escape_terminal(info.id)),
        ("filename", escape_terminal(info.filename)),
        ("size", size_with_bytes(info.size)),
        ("created", _when(info.created_at)),
        ("expires", expires),
    ]
    if info.public_url is not None:
        url_expiry = info.public_url_expires_at
        rows.append(("public url", escape_terminal(info.public_url)))
        rows.append(("url expires", local_time(url_expiry) if url_expiry else "never"))
    return rows


def details_block(rows: Sequence[tuple[str, str]], width: int | None = None) -> str:
    """`key  value` lines; with a `width`, a long value wraps at spaces under its own column.

    Ids and URLs are never broken (a terminal that wraps them still lets them be copied whole).
    """
    key_width = max(len(key) for key, _ in rows)
    indent = key_width + GAP
    lines = []
    for key, value in rows:
        pieces = [value]
        if width is not None and key not in _UNBROKEN_DETAILS:
            pieces = wrap_cells(value, max(width - indent, 10))
        lines.append(f"{key:<{key_width}}  {pieces[0]}")
        lines.extend(" " * indent + piece for piece in pieces[1:])
    return "".join(line + "\n" for line in lines)


def wrap_cells(text: str, width: int) -> list[str]:
    """`text` in lines of at most `width` terminal cells, broken at spaces (a longer word is folded)."""
    from rich.cells import cell_len

    if cell_len(text) <= width:
        return [text]
    from rich.console import Console
    from rich.text import Text

    lines = Text(text).wrap(Console(width=width), width, overflow="fold")
    return [line.plain.rstrip() for line in lines] or [""]


def print_file_details(io: IOStreams, files: Sequence[FileInfo]) -> None:
    """`get` on a terminal: a key/value block per file, blank line between files, fitted to the width."""
    width = io.out_console().width
    io.write_out("\n".join(details_block(file_details(info), width) for info in files))


def uploaded_line(info: FileInfo, source: str | None = None) -> str:
    """`Uploaded report.pdf (1.2 MB) as file_abc` for a terminal (escaped)."""
    what = escape_terminal(info.filename)
    # Name the source only when the stored name differs from it (`--name`, or stdin).
    shown_source = source and Path(source).name != info.filename
    origin = f" from {escape_terminal(source)}" if source and shown_source else ""
    expiry = f", expires {relative_time(info.expires_at)}" if info.expires_at else ""
    return f"Uploaded {what}{origin} ({human_size(info.size)}) as {escape_terminal(info.id)}{expiry}"


_PATH_MIN = 12  # cells a path keeps in a fitted batch line


def batch_result_line(result: UploadResult, *, width: int | None = None) -> str:
    """One terminal line per batch item: ok with its id, or the error.

    Fitted to `width` cells when given: the path is shortened from the left (`…dir/name.pdf`, the
    name is what people recognise), the size goes next; the id is never cut. An error's message
    wraps at spaces on indented lines.
    """
    from rich.cells import cell_len

    path = escape_terminal(str(result.item.path))
    if result.file is not None:
        file_id, size = escape_terminal(result.file.id), f" ({human_size(result.file.size)})"
        line = f"✓ {path} → {file_id}{size}"
        if width is None or cell_len(line) <= width:
            return line
        for tail in (size, ""):
            room = width - cell_len(f"✓  → {file_id}{tail}")
            if room >= min(_PATH_MIN, cell_len(path)):
                return f"✓ {shorten_left(path, room)} → {file_id}{tail}"
        return f"✓ {shorten_left(path, _PATH_MIN)} → {file_id}"
    assert result.error is not None
    status = f" ({result.error.status})" if result.error.status else ""
    message = f"{escape_terminal(result.error.message)}{status}"
    if width is None or cell_len(f"✗ {path}: {message}") <= width:
        return f"✗ {path}: {message}"
    head = f"✗ {shorten_left(path, max(_PATH_MIN, width // 2 - 4))}:"
    return head + "\n" + "\n".join("  " + piece for piece in wrap_cells(message, max(width - 2, 10)))


def shorten_left(text: str, width: int) -> str:
    """`text` cut from the left to `width` cells with a leading `…` (kept whole when it fits)."""
    from rich.cells import cell_len

    if cell_len(text) <= width:
        return text
    kept = text
    while kept and cell_len(kept) > max(width - 1, 0):
        kept = kept[1:]
    return "…" + kept


def share_line(url: PublicUrl) -> str:
    """The public URL alone (what a script wants), escaped."""
    return escape_terminal(url.url)
