"""`xai files ls` streams: newest first with a footer on a terminal, a JSON array written as pages
arrive (valid when complete, left open when the server fails part-way: exit 6), `| head` exits 0,
and a long table goes through the user's pager only on a real terminal."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.cli import run_xai
from tests.support.constants import PYTHON, REPO_ROOT, TEST_KEY
from tests.support.emulator import seed, seed_many
from tests.support.listing_proxy import ListingProxy
from tests.support.processes import xai_command, xai_subprocess_env
from tests.support.tmux import TmuxSession
from xai_files_cli.emulator.server import RunningServer
from xai_files_cli.output.io import IOStreams
from xai_files_cli.output.machine import to_json_text, write_json_array, write_jsonl
from xai_files_cli.output.pager import DEFAULT_PAGER, pager_command

FOOTER = "showing the newest 100; --all for every file"


@pytest.fixture
def many(server: RunningServer) -> list[str]:
    """250 files, ids oldest first (by creation time, then id, as the server orders them)."""
    records = [server.storage.get(i) for i in seed_many(server, (f"file-{i:03}.txt" for i in range(250)))]
    return [r.id for r in sorted(records, key=lambda r: (r.created_at_ns, r.id))]


def _env(target: str, **extra: str) -> dict[str, str]:
    return xai_subprocess_env({"XAI_API_HOST": target, "XAI_API_KEY": TEST_KEY, **extra})


# -- terminal: newest first, footer -------------------------------------------------------------------
def test_tty_table_is_newest_first_with_a_footer_when_more_exist(xai, many) -> None:
    result = xai("files", "ls", stdout_tty=True)
    assert (result.code, result.stderr) == (0, "")
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["ID", "NAME", "SIZE", "CREATED", "EXPIRES"]
    rows = [line.split()[0] for line in lines[1:-1]]
    assert rows == many[::-1][:100]
    assert lines[-1] == FOOTER


@pytest.mark.parametrize(
    ("args", "footer"),
    [
        (["--asc", "--limit", "20"], "showing the oldest 20; --all for every file"),
        (["--sort", "size", "--limit", "30"], "showing the largest 30; --all for every file"),
        (
            ["--sort", "filename", "--desc", "--limit", "5"],
            "showing the last 5 by name; --all for every file",
        ),
    ],
)
def test_footer_says_which_files_were_shown(xai, many, args: list[str], footer: str) -> None:
    result = xai("files", "ls", *args, stdout_tty=True)
    assert (result.code, result.stderr, result.stdout.splitlines()[-1]) == (0, "", footer)


@pytest.mark.parametrize("args", [["--all"], ["--limit", "250"], ["--limit", "300"]])
def test_no_footer_when_every_file_is_shown(xai, many, args: list[str]) -> None:
    result = xai("files", "ls", *args, stdout_tty=True)
    lines = result.stdout.splitlines()
    assert (result.code, len(lines), lines[-1].split()[0]) == (0, 251, many[0])


def test_no_footer_when_the_last_page_is_exactly_full(xai, server) -> None:
    seed_many(server, (f"f{i}" for i in range(100)))
    result = xai("files", "ls", stdout_tty=True)
    assert (result.code, len(result.stdout.splitlines())) == (0, 101)


def test_footer_in_a_real_terminal_without_a_pager(server: RunningServer, many) -> None:
    session = TmuxSession.start(
        xai_command("files", "ls", "--limit", "12"), _env(server.target, PAGER="cat"), height=40
    )
    try:
        code, screen = session.wait_exit()
    finally:
        session.close()
    assert code == 0
    assert screen[0].split()[:2] == ["ID", "NAME"]
    assert [line.split()[0] for line in screen[1:13]] == many[::-1][:12]
    assert screen[13] == "showing the newest 12; --all for every file"


def test_a_long_table_goes_through_the_pager_in_a_real_terminal(server: RunningServer, many) -> None:
    env = _env(server.target)
    env.pop("PAGER", None)
    env.pop("XAI_PAGER", None)
    env["LESS"] = "FRX"
    session = TmuxSession.start(xai_command("files", "ls"), env, height=20)
    try:
        screen = session.wait_for_screen(lambda lines: lines[-1].startswith(":"), "less's prompt")
        assert screen[0].split()[:2] == ["ID", "NAME"]
        assert screen[1].split()[0] == many[-1]  # newest first
        session.keys("G")  # to the end: the footer is the last line
        screen = session.wait_for_screen(lambda lines: FOOTER in lines, "the footer")
        session.keys("q")
        code, _ = session.wait_exit()
    finally:
        session.close()
    assert code == 0


def test_no_pager_when_stdout_is_not_a_real_terminal(server: RunningServer, many, tmp_path: Path) -> None:
    marker = tmp_path / "pager-ran"
    pager = f"sh -c 'touch {marker}; cat'"
    done = subprocess.run(
        xai_command("files", "ls"),
        env=_env(server.target, XAI_FORCE_TTY="1", PAGER=pager, LINES="10"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert not marker.exists()
    assert done.stdout.splitlines()[-1] == FOOTER  # the table itself, written in chunks


def test_pager_command_comes_from_xai_pager_then_pager() -> None:
    assert pager_command({}) == DEFAULT_PAGER.split()
    assert pager_command({"PAGER": "more"}) == ["more"]
    assert pager_command({"PAGER": "more", "XAI_PAGER": "less -S"}) == ["less", "-S"]
    assert pager_command({"PAGER": "cat"}) is None
    assert pager_command({"PAGER": "less", "XAI_PAGER": ""}) is None


# -- programs: streamed JSON ------------------------------------------------------------------------
def test_streamed_json_is_the_whole_list_when_complete(xai, many, monkeypatch) -> None:
    result = xai("files", "ls", "--all", "--json")
    assert (result.code, result.stderr) == (0, "")
    listed = json.loads(result.stdout)
    assert [item["id"] for item in listed] == many[::-1]
    assert result.stdout == json.dumps(listed, indent=2) + "\n"  # same text as a list written at once
    lines = xai("files", "ls", "--all", "--jsonl").stdout.splitlines()
    assert [json.loads(line) for line in lines] == listed
    monkeypatch.setenv("XAI_LIST_CONCURRENCY", "1")
    assert xai("files", "ls", "--all", "--json").stdout == result.stdout  # one cursor: the same bytes


@pytest.mark.parametrize("mode", ["--json", "--jsonl", "--ids"])
def test_a_closed_pipe_exits_0(server: RunningServer, many, mode: str) -> None:
    script = f"set -o pipefail; {PYTHON} -m xai_files_cli files ls --all {mode} | head -n 3"
    done = subprocess.run(
        ["bash", "-c", script],
        env=_env(server.target),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (done.returncode, done.stderr, len(done.stdout.splitlines())) == (0, "", 3)


def _through_failing_proxy(server: RunningServer, fail_after: int, monkeypatch, *args: str):
    with ListingProxy(server.target, fail_after=fail_after) as proxy:
        monkeypatch.setenv("XAI_API_HOST", proxy.target)
        monkeypatch.setenv("XAI_API_KEY", TEST_KEY)
        return run_xai(*args)


@pytest.mark.parametrize(("concurrency", "fail_after"), [("1", 2), ("8", 5)])
def test_a_server_failing_mid_listing_exits_6_and_leaves_the_array_open(
    server: RunningServer, many, fast_retries, monkeypatch, concurrency: str, fail_after: int
) -> None:
    monkeypatch.setenv("XAI_LIST_CONCURRENCY", concurrency)
    result = _through_failing_proxy(server, fail_after, monkeypatch, "files", "ls", "--all", "--json")
    error = json.loads(result.stderr)["error"]  # --json: the error is JSON too
    assert (result.code, error["code"], error["exit_code"]) == (6, "UNAVAILABLE", 6)
    assert error["message"].startswith("list files: ")
    # With one cursor the pages answered before the failure were written; with 8, the newest
    # window's first page may be among the calls that failed, and then nothing was (stdout empty).
    least = 1 if concurrency == "1" else 0
    if result.stdout or least:
        assert result.stdout.startswith("[\n  {") and not result.stdout.rstrip().endswith("]")
        with pytest.raises(json.JSONDecodeError):
            json.loads(result.stdout)  # `jq` fails loudly on what was written
    prefix = json.loads(result.stdout + "\n]") if result.stdout else []  # whole elements, in order
    assert least <= len(prefix) < 250 and [item["id"] for item in prefix] == many[::-1][: len(prefix)]
    lines = _through_failing_proxy(server, fail_after, monkeypatch, "files", "ls", "--all", "--jsonl")
    assert lines.code == 6
    written = [json.loads(line)["id"] for line in lines.stdout.splitlines()]
    assert least <= len(written) < 250 and written == many[::-1][: len(written)]


json_values = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
json_objects = st.dictionaries(st.text(), json_values) | st.dictionaries(st.text(), st.lists(json_values))


@settings(max_examples=80, deadline=None, derandomize=True)
@given(values=st.lists(json_objects, max_size=4))
def test_streamed_json_text_is_what_the_encoder_writes(values: list[dict]) -> None:
    # The streamed array and the JSONL lines format flat objects without the encoder: same text.
    streams = IOStreams.for_test()
    write_json_array(streams, iter(values))
    assert streams.stdout_text() == to_json_text(values) + "\n"
    streams = IOStreams.for_test()
    write_jsonl(streams, iter(values))
    expected = "".join(to_json_text([v], indent=None)[1:-1] + "\n" for v in values)  # the encoder's
    assert streams.stdout_text() == expected
    for line, value in zip(streams.stdout_text().splitlines(), values, strict=True):
        assert json.loads(line) == value


def test_a_long_table_gives_names_the_room_left_even_when_its_first_screen_has_short_ones(
    xai, server: RunningServer
) -> None:
    oldest = seed(server, "annual-plan.txt")  # 15 cells: shown last, after a screenful of short names
    seed_many(server, (f"n{i}.txt" for i in range(60)))
    result = xai("files", "ls", "--all", stdout_tty=True)
    assert (result.code, result.stderr) == (0, "")
    last = result.stdout.splitlines()[-1]
    assert last.split()[:2] == [oldest, "annual-plan.txt"]
