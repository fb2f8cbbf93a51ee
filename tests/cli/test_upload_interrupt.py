"""Ctrl-C or SIGTERM during an upload never leaves a file behind unreported; real processes.

Before the last byte the call is cancelled: "nothing uploaded" (test_files_errors.py covers a
single upload). After it, the server may be storing the file: the CLI waits briefly for the answer
and deletes what was stored ("deleted the uploaded file file_…"), or names the file and the command
that removes it. The emulator's `hold_reply` fault stores the file and then holds the reply, which
makes that window deterministic.
"""

from __future__ import annotations

import re
import signal
import subprocess
from pathlib import Path

import pytest

from tests.support.constants import TEST_KEY
from tests.support.processes import start_xai_against
from xai_files_cli.emulator.server import RunningServer

FILE_ID = r"file_[0-9a-f-]+"
SIGNALS = pytest.mark.parametrize(
    ("sig", "code", "word"), [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")]
)


def _finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    try:
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    return process.returncode, out, err


def _interrupt_when(server: RunningServer, process: subprocess.Popen[str], ready, sig: int) -> None:
    """Send `sig` once the server reached the state `ready(plan)` (the process must still run)."""
    reached = server.faults.wait_for(lambda plan: ready(plan) or process.poll() is not None, timeout=30)
    assert reached and process.poll() is None, process.communicate()
    process.send_signal(sig)


def _held(plan) -> bool:
    return plan.held("UploadFile") >= 1


@pytest.fixture
def big(tmp_path: Path) -> Path:
    path = tmp_path / "big.bin"
    path.write_bytes(b"x" * 1_000_000)
    return path


@SIGNALS
def test_signal_after_the_last_byte_deletes_the_stored_file(
    emulators, big: Path, sig: int, code: int, word: str
) -> None:
    server = emulators.start("UploadFile:hold_reply:amount=1", point_cli=False)
    process = start_xai_against(
        server.target, TEST_KEY, "files", "upload", str(big), stdin=subprocess.DEVNULL
    )
    _interrupt_when(server, process, _held, sig)
    returncode, out, err = _finish(process)
    assert (returncode, out) == (code, ""), err
    assert re.fullmatch(rf"xai: {word}; deleted the uploaded file {FILE_ID}\n", err), err
    assert server.storage.all_ids() == set()  # a re-run cannot duplicate it
    assert server.faults.calls("DeleteFile") == 1


def test_a_stored_file_that_cannot_be_deleted_is_named_with_the_command(emulators, big: Path) -> None:
    server = emulators.start(
        "UploadFile:hold_reply:amount=1", "DeleteFile:fail:code=PERMISSION_DENIED,times=0", point_cli=False
    )
    process = start_xai_against(
        server.target, TEST_KEY, "files", "upload", str(big), stdin=subprocess.DEVNULL
    )
    _interrupt_when(server, process, _held, signal.SIGINT)
    returncode, out, err = _finish(process)
    assert (returncode, out) == (130, ""), err
    [stored] = server.storage.all_ids()
    assert err == (
        f"xai: interrupted; big.bin was stored as {stored} and could not be deleted "
        f"(delete {stored}: injected fault); remove it with `xai files rm {stored}`\n"
    )


def test_chat_interrupted_while_its_upload_commits_deletes_the_file(emulators, big: Path) -> None:
    server = emulators.start("UploadFile:hold_reply:amount=1", point_cli=False)
    process = start_xai_against(
        server.target, TEST_KEY, "chat", "What is in it?", "-f", str(big), stdin=subprocess.DEVNULL
    )
    _interrupt_when(server, process, _held, signal.SIGINT)
    returncode, out, err = _finish(process)
    assert (returncode, out) == (130, ""), err
    assert re.fullmatch(rf"xai: interrupted; deleted the uploaded file {FILE_ID}\n", err), err
    assert server.storage.all_ids() == set()
    assert server.faults.calls("GetCompletionChunk") == 0  # no question was asked


@SIGNALS
def test_batch_deletes_each_file_stored_after_the_interrupt(
    emulators, tmp_path: Path, sig: int, code: int, word: str
) -> None:
    server = emulators.start("UploadFile:hold_reply:amount=1,times=0", point_cli=False)
    folder = tmp_path / "batch"
    folder.mkdir()
    for i in range(3):
        (folder / f"f{i}.txt").write_bytes(b"z" * 1000)
    process = start_xai_against(
        server.target, TEST_KEY, "files", "batch-upload", str(folder), stdin=subprocess.DEVNULL
    )
    _interrupt_when(server, process, lambda plan: plan.held("UploadFile") == 3, sig)
    returncode, out, err = _finish(process)
    assert (returncode, out) == (code, ""), err
    assert re.fullmatch(
        rf"xai: {word}; deleted the 3 uploaded files {FILE_ID}, {FILE_ID}, {FILE_ID}\n", err
    ), err
    assert server.storage.all_ids() == set()
    assert server.faults.calls("DeleteFile") == 3


def test_batch_interrupted_mid_file_uploads_nothing_more(emulators, tmp_path: Path) -> None:
    # Every upload stops being read after two chunks: the one-chunk file completes, the big one stalls.
    server = emulators.start("UploadFile:stall_upload:after=2,amount=30,times=0", point_cli=False)
    folder = tmp_path / "batch"
    folder.mkdir()
    (folder / "a.txt").write_bytes(b"small")
    with (folder / "b.bin").open("wb") as handle:
        handle.truncate(64 * 1024 * 1024)
    process = start_xai_against(
        server.target,
        TEST_KEY,
        "files",
        "batch-upload",
        str(folder),
        "--concurrency",
        "1",
        stdin=subprocess.DEVNULL,
    )
    _interrupt_when(server, process, _held, signal.SIGINT)
    returncode, out, err = _finish(process)
    [stored] = server.storage.all_ids()
    assert (returncode, out) == (130, f"{stored}\t{folder / 'a.txt'}\n"), err
    assert err == "xai: interrupted; nothing else uploaded\n"
    assert server.faults.wait_for(lambda plan: plan.outcomes("UploadFile") == ["OK", "CANCELLED"])


def test_chat_interrupted_while_deleting_its_upload_names_the_file(emulators, tmp_path: Path) -> None:
    server = emulators.start("DeleteFile:delay:amount=30", point_cli=False)
    notes = tmp_path / "notes.txt"
    notes.write_text("The main risk is the vendor.\n")
    process = start_xai_against(
        server.target,
        TEST_KEY,
        "chat",
        "What is the risk?",
        "-f",
        str(notes),
        "--no-log",  # deleted after the answer, not kept for a conversation
        stdin=subprocess.DEVNULL,
    )
    _interrupt_when(server, process, lambda plan: plan.calls("DeleteFile") >= 1, signal.SIGINT)
    returncode, out, err = _finish(process)
    assert returncode == 130 and out.strip(), err  # the answer was shown before the cleanup
    warning = (
        rf"xai: warning: {re.escape(str(notes))} may remain uploaded as ({FILE_ID}); it expires within "
        r"an hour, or remove it with `xai files rm \1`\nxai: interrupted\n"
    )
    assert re.fullmatch(warning, err), err
    assert server.faults.calls("DeleteFile") == 1
