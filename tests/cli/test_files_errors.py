"""Errors every `xai files` command shares: keys, unreachable servers, JSON errors, signals."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest

from tests.support.cli import run_xai
from tests.support.constants import TEST_KEY
from tests.support.emulator import seed
from tests.support.processes import start_xai_against, unused_port

WRONG_KEY = "xai-wrongkey9876543210zyxwvutsrqponmlkjihg"


def test_wrong_key_exits_3_with_a_hint_and_never_the_key(xai, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XAI_API_KEY", WRONG_KEY)
    result = xai("files", "ls")
    assert (result.code, result.stdout) == (3, "")
    assert result.stderr.startswith("xai: list files: ")
    assert result.stderr.endswith(
        "(UNAUTHENTICATED); run `xai auth login`, set XAI_API_KEY, or use --local\n"
    )
    assert WRONG_KEY not in result.stderr and "wrongkey" not in result.stderr


def test_missing_key_exits_3_without_touching_the_network(monkeypatch: pytest.MonkeyPatch) -> None:
    port = unused_port()
    monkeypatch.setenv("XAI_API_HOST", f"127.0.0.1:{port}")  # nothing listens: 6 if we dialled
    for argv in (["files", "ls"], ["files", "get", "file_x"], ["files", "rm", "file_x"]):
        result = run_xai(*argv)
        assert (result.code, result.stdout) == (3, ""), argv
        assert result.stderr.startswith("xai: no API key configured")


def test_server_down_exits_6_within_seconds(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    port = unused_port()
    monkeypatch.setenv("XAI_API_HOST", f"127.0.0.1:{port}")
    monkeypatch.setenv("XAI_API_KEY", TEST_KEY)
    sample = tmp_path / "a.txt"
    sample.write_bytes(b"a")
    for argv in (["files", "ls"], ["files", "upload", str(sample)], ["files", "rm", "file_x"]):
        started = time.monotonic()
        result = run_xai(*argv)
        assert time.monotonic() - started < 10, argv
        assert (result.code, result.stdout) == (6, ""), argv
        assert f"cannot connect to 127.0.0.1:{port}: connection refused" in result.stderr
        origin = f"the API host 127.0.0.1:{port} comes from env XAI_API_HOST"
        assert result.stderr.endswith(f"(UNAVAILABLE); {origin}\n")
        assert "Traceback" not in result.stderr


def test_plaintext_key_to_a_remote_host_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XAI_API_HOST", "http://files.example.com:80")
    monkeypatch.setenv("XAI_API_KEY", TEST_KEY)
    result = run_xai("files", "ls")
    assert (result.code, result.stdout) == (2, "")
    assert result.stderr == "xai: refusing to send API key over plaintext to files.example.com\n"


def test_error_format_json(xai) -> None:
    result = xai("--error-format", "json", "files", "get", "file_nope")
    assert (result.code, result.stdout) == (4, "")
    error = json.loads(result.stderr)["error"]
    assert (error["code"], error["exit_code"], error["file_id"]) == ("NOT_FOUND", 4, "file_nope")


def test_hostile_status_message_is_escaped(emulators) -> None:
    emulators.start("ListFiles:fail:code=INVALID_ARGUMENT,times=0,message=bad \x1b[2J\x07 \u202eevil")
    result = run_xai("files", "ls")
    assert result.code == 5
    assert result.stderr == "xai: list files: bad \\x1b[2J\\x07 \\u202eevil (INVALID_ARGUMENT)\n"


def test_unimplemented_method_exits_1(emulators) -> None:
    emulators.start("ListFiles:fail:code=UNIMPLEMENTED")
    result = run_xai("files", "ls")
    assert (result.code, result.stdout) == (1, "")
    assert result.stderr == "xai: list files: not supported by this server (UNIMPLEMENTED)\n"


def _settle() -> None:
    """Let the client get from "the server saw the call" to "waiting for the reply".

    No event marks that moment from outside the process. A Ctrl-C inside grpc's own call set-up
    is a narrow race that cannot cancel the call (the process still exits 130 within ~2 s, see
    core.channel.XaiChannel), and this test is about the common case.
    """
    time.sleep(0.3)


def test_sigint_during_download_leaves_nothing_behind(emulators, tmp_path: Path) -> None:
    server = emulators.start("RetrieveFileContent:delay:amount=1.5", point_cli=False)
    file_id = seed(server, "blob.bin", b"x" * 1000)
    out = tmp_path / "out"
    out.mkdir()
    dest = out / "copy.bin"
    dest.write_bytes(b"old")
    process = start_xai_against(server.target, TEST_KEY, "files", "cat", file_id, "-o", str(dest))
    assert server.faults.wait_for(lambda plan: plan.calls("RetrieveFileContent") == 1)
    _settle()
    process.send_signal(signal.SIGINT)
    started = time.monotonic()
    stdout, stderr = process.communicate(timeout=10)
    assert time.monotonic() - started < 2
    assert (process.returncode, stdout, stderr) == (130, "", "xai: interrupted\n")
    assert dest.read_bytes() == b"old"
    assert [p.name for p in out.iterdir()] == ["copy.bin"]
    assert server.faults.wait_for(lambda plan: plan.outcomes("RetrieveFileContent") == ["CANCELLED"])


def test_sigint_during_upload_stores_nothing(emulators, tmp_path: Path) -> None:
    # The server stops reading after the first chunk: the upload is under way, far from its end.
    server = emulators.start("UploadFile:stall_upload:after=1,amount=30", point_cli=False)
    sample = tmp_path / "a.bin"
    with sample.open("wb") as handle:
        handle.truncate(64 * 1024 * 1024)
    process = start_xai_against(server.target, TEST_KEY, "files", "upload", str(sample))
    assert server.faults.wait_for(lambda plan: plan.held("UploadFile") == 1)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=10)
    assert (process.returncode, stdout, stderr) == (130, "", "xai: interrupted; nothing uploaded\n")
    assert server.faults.wait_for(lambda plan: plan.outcomes("UploadFile") == ["CANCELLED"])
    assert server.storage.all_ids() == set()  # NS


@pytest.mark.parametrize(
    "args",
    [
        ["files", "batch-upload", "{path}", "--json"],  # the item's error goes to stdout as JSONL
        ["files", "batch-upload", "{path}"],
        ["files", "upload", "{path}", "--json"],
        ["chat", "hi", "-f", "{path}", "--json"],
    ],
)
def test_a_server_echoing_the_key_in_an_error_never_shows_it(
    emulators, tmp_path: Path, args: list[str]
) -> None:
    emulators.start(f"UploadFile:fail:code=INVALID_ARGUMENT,message=bad header: Bearer {TEST_KEY}")
    path = tmp_path / "a.txt"
    path.write_text("x")
    result = run_xai(*(arg.format(path=path) for arg in args), stdout_tty="--json" not in args)
    assert result.code == 5, result
    assert "bad header: Bearer ****stuv" in result.stdout + result.stderr
    assert TEST_KEY not in result.stdout + result.stderr
