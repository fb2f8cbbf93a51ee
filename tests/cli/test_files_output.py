"""output.files, output.machine and output.progress: formats, escaping, progress choice."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta, timezone

import pytest

from xai_files_cli.core.records import FileInfo
from xai_files_cli.core.transfer import NullProgress
from xai_files_cli.output import files as render
from xai_files_cli.output.io import IOStreams
from xai_files_cli.output.machine import to_json_text
from xai_files_cli.output.progress import LineProgress, RichProgress, make_progress

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "0 B"),
        (999, "999 B"),
        (1000, "1.0 kB"),
        (1500, "1.5 kB"),
        (12_345_678, "12 MB"),
        (512 * 10**6, "512 MB"),
    ],
)
def test_human_size(size: int, text: str) -> None:
    assert render.human_size(size) == text


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(seconds=-10), "just now"),
        (timedelta(minutes=-5), "5 minutes ago"),
        (timedelta(hours=-3), "3 hours ago"),
        (timedelta(days=2), "in 2 days"),
        (timedelta(hours=1), "in 1 hour"),
        (timedelta(days=-400), "1 year ago"),
    ],
)
def test_relative_time(delta: timedelta, text: str) -> None:
    assert render.relative_time(NOW + delta, NOW) == text


def test_json_keeps_unicode_but_escapes_terminal_controls() -> None:
    text = to_json_text({"name": "café \u202e\x9b\x1b"}, indent=None)
    assert text == '{"name": "café \\u202e\\u009b\\u001b"}'
    assert json.loads(text) == {"name": "café \u202e\x9b\x1b"}


def test_file_json_shape() -> None:
    info = FileInfo(id="file_1", filename="a", size=1, created_at=NOW, expires_at=NOW + timedelta(hours=1))
    assert info.to_json() == {
        "id": "file_1",
        "filename": "a",
        "size": 1,
        "created_at": "2026-01-02T03:04:05Z",
        "expires_at": "2026-01-02T04:04:05Z",
    }
    shared = FileInfo(id="f", filename="a", size=1, created_at=NOW, public_url="https://x/y")
    assert shared.to_json()["public_url"] == "https://x/y"
    assert shared.to_json()["public_url_expires_at"] is None


FILE_ID = "file_0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"


def test_table_gives_way_on_the_name_not_the_id() -> None:
    streams = IOStreams.for_test(stdout_tty=True, width=80)
    info = FileInfo(
        id=FILE_ID,
        filename="a-rather-long-file-name-for-a-report.pdf",
        size=2048,
        created_at=datetime.now(timezone.utc),
    )
    render.print_files_table(streams, [info])
    header, row = streams.stdout_text().splitlines()
    assert header.split() == ["ID", "NAME", "SIZE", "CREATED", "EXPIRES"]
    # 80 cells - id 41 - size 6 - "just now" 8 - "EXPIRES" 7 - 4 gaps of 2 = 10 cells for the name.
    assert row.rstrip() == f"{FILE_ID}  a-rather-…  2.0 kB  just now  never"
    assert len(row) <= 80


def test_table_on_a_very_narrow_terminal_keeps_the_id_whole() -> None:
    """Narrower than an id: the less important columns are left out, the id is printed whole."""
    streams = IOStreams.for_test(stdout_tty=True, width=30)
    info = FileInfo(id=FILE_ID, filename="a.pdf", size=2048, created_at=NOW)
    render.print_files_table(streams, [info])
    assert streams.stdout_text().splitlines()[1].split() == [FILE_ID, "a.pdf"]


def test_table_escapes_markup_and_controls() -> None:
    streams = IOStreams.for_test(stdout_tty=True)
    info = FileInfo(id="file_1", filename="[bold]x[/bold]\x1b[31m", size=1, created_at=NOW)
    render.print_files_table(streams, [info])
    assert "[bold]x[/bold]\\x1b[31m" in streams.stdout_text()


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_line_progress_is_silent_for_short_transfers() -> None:
    stream, clock = io.StringIO(), FakeClock()
    progress = LineProgress(stream, interval=5, clock=clock, verb="upload")
    progress.start(100, "a.bin")
    clock.now = 1
    progress.advance(100)
    progress.finish()
    assert stream.getvalue() == ""


def test_line_progress_prints_plain_lines_every_interval() -> None:
    stream, clock = io.StringIO(), FakeClock()
    progress = LineProgress(stream, interval=5, clock=clock, verb="upload")
    progress.start(10_000_000, "big\x1b.bin")
    for second in range(1, 12):
        clock.now = second
        progress.advance(1_000_000 if second <= 10 else 0)
    progress.finish()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3  # at 5 s, at 10 s, and the final one
    assert lines[0].endswith(" xai: upload big\\x1b.bin: 5.0 MB of 10 MB (50%), 1.0 MB/s")
    assert lines[2].endswith(" xai: upload big\\x1b.bin: 10 MB of 10 MB (100%), 909 kB/s")
    assert "\x1b" not in stream.getvalue()


def test_progress_choice_follows_quiet_and_stderr() -> None:
    assert isinstance(make_progress(IOStreams.for_test(stderr_tty=True), quiet=True), NullProgress)
    assert isinstance(make_progress(IOStreams.for_test(stderr_tty=True), quiet=False), RichProgress)
    assert isinstance(make_progress(IOStreams.for_test(stderr_tty=False), quiet=False), LineProgress)


def test_rich_progress_is_transient() -> None:
    streams = IOStreams.for_test(stderr_tty=True)
    progress = RichProgress(streams.err_console())
    progress.start(10, "a.bin")
    progress.advance(5)
    progress.reset()
    progress.advance(10)
    progress.finish()
    assert streams.stdout_text() == ""
    assert "a.bin" in streams.stderr_text()
