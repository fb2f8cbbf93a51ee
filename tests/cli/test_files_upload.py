"""`xai files upload`: outputs per mode, every bad input (exit 2, no RPC), server refusals, faults."""

from __future__ import annotations

import json
import os
import pty
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.cli import run_xai
from tests.support.constants import REPO_ROOT
from tests.support.processes import start_xai
from xai_files_cli.core import transfer


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    path = tmp_path / "report.txt"
    path.write_bytes(b"hello world\n")
    return path


def _only_record(server):
    (file_id,) = server.storage.all_ids()
    return server.storage.get(file_id)


def test_piped_prints_the_id_alone(xai, server, sample: Path) -> None:
    result = xai("files", "upload", str(sample))
    record = _only_record(server)
    assert (result.code, result.stdout, result.stderr) == (0, f"{record.id}\n", "")
    assert (record.filename, record.size) == ("report.txt", 12)


def test_tty_prints_a_human_line(xai, server, sample: Path) -> None:
    result = xai("files", "upload", str(sample), stdout_tty=True)
    record = _only_record(server)
    assert (result.code, result.stderr) == (0, "")
    assert result.stdout == f"Uploaded report.txt (12 B) as {record.id}\n"


def test_tty_names_the_source_when_renamed_and_the_expiry(xai, server, sample: Path) -> None:
    result = xai("files", "upload", str(sample), "--name", "other.txt", "-e", "2d", stdout_tty=True)
    record = _only_record(server)
    assert result.code == 0
    assert result.stdout == f"Uploaded other.txt from {sample} (12 B) as {record.id}, expires in 2 days\n"


def test_json_prints_the_file_object(xai, server, sample: Path) -> None:
    result = xai("files", "upload", str(sample), "--json", "--expires-after", "3600")
    record = _only_record(server)
    assert (result.code, result.stderr) == (0, "")
    body = json.loads(result.stdout)
    assert body == {
        "status": "uploaded",
        "id": record.id,
        "filename": "report.txt",
        "size": 12,
        "created_at": record.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "expires_at": record.expires_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def test_stdin_with_name(xai, server) -> None:
    result = xai("files", "upload", "-", "--name", "piped.bin", stdin=b"\x00\x01binary" * 100)
    record = _only_record(server)
    assert (result.code, result.stdout, result.stderr) == (0, f"{record.id}\n", "")
    assert (record.filename, record.size) == ("piped.bin", 800)


def test_empty_file_is_valid(xai, server, tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    result = xai("files", "upload", str(empty))
    assert (result.code, result.stderr) == (0, "")
    assert _only_record(server).size == 0


def test_progress_on_a_tty_stderr_is_transient(xai, server, sample: Path) -> None:
    result = xai("files", "upload", str(sample), stderr_tty=True)
    assert result.code == 0
    assert result.stdout == f"{_only_record(server).id}\n"  # the bar never touches stdout


# -- bad input: exit 2 before any RPC --------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["MISSING"], "xai: cannot upload MISSING: no such file\n"),
        (["DIR"], "xai: cannot upload DIR: is a directory\n"),
        (["FIFO"], "xai: cannot upload FIFO: not a regular file (FIFO, socket or device)\n"),
        (["/dev/null"], "xai: cannot upload /dev/null: not a regular file (FIFO, socket or device)\n"),
        (["-"], "xai: reading from stdin (-) needs --name NAME\n"),
        (
            ["FILE", "--expires-after", "59m"],
            "xai: --expires-after must be between 1h and 30d (3600-2592000 seconds), got 3540\n",
        ),
        (
            ["FILE", "--expires-after", "31d"],
            "xai: --expires-after must be between 1h and 30d (3600-2592000 seconds), got 2678400\n",
        ),
        (
            ["FILE", "--expires-after", "soon"],
            "xai: invalid --expires-after 'soon': use SECONDS or a duration such as 1h, 12h, 2d\n",
        ),
        (["FILE", "--name", ""], "xai: --name must not be empty\n"),
    ],
)
def test_bad_input_exits_2_without_any_rpc(emulators, tmp_path: Path, args: list[str], message: str) -> None:
    server = emulators.start()
    (tmp_path / "dir").mkdir()
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "file").write_bytes(b"x")
    names = {"MISSING": "missing", "DIR": "dir", "FIFO": "fifo", "FILE": "file"}
    argv = [str(tmp_path / names[a]) if a in names else a for a in args]
    for placeholder, name in names.items():
        message = message.replace(f" {placeholder}:", f" {tmp_path / name}:")
    result = run_xai("files", "upload", *argv)
    assert (result.code, result.stdout, result.stderr) == (2, "", message)
    assert server.faults.calls("UploadFile") == 0


def test_unreadable_file_exits_2(emulators, sample: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # We run as root, for whom chmod 000 does not stop reads; make open() fail the way it would.
    server = emulators.start()
    real_open = os.open

    def guarded_open(path, flags, *args):
        if str(path) == str(sample):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, flags, *args)

    monkeypatch.setattr(transfer.os, "open", guarded_open)
    result = run_xai("files", "upload", str(sample))
    assert (result.code, result.stdout) == (2, "")
    assert result.stderr == f"xai: cannot upload {sample}: permission denied\n"
    assert server.faults.calls("UploadFile") == 0


def test_file_over_the_limit_exits_5_without_sending(emulators, tmp_path: Path) -> None:
    server = emulators.start()
    huge = tmp_path / "huge.bin"
    with huge.open("wb") as handle:
        handle.truncate(512 * 1000 * 1000 + 1)
    result = run_xai("files", "upload", str(huge))
    assert (result.code, result.stdout) == (5, "")
    assert result.stderr == (
        f"xai: cannot upload {huge}: 512,000,001 bytes is over the 512 MB limit (RESOURCE_EXHAUSTED)\n"
    )
    assert server.faults.calls("UploadFile") == 0


# -- server refusals and faults ----------------------------------------------------------------------
def test_forbidden_filename_is_rejected_by_the_server(xai, sample: Path) -> None:
    result = xai("files", "upload", str(sample), "--name", "a;b.txt")
    assert (result.code, result.stdout) == (5, "")
    assert result.stderr.startswith("xai: upload a;b.txt: ")
    assert result.stderr.endswith(" (INVALID_ARGUMENT)\n")


def test_json_errors_are_json_on_stderr(xai, sample: Path) -> None:
    result = xai("files", "upload", str(sample), "--name", "a;b.txt", "--json")
    assert (result.code, result.stdout) == (5, "")
    error = json.loads(result.stderr)["error"]
    assert (error["code"], error["exit_code"]) == ("INVALID_ARGUMENT", 5)


def test_upload_cut_mid_stream_is_restarted(emulators, tmp_path: Path, fast_retries: None) -> None:
    server = emulators.start("UploadFile:abort_upload:after=1")
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(8 * transfer.CHUNK_SIZE))
    result = run_xai("files", "upload", str(big))
    (file_id,) = server.storage.all_ids()
    assert (result.code, result.stdout) == (0, f"{file_id}\n")
    assert result.stderr.startswith("xai: upload big.bin: upload interrupted after ")
    assert result.stderr.endswith(f" of {big.stat().st_size:,} bytes; retrying from start (2/3)\n")
    assert result.stderr.count("\n") == 1
    assert server.storage.get(file_id).size == big.stat().st_size


def test_quiet_hides_the_restart_notice(emulators, tmp_path: Path, fast_retries: None) -> None:
    emulators.start("UploadFile:abort_upload:after=1")
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(8 * transfer.CHUNK_SIZE))
    result = run_xai("--quiet", "files", "upload", str(big))
    assert (result.code, result.stderr) == (0, "")


def test_lost_reply_reports_unknown_outcome(emulators, sample: Path) -> None:
    server = emulators.start("UploadFile:commit_drop")
    result = run_xai("files", "upload", str(sample))
    assert (result.code, result.stdout) == (6, "")
    assert result.stderr == (
        "xai: upload report.txt: upload outcome unknown: the connection broke after all 12 bytes were "
        "sent (UNAVAILABLE); check `xai files ls` before uploading again\n"
    )
    assert server.faults.calls("UploadFile") == 1


def test_timeout_flag_sets_the_upload_deadline(emulators, sample: Path) -> None:
    # The deadline leaves room for connecting and sending 12 bytes on a busy machine; the server then
    # holds its reply for longer than the deadline.
    emulators.start("UploadFile:delay:amount=2.5")
    result = run_xai("--timeout", "1.5", "files", "upload", str(sample))
    assert (result.code, result.stdout) == (6, "")
    assert result.stderr == (
        "xai: upload report.txt: timed out after 1.5 s (12 of 12 bytes sent) (DEADLINE_EXCEEDED); "
        "the server was too slow; raise the deadline with --timeout SECONDS; "
        "the upload may have completed: check `xai files ls` before retrying\n"
    )


def test_the_upload_deadline_covers_every_restart(emulators, tmp_path: Path, fast_retries: None) -> None:
    # Each attempt is held 0.8 s, then cut after its first chunk: the first restart fits in the
    # 1.5 s deadline, a third attempt does not. Each restart used to get a fresh deadline of its own.
    server = emulators.start("UploadFile:delay:amount=0.8,times=0", "UploadFile:abort_upload:after=1,times=0")
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(8 * transfer.CHUNK_SIZE))  # more than the transport takes unread
    started = time.monotonic()
    result = run_xai("--timeout", "1.5", "files", "upload", str(big))
    elapsed = time.monotonic() - started
    assert (result.code, result.stdout) == (6, "")
    assert result.stderr.splitlines()[-1].startswith("xai: upload big.bin: timed out after 1.5 s (")
    assert "(DEADLINE_EXCEEDED)" in result.stderr
    assert elapsed < 2.4, elapsed  # three attempts of 0.8 s each would take 2.4 s
    assert server.faults.calls("UploadFile") == 2
    assert server.storage.all_ids() == set()


def test_ctrl_c_while_stdin_stalls_exits_130_cleanly(emulators) -> None:
    # A gRPC thread is blocked reading stdin; interpreter shutdown used to abort on its lock
    # ("Fatal Python error: _enter_buffered_busy", exit 134).
    server = emulators.start()
    read_end, write_end = os.pipe()
    process = _upload_from(read_end, "slow.txt")
    try:
        os.write(write_end, b"the first line\n")  # and then nothing more, without an end
        assert server.faults.wait_for(lambda plan: plan.calls("UploadFile") >= 1)
        deadline = time.monotonic() + 10
        while _unread(read_end) and time.monotonic() < deadline:  # the line was taken: a read now waits
            time.sleep(0.01)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    finally:
        os.close(read_end)
        os.close(write_end)
        if process.poll() is None:
            process.kill()
    assert (process.returncode, out, err) == (130, b"", b"xai: interrupted; nothing uploaded\n")
    assert server.storage.all_ids() == set()


def _upload_from(stdin: int, name: str) -> subprocess.Popen[bytes]:
    """`xai files upload - --name NAME` in a subprocess reading `stdin` (a pipe or a terminal)."""
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
    return start_xai("files", "upload", "-", "--name", name, stdin=stdin, cwd=REPO_ROOT, **pipes)


def _unread(fd: int) -> int:
    """Bytes waiting in a pipe (FIONREAD)."""
    import fcntl
    import termios

    return struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"))[0]


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_one_ctrl_d_ends_input_typed_on_a_terminal(emulators) -> None:
    # A buffered read returned the typed line at the first Ctrl-D, then waited for a second one.
    server = emulators.start()
    controller, terminal = pty.openpty()
    process = _upload_from(terminal, "typed.txt")
    os.close(terminal)
    try:
        os.write(controller, b"abc\n\x04")  # a line, then Ctrl-D at the start of the next one
        out, err = process.communicate(timeout=30)
    finally:
        os.close(controller)
        if process.poll() is None:
            process.kill()
    assert (process.returncode, err) == (0, b"")
    (file_id,) = server.storage.all_ids()
    assert out == f"{file_id}\n".encode()
    assert server.storage.get(file_id).size == 4


def test_a_name_that_is_not_utf8_exits_2_without_any_rpc(emulators, tmp_path: Path) -> None:
    # Linux file names are bytes; this one decodes to a lone surrogate, which protobuf cannot send.
    server = emulators.start()
    path = Path(os.fsdecode(bytes(tmp_path) + b"/bad\xffname.txt"))
    path.write_bytes(b"x")
    message = (
        "the file name 'bad\\udcffname.txt' is not valid UTF-8; "
        "rename the file, or upload it with --name NAME"
    )
    result = run_xai("files", "upload", str(path))
    assert (result.code, result.stdout, result.stderr) == (2, "", f"xai: {message}\n")
    renamed = run_xai("files", "upload", str(path), "--name", "good.txt")
    assert renamed.code == 0, renamed
    batch = run_xai("files", "batch-upload", str(path), "--json")  # the JSONL line must stay UTF-8
    assert batch.code == 2, batch
    line = json.loads(batch.stdout_bytes.decode("utf-8"))
    assert (line["path"], line["error"]["message"]) == (str(path), message)
    assert server.faults.calls("UploadFile") == 1
