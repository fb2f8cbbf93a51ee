"""Housekeeping: `ls` and `rm` share filters (--name, --older-than, --newer-than, --larger-than,
--smaller-than), `rm` deletes every match after one question (or --yes off a terminal), reads ids
from stdin with `-`, and prints its plan with --dry-run."""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from tests.support.cli import run_xai
from tests.support.constants import PYTHON, REPO_ROOT, TEST_KEY
from tests.support.emulator import FakeClock, seed
from tests.support.listing_proxy import ListingProxy
from tests.support.processes import xai_subprocess_env
from xai_files_cli.emulator.server import RunningServer

DAY = 86400


@pytest.fixture
def old_and_new(emulators) -> tuple[RunningServer, dict[str, str]]:
    """A server holding files 40, 10 and 3 days old and one just made: name -> id."""
    clock = FakeClock(start_s=int(time.time()) - 40 * DAY)
    server = emulators.start(clock=clock)
    made = {}
    for name, size, age_days in [
        ("report-2024.pdf", 5_000_000, 40),
        ("tmp-a.txt", 10, 10),
        ("tmp-b.log", 2_000, 3),
        ("notes.md", 300, 0),
    ]:
        clock.now = (int(time.time()) - age_days * DAY) * 1_000_000_000
        made[name] = seed(server, name, b"x" * size)
    return server, made


def listed(*args: str) -> list[str]:
    result = run_xai("files", "ls", "--all", "--json", *args)
    assert (result.code, result.stderr) == (0, ""), result
    return [item["filename"] for item in json.loads(result.stdout)]


# -- ls ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "names"),
    [
        (["--older-than", "7d"], ["tmp-a.txt", "report-2024.pdf"]),
        (["--newer-than", "5d"], ["notes.md", "tmp-b.log"]),
        (["--older-than", "5d", "--newer-than", "30d"], ["tmp-a.txt"]),
        (["--larger-than", "1kB"], ["tmp-b.log", "report-2024.pdf"]),
        (["--smaller-than", "1KiB", "--larger-than", "10"], ["notes.md"]),
        (["--larger-than", "4.5MB"], ["report-2024.pdf"]),
        (["--name", "tmp-*"], ["tmp-b.log", "tmp-a.txt"]),
        (["--name", "*.pdf"], ["report-2024.pdf"]),
        (["--name", "tmp-?.txt", "--older-than", "1d"], ["tmp-a.txt"]),
        (["--name", "notes.md"], ["notes.md"]),
        (["--name", "nothing*"], []),
    ],
)
def test_ls_filters(old_and_new, args: list[str], names: list[str]) -> None:
    assert listed(*args) == names


def test_ls_filters_apply_client_side_on_a_server_without_filters(old_and_new, monkeypatch) -> None:
    server, _ = old_and_new
    with ListingProxy(server.target, filters="reject") as proxy:
        monkeypatch.setenv("XAI_API_HOST", proxy.target)
        assert listed("--name", "tmp-*", "--older-than", "5d") == ["tmp-a.txt"]
        assert listed("--larger-than", "1kB", "--sort", "size") == ["report-2024.pdf", "tmp-b.log"]
    assert "" in proxy.filters_sent() and any(proxy.filters_sent())  # asked, refused, then plain


def test_ls_with_a_filter_matching_nothing_says_so_on_a_tty(old_and_new) -> None:
    result = run_xai("files", "ls", "--name", "zzz*", stdout_tty=True)
    assert (result.code, result.stdout) == (0, "No files with a name matching 'zzz*'.\n")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--larger-than", "10XB"],
            "invalid --larger-than '10XB': use BYTES or a size such as 500kB, 10MB, 1.5GiB",
        ),
        (["--smaller-than", "1.5B"], "invalid --smaller-than '1.5B': not a whole number of bytes"),
        (
            ["--older-than", "soon"],
            "invalid --older-than 'soon': use SECONDS or a duration such as 1h, 12h, 2d",
        ),
        (["--name", ""], "--name must not be empty"),
        # More digits than a decimal's default precision: rounding them used to raise (a traceback).
        (["--larger-than", "9" * 29], f"invalid --larger-than '{'9' * 29}': too large"),
        (["--smaller-than", "9" * 20 + "TiB"], f"invalid --smaller-than '{'9' * 20}TiB': too large"),
    ],
)
def test_bad_filter_values_exit_2(xai, args: list[str], message: str) -> None:
    result = xai("files", "ls", *args)
    assert (result.code, result.stdout) == (2, "")
    assert message in result.stderr


def test_sizes_read_decimal_and_binary_units(old_and_new) -> None:
    assert listed("--larger-than", "1.999kB", "--smaller-than", "2001") == ["tmp-b.log"]
    assert listed("--larger-than", "4.76MiB") == ["report-2024.pdf"]  # 4.76 MiB: 4,991,222 bytes (rounded)
    assert listed("--larger-than", "4.77MiB") == []  # 5,001,707 bytes


# -- rm with a filter -------------------------------------------------------------------------------
def test_rm_with_a_filter_off_a_terminal_needs_yes(old_and_new) -> None:
    server, made = old_and_new
    result = run_xai("files", "rm", "--older-than", "7d")
    assert (result.code, result.stdout) == (2, "")
    assert "needs --yes" in result.stderr and "nothing deleted" in result.stderr
    assert server.storage.all_ids() == set(made.values())
    assert server.faults.calls("ListFiles") == 0  # refused before any call


def test_rm_with_a_filter_and_yes_deletes_every_match(old_and_new) -> None:
    server, made = old_and_new
    result = run_xai("files", "rm", "--older-than", "7d", "--yes")
    assert result.code == 0, result
    assert result.stdout.splitlines() == [made["tmp-a.txt"], made["report-2024.pdf"]]
    assert result.stderr == "xai: deleted 2 files (5.0 MB)\n"
    assert server.storage.all_ids() == {made["tmp-b.log"], made["notes.md"]}


def test_rm_with_a_filter_on_a_terminal_asks_once_with_count_and_size(old_and_new) -> None:
    server, made = old_and_new
    result = run_xai("files", "rm", "--name", "tmp-*", stdin=b"y\n", stdin_tty=True, stdout_tty=True)
    assert result.code == 0, result
    assert result.stderr.startswith("Delete 2 files (2.0 kB) with a name matching 'tmp-*'? [y/N] ")
    assert result.stdout == f"Deleted {made['tmp-b.log']}\nDeleted {made['tmp-a.txt']}\n"
    assert server.storage.all_ids() == {made["report-2024.pdf"], made["notes.md"]}


def test_rm_with_a_filter_declined_deletes_nothing(old_and_new) -> None:
    server, made = old_and_new
    result = run_xai("files", "rm", "--larger-than", "100", stdin=b"n\n", stdin_tty=True, stdout_tty=True)
    assert (result.code, result.stdout) == (130, "")
    assert result.stderr.endswith("xai: cancelled; nothing deleted\n")
    assert server.storage.all_ids() == set(made.values())


def test_rm_with_a_filter_matching_nothing_deletes_nothing(old_and_new) -> None:
    result = run_xai("files", "rm", "--name", "zzz*", "--yes")
    assert (result.code, result.stdout) == (0, "")
    assert result.stderr == "xai: no files with a name matching 'zzz*'; nothing deleted\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["file_x", "--older-than", "1d"], "give file ids or a filter"),
        ([], "give the ids of the files to delete, - to read them from stdin, or a filter"),
        (["-", "file_x"], "- (read ids from stdin) cannot be combined with other ids"),
    ],
)
def test_rm_usage_errors_exit_2(xai, args: list[str], message: str) -> None:
    result = xai("files", "rm", *args)
    assert (result.code, result.stdout) == (2, "")
    assert message in result.stderr


# -- rm - -------------------------------------------------------------------------------------------
def test_rm_dash_reads_ids_from_stdin(xai, server) -> None:
    a, b, keep = seed(server, "a"), seed(server, "b"), seed(server, "keep")
    result = xai("files", "rm", "-", stdin=f"{a}\n\n  {b}\n{a}\n".encode())
    assert (result.code, result.stdout, result.stderr) == (0, f"{a}\n{b}\n", "")
    assert server.storage.all_ids() == {keep}


def test_ls_ids_piped_into_rm_dash(old_and_new) -> None:
    server, made = old_and_new
    env = xai_subprocess_env({"XAI_API_HOST": server.target, "XAI_API_KEY": TEST_KEY})
    xai = f"{PYTHON} -m xai_files_cli"
    script = f"set -o pipefail; {xai} files ls --ids --older-than 7d | {xai} files rm - --yes"
    done = subprocess.run(
        ["bash", "-c", script], env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=60
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.splitlines() == [made["tmp-a.txt"], made["report-2024.pdf"]]
    assert server.storage.all_ids() == {made["tmp-b.log"], made["notes.md"]}


# -- rm --dry-run -----------------------------------------------------------------------------------
def test_rm_dry_run_piped_is_a_json_plan_and_deletes_nothing(old_and_new) -> None:
    server, made = old_and_new
    result = run_xai("files", "rm", "--older-than", "7d", "--dry-run")
    assert (result.code, result.stderr) == (0, "")
    assert json.loads(result.stdout) == [
        {"action": "delete", "id": made[name], "name": name, "size": size, "reason": "older than 7d"}
        for name, size in [("tmp-a.txt", 10), ("report-2024.pdf", 5_000_000)]
    ]
    assert server.storage.all_ids() == set(made.values())
    assert server.faults.calls("DeleteFile") == 0


def test_rm_dry_run_on_a_terminal_is_a_table_and_a_total(old_and_new) -> None:
    server, made = old_and_new
    result = run_xai("files", "rm", "--name", "tmp-*", "--dry-run", stdout_tty=True, stdin_tty=True)
    assert (result.code, result.stderr) == (0, "")
    lines = result.stdout.splitlines()
    assert lines[0].split()[:3] == ["ID", "NAME", "SIZE"]
    assert [line.split()[0] for line in lines[1:3]] == [made["tmp-b.log"], made["tmp-a.txt"]]
    assert lines[3] == "dry run: would delete 2 files (2.0 kB); nothing deleted"
    assert server.storage.all_ids() == set(made.values())


def test_rm_dry_run_of_ids_plans_each_and_reports_unknown_ones(xai, server) -> None:
    a = seed(server, "a.txt", b"abc")
    result = xai("files", "rm", a, "file_nope", "--dry-run")
    assert result.code == 7
    assert json.loads(result.stdout) == [
        {"action": "delete", "id": a, "name": "a.txt", "size": 3, "reason": "id named on the command line"}
    ]
    assert "file_nope" in result.stderr and "(NOT_FOUND)" in result.stderr
    assert server.storage.all_ids() == {a}
