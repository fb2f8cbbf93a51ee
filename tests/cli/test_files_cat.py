"""`xai files cat`: bytes to a pipe, refusal on a terminal, atomic -o, --text, download faults."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import PYTHON, REPO_ROOT, TEST_KEY, run_xai, xai_subprocess_env
from tests.core.helpers import seed

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
def test_bad_destination_exits_2_before_any_rpc(faulty, outdir: Path, where: str, message: str) -> None:
    server = faulty.start()
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


def test_stream_cut_every_time_keeps_the_old_file(faulty, outdir: Path) -> None:
    server = faulty.start("RetrieveFileContent:fail_stream:after=1,times=0")
    file_id = seed(server, "blob.bin", os.urandom(4 * 1024 * 1024))
    dest = outdir / "copy.bin"
    dest.write_bytes(b"precious")
    result = run_xai("files", "cat", file_id, "-o", str(dest))
    assert (result.code, result.stdout) == (6, "")
    expected = "server unavailable: injected fault; gave up after 3 attempts (UNAVAILABLE)"
    assert result.stderr == f"xai: download {file_id}: {expected}\n"
    assert dest.read_bytes() == b"precious"  # NP
    assert [p.name for p in outdir.iterdir()] == ["copy.bin"]  # NT
    assert server.faults.calls("RetrieveFileContent") == 3


def test_stream_cut_once_is_restarted(faulty, outdir: Path) -> None:
    server = faulty.start("RetrieveFileContent:fail_stream:after=1")
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
def test_wrong_sizes_exit_1_without_touching_the_destination(faulty, outdir: Path, fault, message) -> None:
    server = faulty.start(f"RetrieveFileContent:{fault}")
    file_id = seed(server, "blob.bin", PAYLOAD)
    dest = outdir / "copy.bin"
    dest.write_bytes(b"precious")
    result = run_xai("files", "cat", file_id, "-o", str(dest))
    assert (result.code, result.stdout) == (1, "")
    assert result.stderr == f"xai: download {file_id}: {message}\n"
    assert dest.read_bytes() == b"precious"
    assert [p.name for p in outdir.iterdir()] == ["copy.bin"]


def test_closed_pipe_while_streaming_exits_0(server) -> None:
    file_id = seed(server, "big.bin", os.urandom(2 * 1024 * 1024))
    env = xai_subprocess_env({"XAI_API_HOST": server.target, "XAI_API_KEY": TEST_KEY})
    script = f"set -o pipefail; {PYTHON} -m xai_files_cli files cat {file_id} | head -c 10 | wc -c"
    done = subprocess.run(
        ["bash", "-c", script], env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=60
    )
    assert (done.returncode, done.stdout.strip(), done.stderr) == (0, "10", "")
