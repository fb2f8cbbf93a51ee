"""`xai files get`: JSON object/array when piped, key/value on a tty, unknown ids."""

from __future__ import annotations

import json

import pytest

from tests.support.emulator import seed


@pytest.fixture
def two(server):
    return [
        server.storage.get(seed(server, "a.txt", b"aaa")),
        server.storage.get(seed(server, "b.pdf", b"b")),
    ]


def _json(record) -> dict:
    return {
        "id": record.id,
        "filename": record.filename,
        "size": record.size,
        "created_at": record.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "expires_at": None,
    }


def test_one_id_piped_is_an_object(xai, two) -> None:
    result = xai("files", "get", two[0].id)
    assert (result.code, result.stderr) == (0, "")
    assert result.stdout == json.dumps(_json(two[0]), indent=2) + "\n"


def test_several_ids_are_an_array(xai, two) -> None:
    result = xai("files", "get", two[1].id, two[0].id, "--json", stdout_tty=True)
    assert (result.code, result.stderr) == (0, "")
    assert json.loads(result.stdout) == [_json(two[1]), _json(two[0])]


def test_tty_shows_key_values(xai, two) -> None:
    result = xai("files", "get", two[0].id, stdout_tty=True)
    assert (result.code, result.stderr) == (0, "")
    lines = result.stdout.splitlines()
    assert lines[0] == f"id        {two[0].id}"
    assert lines[1] == "filename  a.txt"
    assert lines[2] == "size      3 B"
    assert lines[3].startswith("created   ") and lines[3].endswith("(just now)")
    assert lines[4] == "expires   never"
    assert len(lines) == 5


def test_public_url_is_included_once_shared(xai, server) -> None:
    file_id = seed(server, "pic.pdf", b"%PDF-1.4\n%%EOF\n")
    shared = xai("files", "share", file_id)
    assert shared.code == 0
    result = xai("files", "get", file_id)
    body = json.loads(result.stdout)
    assert body["public_url"] == shared.stdout.strip()
    assert body["public_url_expires_at"] is None


def test_unknown_id_exits_4(xai) -> None:
    result = xai("files", "get", "file_nope")
    assert (result.code, result.stdout) == (4, "")
    assert result.stderr.startswith("xai: get file_nope: ")
    assert result.stderr.endswith(" (NOT_FOUND)\n")
    assert result.stderr.count("\n") == 1


def test_mixed_ids_exit_7_and_show_the_found(xai, two) -> None:
    result = xai("files", "get", two[0].id, "file_nope")
    assert result.code == 7
    assert json.loads(result.stdout) == [_json(two[0])]
    lines = result.stderr.splitlines()
    assert lines[0].startswith("xai: get file_nope: ") and lines[0].endswith("(NOT_FOUND)")
    assert lines[1] == "xai: found 1 of 2 files; 1 failed"


def test_all_unknown_exit_4(xai) -> None:
    result = xai("files", "get", "file_x", "file_y")
    assert (result.code, result.stdout) == (4, "[]\n")
    assert result.stderr.count("(NOT_FOUND)") == 2
