"""`xai files ls`: table on a tty, JSON/JSONL/ids for programs, sorting, paging, EPIPE."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.support.constants import PYTHON, REPO_ROOT, TEST_KEY
from tests.support.emulator import seed, seed_many
from tests.support.processes import xai_subprocess_env


def _json(record) -> dict:
    def stamp(moment):
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None

    return {
        "id": record.id,
        "filename": record.filename,
        "size": record.size,
        "created_at": stamp(record.created_at),
        "expires_at": stamp(record.expires_at),
    }


@pytest.fixture
def three(server):
    """b.txt (3 B, expires in 2 h), a.txt (10 B), c.txt (1 B), created in that order."""
    ids = [
        seed(server, "b.txt", b"bbb", ttl=7200),
        seed(server, "a.txt", b"a" * 10),
        seed(server, "c.txt", b"c"),
    ]
    return [server.storage.get(i) for i in ids]


def test_empty_list_piped_is_an_empty_array(xai) -> None:
    result = xai("files", "ls")
    assert (result.code, result.stdout, result.stderr) == (0, "[]\n", "")


def test_empty_list_on_a_tty(xai) -> None:
    result = xai("files", "ls", stdout_tty=True)
    assert (result.code, result.stdout, result.stderr) == (0, "No files.\n", "")


def test_piped_is_a_json_array_newest_first(xai, three) -> None:
    result = xai("files", "ls")
    assert (result.code, result.stderr) == (0, "")
    assert result.stdout == json.dumps([_json(r) for r in reversed(three)], indent=2) + "\n"


def test_asc_lists_in_creation_order(xai, three) -> None:
    result = xai("files", "ls", "--asc")
    assert (result.code, result.stderr) == (0, "")
    assert result.stdout == json.dumps([_json(r) for r in three], indent=2) + "\n"


def test_jsonl_sorted_by_size_descending(xai, three) -> None:
    result = xai("files", "ls", "--jsonl", "--sort", "size", "--desc")
    by_size = sorted(three, key=lambda r: -r.size)
    assert (result.code, result.stderr) == (0, "")
    assert result.stdout == "".join(json.dumps(_json(r)) + "\n" for r in by_size)


def test_ids_sorted_by_filename_with_limit(xai, three) -> None:
    result = xai("files", "ls", "--ids", "--sort", "filename", "--limit", "2")
    assert (result.code, result.stdout, result.stderr) == (0, f"{three[1].id}\n{three[0].id}\n", "")


def test_tty_table(xai, three) -> None:
    result = xai("files", "ls", "--sort", "filename", stdout_tty=True)
    assert (result.code, result.stderr) == (0, "")
    lines = [line.rstrip() for line in result.stdout.splitlines()]
    assert lines[0].split() == ["ID", "NAME", "SIZE", "CREATED", "EXPIRES"]
    assert lines[1].split() == [three[1].id, "a.txt", "10", "B", "just", "now", "never"]
    assert lines[2].split() == [three[0].id, "b.txt", "3", "B", "just", "now", "in", "2", "hours"]
    assert lines[3].split() == [three[2].id, "c.txt", "1", "B", "just", "now", "never"]
    assert len(lines) == 4


def test_wide_characters_are_not_cut_when_the_terminal_has_room(xai, server) -> None:
    # A CJK character takes two cells: measured in characters, the NAME column was half too narrow.
    file_id = seed(server, "日本語の報告.txt")
    result = xai("files", "ls", stdout_tty=True)
    assert (result.code, result.stderr) == (0, "")
    assert result.stdout.splitlines()[1].split()[:2] == [file_id, "日本語の報告.txt"]


def test_hostile_names_are_escaped_on_a_tty_and_in_json(xai, server) -> None:
    evil = "\x1b]0;x\x07\u202e\x9b.txt"
    seed(server, evil)
    table = xai("files", "ls", stdout_tty=True)
    assert "\x1b" not in table.stdout and "\u202e" not in table.stdout and "\x9b" not in table.stdout
    assert "\\x1b]0;x\\x07\\u202e\\x9b.txt" in table.stdout  # shown escaped, never raw
    piped = xai("files", "ls")
    assert "\u202e" not in piped.stdout and "\x9b" not in piped.stdout and "\x1b" not in piped.stdout
    assert json.loads(piped.stdout)[0]["filename"] == evil  # still the exact name for programs


def test_default_is_the_newest_100_and_all_follows_every_page(xai, server) -> None:
    seed_many(server, (f"f{i:03}" for i in range(130)))
    first = xai("files", "ls", "--ids")
    every = xai("files", "ls", "--ids", "--all")
    oldest_first = xai("files", "ls", "--ids", "--all", "--asc")
    assert first.code == every.code == oldest_first.code == 0
    assert len(first.stdout.splitlines()) == 100
    all_ids = every.stdout.splitlines()
    assert len(all_ids) == len(set(all_ids)) == 130
    assert all_ids[:100] == first.stdout.splitlines()
    assert oldest_first.stdout.splitlines() == all_ids[::-1]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--sort", "colour"], "xai: invalid --sort 'colour'; choose one of: created_at, filename, size\n"),
        (["--all", "--limit", "5"], "xai: use either --all or --limit, not both\n"),
    ],
)
def test_bad_flags_exit_2(xai, args: list[str], message: str) -> None:
    result = xai("files", "ls", *args)
    assert (result.code, result.stdout, result.stderr) == (2, "", message)


def test_two_output_formats_exit_2(xai) -> None:
    result = xai("files", "ls", "--json", "--ids")  # --json also makes the error JSON
    assert (result.code, result.stdout) == (2, "")
    error = json.loads(result.stderr)["error"]
    assert error["message"] == "choose one of --json, --jsonl, --ids; got --json, --ids"
    assert (error["code"], error["exit_code"]) == ("USAGE", 2)


def test_limit_below_one_is_a_usage_error(xai) -> None:
    result = xai("files", "ls", "--limit", "0")
    assert (result.code, result.stdout) == (2, "")
    assert "--limit" in result.stderr


def test_closed_pipe_exits_0(server) -> None:
    seed_many(server, (f"file-number-{i:04}.txt" for i in range(700)))  # > 64 KiB of JSON: EPIPE for real
    env = xai_subprocess_env({"XAI_API_HOST": server.target, "XAI_API_KEY": TEST_KEY})
    script = f"set -o pipefail; {PYTHON} -m xai_files_cli files ls --all | head -n 3"
    done = subprocess.run(
        ["bash", "-c", script], env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == '[\n  {\n    "id": "file_' + done.stdout.split('"file_', 1)[1]
    assert len(done.stdout.splitlines()) == 3
    assert done.stderr == ""
