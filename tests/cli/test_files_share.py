"""`xai files share` / `unshare`: public URL creation and revocation."""

from __future__ import annotations

import json

from tests.support.cli import run_xai
from tests.support.emulator import seed

PDF = b"%PDF-1.4\n%%EOF\n"


def test_share_prints_the_url(xai, server) -> None:
    file_id = seed(server, "doc.pdf", PDF)
    result = xai("files", "share", file_id)
    url = server.storage.get(file_id).public_url
    assert url
    assert (result.code, result.stdout, result.stderr) == (0, f"{url}\n", "")


def test_share_json_with_expiry(xai, server) -> None:
    file_id = seed(server, "doc.pdf", PDF)
    result = xai("files", "share", file_id, "--expires-after", "1h", "--json")
    assert (result.code, result.stderr) == (0, "")
    body = json.loads(result.stdout)
    assert body["id"] == file_id
    assert body["public_url"] == server.storage.get(file_id).public_url
    assert body["public_url_expires_at"].endswith("Z")
    # Named as in `get --json`, where `expires_at` is the file's own expiry.
    shown = json.loads(xai("files", "get", file_id, "--json").stdout)
    assert shown["public_url_expires_at"] == body["public_url_expires_at"]
    assert "expires_at" not in body


def test_share_refused_for_text_exits_5(xai, server) -> None:
    file_id = seed(server, "notes.txt", b"text")
    result = xai("files", "share", file_id)
    assert (result.code, result.stdout) == (5, "")
    assert result.stderr.startswith(f"xai: share {file_id}: ")
    assert result.stderr.endswith("(INVALID_ARGUMENT)\n")


def test_share_unknown_id_exits_4(xai) -> None:
    result = xai("files", "share", "file_nope")
    assert (result.code, result.stdout) == (4, "")
    assert result.stderr.endswith("(NOT_FOUND)\n")


def test_share_bad_duration_exits_2(xai) -> None:
    result = xai("files", "share", "file_x", "--expires-after", "later")
    assert (result.code, result.stdout) == (2, "")
    assert (
        result.stderr
        == "xai: invalid --expires-after 'later': use SECONDS or a duration such as 1h, 12h, 2d\n"
    )


def test_unshare_piped_tty_and_json(xai, server) -> None:
    file_id = seed(server, "doc.pdf", PDF)
    url = xai("files", "share", file_id).stdout.strip()
    piped = xai("files", "unshare", file_id)
    assert (piped.code, piped.stdout, piped.stderr) == (0, f"{file_id}\n", "")
    assert server.storage.get(file_id).public_url is None
    tty = xai("files", "unshare", file_id, stdout_tty=True)
    assert (tty.code, tty.stdout) == (0, f"No public URL to revoke for {file_id}\n")
    xai("files", "share", file_id)
    as_json = xai("files", "unshare", file_id, "--json")
    body = json.loads(as_json.stdout)
    assert body["id"] == file_id and body["revoked"] is True
    assert body["public_url"].startswith(url.rsplit("/", 1)[0])


def test_share_expiry_beyond_int64_exits_2_before_any_rpc(emulators) -> None:
    server = emulators.start()
    file_id = seed(server, "doc.pdf", PDF)
    result = run_xai("files", "share", file_id, "--expires-after", "99999999999999999999d")
    assert (result.code, result.stdout) == (2, "")
    assert result.stderr == "xai: invalid --expires-after '99999999999999999999d': longer than 100 years\n"
    assert server.faults.calls("CreatePublicUrl") == 0
