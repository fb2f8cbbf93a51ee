"""`xai files cat`: bytes to a pipe, refusal on a terminal, atomic -o, --text, download faults."""

from __future__ import annotations

import errno
import os
import signal
import socket
import stat
import subprocess
from pathlib import Path
from subprocess import PIPE

import pytest

from tests.support.cli import run_with_stdout, run_xai
from tests.support.constants import PYTHON, REPO_ROOT, TEST_KEY
from tests.support.emulator import seed
from tests.support.processes import start_xai, xai_subprocess_env
from xai_files_cli.emulator.server import RunningServer

PAYLOAD = bytes(range(256)) * 40  # binary, 10,240 bytes


@pytest.fixture
def outdir(tmp_path: Path) -> Path:
    directory = tmp_path / "out"
    directory.mkdir()
    return directory


def test_piped_stdout_gets_the_exact_bytes(xai, server) -> None:
    file_id = seed(server, "blob.bin", PAYLOAD)
    result = xai("files", "cat", file_id)
    assert (result.code, result.stdout_bytes, result.stderr) == (0, PAYLOAD, "")


def test_terminal_stdout_is_refused(xai, server) -> None:
    file_id = seed(server, "blob.bin", PAYLOAD)
    result = xai("files", "cat", file_id, stdout_tty=True)
    assert (result.code, result.stdout) == (2, "")
    assert result.stderr == (
        "xai: refusing to write file content to a terminal; use -o PATH, -o - to force, or pipe it\n"
    )


def test_dash_o_dash_forces_stdout(xai, server) -> None:
    file_id = seed(server, "blob.bin", PAYLOAD)
    result = xai("files", "cat", file_id, "-o", "-", stdout_tty=True)
    assert (result.code, result.stdout_bytes, result.stderr) == (0, PAYLOAD, "")


def test_output_path_is_written_atomically(xai, server, outdir: Path) -> None:
    file_id = seed(server, "blob.bin", PAYLOAD)
    dest = outdir / "copy.bin"
    dest.write_bytes(b"previous")
    result = xai("files", "cat", file_id, "-o", str(dest))
    assert (result.code, result.stdout, result.stderr) == (0, "", "")
    assert dest.read_bytes() == PAYLOAD
    assert [p.name for p in outdir.iterdir()] == ["copy.bin"]


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o755])
def test_a_replaced_file_keeps_its_permissions(xai, server, outdir: Path, mode: int) -> None:
    file_id = seed(server, "blob.bin", PAYLOAD)
    private = outdir / "private.bin"
    private.write_bytes(b"old")
    private.chmod(mode)
    assert xai("files", "cat", file_id, "-o", str(private)).code == 0
    assert (private.read_bytes(), stat.S_IMODE(private.stat().st_mode)) == (PAYLOAD, mode)


def test_a_new_file_gets_the_umask_default(xai, server, outdir: Path) -> None:
    file_id = seed(server, "blob.bin", PAYLOAD)
    previous = os.umask(0o027)
    try:
        assert xai("files", "cat", file_id, "-o", str(outdir / "new.bin")).code == 0
    finally:
        os.umask(previous)
    assert stat.S_IMODE((outdir / "new.bin").stat().st_mode) == 0o640


def test_output_path_reports_on_a_tty_stderr(xai, server, outdir: Path) -> None:
    file_id = seed(server, "blob.bin", PAYLOAD)
    dest = outdir / "copy.bin"
    result = xai("files", "cat", file_id, "-o", str(dest), stderr_tty=True)
    assert (result.code, result.stdout) == (0, "")
    assert result.stderr.endswith(f"Wrote 10 kB to {dest}\n")


def test_text_goes_to_a_terminal_with_controls_escaped(xai, server) -> None:
    file_id = seed(server, "notes.txt", b"line one\nbell\x07 and \x1b[2J clear\n")
    result = xai("files", "cat", file_id, "--text", stdout_tty=True)
    assert (result.code, result.stderr) == (0, "")
    assert result.stdout == "line one\nbell\\x07 and \\x1b[2J clear\n"


def test_text_piped_is_raw(xai, server) -> None:
    file_id = seed(server, "notes.txt", b"plain text\n")
    result = xai("files", "cat", file_id, "--text")
    assert (result.code, result.stdout, result.stderr) == (0, "plain text\n", "")


@pytest.mark.parametrize(("where", "message"), [("DIR", "is a directory"), ("NOPE/x", "no such directory")])
def test_bad_destination_exits_2_before_any_rpc(emulators, outdir: Path, where: str, message: str) -> None:
    server = emulators.start()
    dest = outdir if where == "DIR" else outdir / "nope" / "x"
    result = run_xai("files", "cat", "file_x", "-o", str(dest))
    assert (result.code, result.stdout) == (2, "")
    assert result.stderr.startswith(f"xai: cannot write {dest}: {message}")
    assert server.faults.calls("RetrieveFile") == 0


def test_unknown_id_exits_4_and_creates_nothing(xai, outdir: Path) -> None:
    result = xai("files", "cat", "file_nope", "-o", str(outdir / "x"))
    assert (result.code, result.stdout) == (4, "")
    assert result.stderr.endswith("(NOT_FOUND)\n")
    assert list(outdir.iterdir()) == []


def test_stream_cut_every_time_keeps_the_old_file(emulators, outdir: Path) -> None:
    server = emulators.start("RetrieveFileContent:fail_stream:after=1,times=0")
    file_id = seed(server, "blob.bin", os.urandom(4 * 1024 * 1024))
    dest = outdir / "copy.bin"
    dest.write_bytes(b"precious")
    result = run_xai("files", "cat", file_id, "-o", str(dest))
    assert (result.code, result.stdout) == (6, "")
    expected = (
        "server unavailable: injected fault; gave up after 3 attempts; "
        "3,145,728 of 4,194,304 bytes received (UNAVAILABLE)"
    )
    assert result.stderr == f"xai: download {file_id}: {expected}\n"
    assert dest.read_bytes() == b"precious"  # the old file, untouched
    assert [p.name for p in outdir.iterdir()] == ["copy.bin"]  # no temp file left
    assert server.faults.calls("RetrieveFileContent") == 3


def test_stream_cut_once_is_restarted(emulators, outdir: Path) -> None:
    server = emulators.start("RetrieveFileContent:fail_stream:after=1")
    payload = os.urandom(4 * 1024 * 1024)
    file_id = seed(server, "blob.bin", payload)
    dest = outdir / "copy.bin"
    result = run_xai("files", "cat", file_id, "-o", str(dest))
    assert (result.code, result.stdout, result.stderr) == (0, "", "")
    assert dest.read_bytes() == payload


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("truncate:amount=7", "incomplete download: got 7 of 10,240 bytes"),
        ("pad:amount=3", "size mismatch: the server sent more than the 10,240 bytes of the file"),
    ],
)
def test_wrong_sizes_exit_1_without_touching_the_destination(emulators, outdir: Path, fault, message) -> None:
    server = emulators.start(f"RetrieveFileContent:{fault}")
    file_id = seed(server, "blob.bin", PAYLOAD)
    dest = outdir / "copy.bin"
    dest.write_bytes(b"precious")
    result = run_xai("files", "cat", file_id, "-o", str(dest))
    assert (result.code, result.stdout) == (1, "")
    assert result.stderr == f"xai: download {file_id}: {message}\n"
    assert dest.read_bytes() == b"precious"
    assert [p.name for p in outdir.iterdir()] == ["copy.bin"]


def _cat_into_head(server: RunningServer, payload: bytes) -> subprocess.CompletedProcess[str]:
    """`xai files cat ID | head -c 10 | wc -c` in bash with pipefail, for a file holding `payload`."""
    file_id = seed(server, "big.bin", payload)
    env = xai_subprocess_env({"XAI_API_HOST": server.target, "XAI_API_KEY": TEST_KEY})
    script = f"set -o pipefail; {PYTHON} -m xai_files_cli files cat {file_id} | head -c 10 | wc -c"
    return subprocess.run(
        ["bash", "-c", script], env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=60
    )


def test_closed_pipe_while_streaming_exits_0(server) -> None:
    done = _cat_into_head(server, os.urandom(2 * 1024 * 1024))
    assert (done.returncode, done.stdout.strip(), done.stderr) == (0, "10", "")


def test_closed_pipe_after_several_chunks_exits_0(server) -> None:
    # Typer turns an EPIPE met inside a command into exit 1; the reader leaving is not an error.
    done = _cat_into_head(server, os.urandom(7 * 1024 * 1024))  # three 3 MiB messages
    assert (done.returncode, done.stdout.strip(), done.stderr) == (0, "10", "")


def test_ctrl_c_while_nobody_reads_stdout_exits_130_at_once(server) -> None:
    # The content is written in the main thread (received in another), so Ctrl-C interrupts a write
    # blocked on a full pipe; a write on a helper thread could keep the process alive forever.
    file_id = seed(server, "big.bin", os.urandom(8 * 1024 * 1024))
    env = xai_subprocess_env({"XAI_API_HOST": server.target, "XAI_API_KEY": TEST_KEY})
    catting = start_xai("files", "cat", file_id, env=env, cwd=REPO_ROOT, stdout=PIPE, stderr=PIPE)
    try:
        assert catting.stdout is not None and catting.stderr is not None
        assert catting.stdout.read(1)  # the content is flowing; nothing reads on, so the pipe fills
        catting.send_signal(signal.SIGINT)
        assert catting.wait(timeout=10) == 130
        assert catting.stderr.read() == b"xai: interrupted\n"
    finally:
        catting.kill()
        catting.communicate()


def test_closed_pipe_in_process_exits_0(xai, server) -> None:
    file_id = seed(server, "blob.bin", PAYLOAD)
    result = run_with_stdout(BrokenPipeError(errno.EPIPE, "Broken pipe"), "files", "cat", file_id)
    assert (result.code, result.stderr) == (0, "")


def test_full_disk_on_stdout_is_one_line_exit_1(xai, server) -> None:
    file_id = seed(server, "blob.bin", PAYLOAD)
    result = run_with_stdout(OSError(errno.ENOSPC, "No space left on device"), "files", "cat", file_id)
    assert (result.code, result.stderr) == (1, "xai: cannot write to stdout: No space left on device\n")


def test_dash_o_dash_on_a_terminal_draws_no_progress_bar(xai, server) -> None:
    # The bar would go to the very terminal the content is written to, and garble both.
    file_id = seed(server, "blob.bin", PAYLOAD)
    result = xai("files", "cat", file_id, "-o", "-", stdout_tty=True, stderr_tty=True)
    assert (result.code, result.stdout_bytes, result.stderr) == (0, PAYLOAD, "")


def test_output_to_a_fifo_writes_into_it_and_keeps_it(xai, server, outdir: Path) -> None:
    # `-o /dev/stdout`, `-o >(cmd)`: renaming over the node would destroy it (as root, even /dev/null).
    file_id = seed(server, "blob.bin", PAYLOAD)
    fifo = outdir / "pipe"
    os.mkfifo(fifo)
    reader = os.open(
        fifo, os.O_RDONLY | os.O_NONBLOCK
    )  # a reader is there, so opening it to write won't block
    try:
        result = xai("files", "cat", file_id, "-o", str(fifo))
        assert (result.code, result.stdout, result.stderr) == (0, "", "")
        received = os.read(reader, 2 * len(PAYLOAD))
    finally:
        os.close(reader)
    assert received == PAYLOAD
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert [p.name for p in outdir.iterdir()] == ["pipe"]


def test_output_through_a_symlink_to_a_character_device_writes_into_it(xai, server, outdir: Path) -> None:
    file_id = seed(server, "blob.bin", PAYLOAD)
    link = outdir / "sink"
    link.symlink_to(os.devnull)  # like /dev/stdout -> /proc/self/fd/1
    result = xai("files", "cat", file_id, "-o", str(link))
    assert (result.code, result.stdout, result.stderr) == (0, "", "")
    assert os.readlink(link) == os.devnull
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)


def test_output_onto_a_socket_is_refused_before_any_rpc(emulators, tmp_path: Path) -> None:
    server = emulators.start()
    path = tmp_path / "s.sock"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(path))
        result = run_xai("files", "cat", "file_x", "-o", str(path))
    assert (result.code, result.stdout) == (2, "")
    assert result.stderr == f"xai: cannot write {path}: not a regular file (device, socket or FIFO)\n"
    assert stat.S_ISSOCK(os.lstat(path).st_mode)
    assert server.faults.calls("RetrieveFile") == 0
