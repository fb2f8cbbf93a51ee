"""`xai chat --file PATH` reuses a live upload of the same name and content from the upload index
(confirmed with the server) instead of sending it again, and never deletes a file it did not upload."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tests.support.cli import run_xai
from tests.support.emulator import ChatServer, FakeClock


def _attached(result) -> list[dict]:
    return json.loads(result.stdout)["files"]


def test_chat_attaches_a_live_upload_of_the_same_content_and_never_deletes_it(
    chat_server, notes: Path
) -> None:
    srv: ChatServer = chat_server()
    file_id = run_xai("files", "upload", str(notes)).stdout.strip()
    result = run_xai("chat", "What are the risks?", "--file", str(notes), "--no-log", "--json")
    assert result.code == 0, result
    assert f"file://{file_id}/notes.txt" in json.loads(result.stdout)["content"]  # quoted from that file
    (attached,) = _attached(result)
    assert (attached["id"], attached["uploaded"], attached["deleted"]) == (file_id, False, False)
    assert srv.calls("UploadFile") == 1 and srv.calls("DeleteFile") == 0
    assert srv.stored() == ["notes.txt"]


def test_changed_content_is_uploaded_for_the_chat(chat_server, notes: Path) -> None:
    srv: ChatServer = chat_server()
    run_xai("files", "upload", str(notes))
    notes.write_text(notes.read_text().replace("risk", "RISK"))  # same size, other content
    result = run_xai("chat", "What are the risks?", "--file", str(notes), "--json")
    (attached,) = _attached(result)
    assert attached["uploaded"] is True
    assert srv.calls("UploadFile") == 2


def test_a_kept_chat_upload_is_reused_by_the_next_chat(chat_server, notes: Path) -> None:
    srv: ChatServer = chat_server()
    first = run_xai("chat", "What are the risks?", "--file", str(notes), "--keep", "--json")
    second = run_xai("chat", "And the timeline?", "--file", str(notes), "--json")
    assert _attached(second)[0]["id"] == _attached(first)[0]["id"]
    assert _attached(second)[0]["uploaded"] is False
    assert srv.calls("UploadFile") == 1


def test_an_upload_about_to_expire_is_not_reused(emulators, notes: Path) -> None:
    # The server's clock is an hour minus 100 s behind: a 1 h upload expires 100 s from now.
    server = emulators.start(clock=FakeClock(int(time.time()) - 3600 + 100))
    run_xai("files", "upload", str(notes), "--expires-after", "1h")
    result = run_xai("chat", "What are the risks?", "--file", str(notes), "--json")
    assert result.code == 0, result
    assert _attached(result)[0]["uploaded"] is True
    assert server.faults is not None and server.faults.calls("UploadFile") == 2
