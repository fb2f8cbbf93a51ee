"""`xai files rm`: prompt on a terminal only, ids on stdout when piped, unknown and mixed ids."""

from __future__ import annotations

import json

from tests.support.cli import InterruptedInput, run_with_stdin, run_xai
from tests.support.emulator import seed


def test_piped_deletes_without_asking_and_prints_ids(xai, server) -> None:
    a, b = seed(server, "a"), seed(server, "b")
    result = xai("files", "rm", a, b, stdin=b"n\n")  # stdin is not read: nobody to ask
    assert (result.code, result.stdout, result.stderr) == (0, f"{a}\n{b}\n", "")
    assert server.storage.all_ids() == set()


def test_tty_asks_once_and_deletes_on_yes(xai, server) -> None:
    a, b = seed(server, "a"), seed(server, "b")
    result = xai("files", "rm", a, b, stdin=b"y\n", stdin_tty=True, stdout_tty=True)
    assert result.code == 0
    assert result.stderr == f"Delete 2 files: a ({a}), b ({b})? [y/N] "
    assert result.stdout == f"Deleted {a}\nDeleted {b}\n"
    assert server.storage.all_ids() == set()


def test_tty_declined_exits_130_and_keeps_the_files(xai, server) -> None:
    a = seed(server, "a")
    result = xai("files", "rm", a, stdin=b"\n", stdin_tty=True, stdout_tty=True)
    assert (result.code, result.stdout) == (130, "")
    assert result.stderr == f"Delete a ({a})? [y/N] xai: cancelled; nothing deleted\n"
    assert server.storage.all_ids() == {a}


def test_tty_prompt_shows_unknown_ids_as_they_are(xai, server) -> None:
    a = seed(server, "a")
    result = xai("files", "rm", a, "file_nope", stdin=b"n\n", stdin_tty=True, stdout_tty=True)
    assert (result.code, result.stdout) == (130, "")
    assert result.stderr == f"Delete 2 files: a ({a}), file_nope? [y/N] xai: cancelled; nothing deleted\n"
    assert server.storage.all_ids() == {a}


def test_yes_skips_the_prompt(xai, server) -> None:
    a = seed(server, "a")
    result = xai("files", "rm", "--yes", a, stdin_tty=True, stdout_tty=True)
    assert (result.code, result.stdout, result.stderr) == (0, f"Deleted {a}\n", "")


def test_unknown_id_exits_4(xai) -> None:
    result = xai("files", "rm", "file_nope")
    assert (result.code, result.stdout) == (4, "")
    assert result.stderr.startswith("xai: delete file_nope: ") and result.stderr.endswith("(NOT_FOUND)\n")


def test_mixed_ids_delete_the_others_and_exit_7(xai, server) -> None:
    a, b = seed(server, "a"), seed(server, "b")
    result = xai("files", "rm", a, "file_nope", b)
    assert (result.code, result.stdout) == (7, f"{a}\n{b}\n")
    lines = result.stderr.splitlines()
    assert lines[0].startswith("xai: delete file_nope: ") and lines[0].endswith("(NOT_FOUND)")
    assert lines[1] == "xai: deleted 2 of 3 files; 1 failed"
    assert server.storage.all_ids() == set()


def test_lost_reply_then_not_found_is_reported_as_deleted(emulators) -> None:
    server = emulators.start("DeleteFile:commit_drop")
    a = seed(server, "a")
    result = run_xai("files", "rm", "-y", a, stdout_tty=True)
    assert (result.code, result.stderr) == (0, "")
    assert result.stdout == f"Deleted {a} (it was already gone)\n"  # not a failure: the file is gone
    assert server.faults.calls("DeleteFile") == 2


def test_tty_end_of_input_puts_the_error_on_its_own_line(xai, server) -> None:
    a = seed(server, "a")
    result = xai("files", "rm", a, stdin=b"", stdin_tty=True, stdout_tty=True)  # Ctrl-D at the prompt
    assert (result.code, result.stdout) == (130, "")
    assert result.stderr == f"Delete a ({a})? [y/N] \nxai: cancelled; nothing deleted\n"
    assert server.storage.all_ids() == {a}


def test_tty_ctrl_c_at_the_prompt_puts_the_error_on_its_own_line(xai, server) -> None:
    a = seed(server, "a")
    result = run_with_stdin(InterruptedInput(), "files", "rm", a, stdin_tty=True, stdout_tty=True)
    assert (result.code, result.stdout) == (130, "")
    assert result.stderr == f"Delete a ({a})? [y/N] \nxai: interrupted\n"
    assert server.storage.all_ids() == {a}


def test_json_gives_one_line_per_deleted_file_for_ids_and_filters(xai, server) -> None:
    first, second = seed(server, "a.txt"), seed(server, "b.txt")
    by_id = xai("files", "rm", first, "--yes", "--json", stdout_tty=True)
    assert (by_id.code, by_id.stderr) == (0, "")
    assert [json.loads(line) for line in by_id.stdout.splitlines()] == [
        {"id": first, "deleted": True, "already_deleted": False}
    ]
    by_filter = xai("files", "rm", "--name", "b.*", "--yes", "--json")
    assert by_filter.code == 0
    assert [json.loads(line) for line in by_filter.stdout.splitlines()] == [
        {"id": second, "deleted": True, "already_deleted": False}
    ]
    assert server.storage.all_ids() == set()
