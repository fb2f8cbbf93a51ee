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


# -- terminal output ------------------------------------------------------------------------------
_HEADERS = ("ID", "NAME", "SIZE", "CREATED", "EXPIRES")
_NAME_MIN = 8  # NAME is the only column that shrinks, down to this many cells


def _file_rows(files: Sequence[FileInfo], now: datetime | None) -> list[tuple[str, ...]]:
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


def _column_widths(rows: list[tuple[str, ...]]) -> list[int]:
    """Each column's width in terminal cells (a CJK character takes two)."""
    from rich.cells import cell_len

    return [max([len(header)] + [cell_len(row[i]) for row in rows]) for i, header in enumerate(_HEADERS)]


def files_table(files: Sequence[FileInfo], *, width: int | None = None, now: datetime | None = None) -> Any:
    """A rich Table of files: full ids, escaped names, human sizes, relative times.

    Every column but NAME keeps its full width (ids must stay whole to be copied); NAME takes
    what is left and is cut with an ellipsis on a narrow terminal.
    """
    from rich.table import Table
    from rich.text import Text

    rows = _file_rows(files, now)
    widths = _column_widths(rows)
    name = _HEADERS.index("NAME")
    if width is not None:  # rich would shrink every column; only NAME may give way
        room = width - sum(w for i, w in enumerate(widths) if i != name) - 2 * (len(_HEADERS) - 1)
        widths[name] = max(min(widths[name], room), min(widths[name], _NAME_MIN))
    table = Table(box=None, pad_edge=False, show_edge=False, header_style="bold")
    for header, column_width in zip(_HEADERS, widths, strict=True):
        table.add_column(
            header,
            no_wrap=True,
            overflow="ellipsis",
            width=column_width,
            justify="right" if header == "SIZE" else "left",
        )
    for row in rows:
        table.add_row(*(Text(cell) for cell in row))
    return table


def files_table_min_width(files: Sequence[FileInfo], *, now: datetime | None = None) -> int:
    """The narrowest width at which `files_table` shows every column (ids and times whole)."""
    widths = _column_widths(_file_rows(files, now))
    name = _HEADERS.index("NAME")
    fixed = sum(w for i, w in enumerate(widths) if i != name)
    return fixed + min(widths[name], _NAME_MIN) + 2 * (len(_HEADERS) - 1)


def print_files_table(io: IOStreams, files: Sequence[FileInfo]) -> None:
    """The `ls` table on a terminal stdout, or a friendly line when there is nothing."""
    if not files:
        io.write_out("No files.\n")
        return
    console = io.out_console()
    needed = files_table_min_width(files)
    if needed <= console.width:
        console.print(files_table(files, width=console.width))
        return
    # Too narrow even for the ids: render wider and let the terminal wrap rather than lose data.
    saved = console.width
    console.width = needed
    try:
        console.print(files_table(files, width=needed), crop=False)
    finally:
        console.width = saved


def file_details(info: FileInfo) -> list[tuple[str, str]]:
    """Key/value rows of one file for a terminal, server strings escaped."""
    expires = _when(info.expires_at) if info.expires_at is not None else "never"
    rows = [
        ("id", escape_terminal(info.id)),
        ("filename", escape_terminal(info.filename)),
        ("size", f"{human_size(info.size)} ({info.size:,} bytes)"),
        ("created", _when(info.created_at)),
        ("expires", expires),
    ]
    if info.public_url is not None:
        url_expiry = info.public_url_expires_at
        rows.append(("public url", escape_terminal(info.public_url)))
        rows.append(("url expires", local_time(url_expiry) if url_expiry else "never"))
    return rows


def print_file_details(io: IOStreams, files: Sequence[FileInfo]) -> None:
    """`get` on a terminal: a key/value block per file, blank line between files."""
    blocks = []
    for info in files:
        rows = file_details(info)
        width = max(len(key) for key, _ in rows)
        blocks.append("".join(f"{key:<{width}}  {value}\n" for key, value in rows))
    io.write_out("\n".join(blocks))


def uploaded_line(info: FileInfo, source: str | None = None) -> str:
    """`Uploaded report.pdf (1.2 MB) as file_abc` for a terminal (escaped)."""
    what = escape_terminal(info.filename)
    # Name the source only when the stored name differs from it (`--name`, or stdin).
    shown_source = source and Path(source).name != info.filename
    origin = f" from {escape_terminal(source)}" if source and shown_source else ""
    expiry = f", expires {relative_time(info.expires_at)}" if info.expires_at else ""
    return f"Uploaded {what}{origin} ({human_size(info.size)}) as {escape_terminal(info.id)}{expiry}"


def batch_result_line(result: UploadResult) -> str:
    """One terminal line per batch item: ok with its id, or the error."""
    path = escape_terminal(str(result.item.path))
    if result.file is not None:
        return f"✓ {path} → {escape_terminal(result.file.id)} ({human_size(result.file.size)})"
    assert result.error is not None
    status = f" ({result.error.status})" if result.error.status else ""
    return f"✗ {path}: {escape_terminal(result.error.message)}{status}"


def share_line(url: PublicUrl) -> str:
    """The public URL alone (what a script wants), escaped."""
    return escape_terminal(url.url)
