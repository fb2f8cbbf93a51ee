"""Narrow terminals: in a real terminal (tmux) of 60 and 80 columns, the `ls`, `get`, `models` and
batch-upload output fits the width: no row wraps, ids and model names stay whole, the file name
gives way with an ellipsis and less important columns are left out first. FORCE_COLOR=0 there
means no colour, as NO_COLOR does."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

import pytest

from tests.support.constants import TEST_KEY
from tests.support.emulator import seed
from tests.support.processes import xai_subprocess_env
from tests.support.tmux import tmux_terminal, xai_in_terminal
from xai_files_cli.core.records import FileInfo, UploadItem, UploadResult
from xai_files_cli.emulator.server import RunningServer
from xai_files_cli.errors import RejectedError
from xai_files_cli.output import files as render

LONG_NAMES = (
    "quarterly report for the board of directors 2026 final.pdf",
    "notes.txt",
    "a very long file name that goes on and on and on.md",
)
_ID = re.compile(r"file_[0-9a-f-]{36}")
_SGR = re.compile(r"\x1b\[[0-9;]*m")


def _env(server: RunningServer, **extra: str) -> dict[str, str]:
    return xai_subprocess_env({"XAI_API_HOST": server.target, "XAI_API_KEY": TEST_KEY, **extra})


def _assert_fits(lines: list[str], width: int) -> None:
    assert lines, "nothing on the screen"
    for line in lines:
        assert len(line.rstrip()) <= width, lines


@pytest.mark.parametrize(("width", "headers"), [(60, ["ID", "NAME", "SIZE"]), (80, list(render._HEADERS))])
def test_ls_fits_the_terminal(server: RunningServer, width: int, headers: list[str]) -> None:
    ids = [seed(server, name) for name in LONG_NAMES]
    with tmux_terminal(width) as terminal:
        lines = xai_in_terminal(terminal, _env(server), "files", "ls")
    _assert_fits(lines, width)
    assert lines[0].split() == headers, lines
    assert len(lines) == 1 + len(ids), lines  # one screen line per row: nothing wrapped
    assert sorted(_ID.findall("\n".join(lines))) == sorted(ids)  # every id whole
    assert any("…" in line for line in lines[1:])  # the long names gave way


@pytest.mark.parametrize("width", [60, 80])
def test_get_wraps_a_long_name_under_its_column(server: RunningServer, width: int) -> None:
    filename = f"{LONG_NAMES[0]} {LONG_NAMES[2]}"
    file_id = seed(server, filename)
    with tmux_terminal(width) as terminal:
        lines = xai_in_terminal(terminal, _env(server), "files", "get", file_id)
    _assert_fits(lines, width)
    assert lines[0] == f"id        {file_id}"  # the id whole, on one line
    keys = ("id ", "filename ", "size ", "created ", "expires ")
    assert all(line.startswith(keys) or line.startswith(" " * 10) for line in lines), lines
    start = next(i for i, line in enumerate(lines) if line.startswith("filename "))
    parts = [lines[start].removeprefix("filename").strip()]
    parts += [line.strip() for line in lines[start + 1 :] if line.startswith(" ")]
    assert len(parts) > 1 and " ".join(parts) == filename, lines  # wrapped between words only


@pytest.mark.parametrize(
    ("width", "headers"), [(60, ["MODEL", "CONTEXT", "IN $/1M", "OUT $/1M"]), (80, None)]
)
def test_models_fit_the_terminal(emulators, width: int, headers: list[str] | None) -> None:
    running = emulators.start()
    with tmux_terminal(width) as terminal:
        lines = xai_in_terminal(terminal, _env(running), "models")
    _assert_fits(lines, width)
    if headers is not None:
        assert [h for h in re.split(r"\s{2,}", lines[0].strip())] == headers, lines
    else:
        assert lines[0].split()[:2] == ["MODEL", "ALIASES"], lines
    assert all(len(line.split()) >= 3 for line in lines), lines  # no row spilled onto a second line


@pytest.mark.parametrize("width", [60, 80])
def test_batch_upload_lines_fit_the_terminal(server: RunningServer, tmp_path: Path, width: int) -> None:
    folder = tmp_path / "reports" / "2026" / "board meetings"
    folder.mkdir(parents=True)
    for name in LONG_NAMES:
        (folder / name).write_bytes(b"x" * 1500)
    env = _env(server)
    with tmux_terminal(width) as terminal:
        lines = terminal.run(_xai_in(tmp_path, "files", "batch-upload", "reports"), env)
    _assert_fits(lines, width)
    done = [line for line in lines if line.startswith("✓ ")]
    assert len(done) == len(LONG_NAMES), lines
    assert all(_ID.search(line) for line in done), lines  # each id whole on its own row
    assert any("…" in line for line in done), lines  # long paths gave way, from the left


def _xai_in(directory: Path, *args: str) -> list[str]:
    from tests.support.processes import xai_command

    return ["sh", "-c", 'cd "$0" && exec "$@"', str(directory), *xai_command(*args)]


def test_force_color_zero_means_no_colour_in_a_real_terminal(server: RunningServer) -> None:
    seed(server, "a.txt")
    env = _env(server)
    env.pop("NO_COLOR", None)
    with tmux_terminal(100) as terminal:
        coloured = xai_in_terminal(terminal, env, "files", "ls", escapes=True)
        plain = xai_in_terminal(terminal, {**env, "FORCE_COLOR": "0"}, "files", "ls", escapes=True)
    assert _SGR.search(coloured[0]), coloured  # the check can see styling: a bold header by default
    assert not any(_SGR.search(line) for line in plain), plain
    assert plain[0].split() == list(render._HEADERS)


# -- the fitting rules, without a terminal ---------------------------------------------------------
NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
FILE_ID = "file_0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"


ALL_COLUMNS = ["ID", "NAME", "SIZE", "CREATED", "EXPIRES"]


@pytest.mark.parametrize(
    ("width", "headers", "name"),
    [
        (200, ALL_COLUMNS, "a-rather-long-file-name-for-a-report.pdf"),
        (80, ALL_COLUMNS, "a-rather-…"),  # 41 id + 6 size + 8 created + 7 expires + 8 gaps: 10 left
        (70, ALL_COLUMNS[:4], "a-rather…"),  # the name would get < 8 cells: EXPIRES goes first
        (60, ALL_COLUMNS[:3], "a-rather…"),  # then CREATED
        (52, ALL_COLUMNS[:2], "a-rather…"),  # then SIZE
        (48, ALL_COLUMNS[:2], "a-ra…"),  # and then the name goes below its minimum
    ],
)
def test_columns_drop_in_order_and_the_name_gives_way(width: int, headers: list[str], name: str) -> None:
    streams = render_streams(width)
    filename = "a-rather-long-file-name-for-a-report.pdf"
    info = FileInfo(id=FILE_ID, filename=filename, size=2048, created_at=datetime.now(timezone.utc))
    render.print_files_table(streams, [info])
    header, row = streams.stdout_text().splitlines()
    assert header.split() == headers
    assert row.split()[:2] == [FILE_ID, name]
    assert len(row.rstrip()) <= width


def test_a_terminal_narrower_than_an_id_gets_the_id_whole() -> None:
    streams = render_streams(30)
    render.print_files_table(streams, [FileInfo(id=FILE_ID, filename="a.pdf", size=2048, created_at=NOW)])
    assert streams.stdout_text().splitlines()[1].split() == [FILE_ID, "a.pdf"]


def render_streams(width: int):  # type: ignore[no-untyped-def]
    from xai_files_cli.output.io import IOStreams

    return IOStreams.for_test(stdout_tty=True, width=width)


def test_a_batch_line_shortens_the_path_from_the_left_and_keeps_the_id() -> None:
    info = FileInfo(id=FILE_ID, filename="q.pdf", size=1500, created_at=NOW)
    item = UploadItem(path=Path("reports/2026/board meetings/quarterly report.pdf"))
    ok = UploadResult(item=item, file=info)
    assert render.batch_result_line(ok) == f"✓ {item.path} → {FILE_ID} (1.5 kB)"
    assert render.batch_result_line(ok, width=200) == render.batch_result_line(ok)
    line = render.batch_result_line(ok, width=80)  # the path gives way, from the left
    assert line == f"✓ …ngs/quarterly report.pdf → {FILE_ID} (1.5 kB)" and len(line) == 80
    line = render.batch_result_line(ok, width=60)  # then the size goes
    assert line == f"✓ …ly report.pdf → {FILE_ID}" and len(line) == 60
    failed = UploadResult(item=item, error=RejectedError("upload quarterly report.pdf: name refused " * 3))
    lines = render.batch_result_line(failed, width=60).splitlines()
    assert lines[0].startswith("✗ …") and all(len(line) <= 60 for line in lines)
    assert all(line.startswith("  ") for line in lines[1:])
    assert " ".join(line.strip() for line in lines[1:]) == failed.error.message.strip()  # type: ignore[union-attr]
