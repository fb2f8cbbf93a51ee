"""The root command: global options, usage errors, error lines, call logging, broken standard streams."""

from __future__ import annotations

import errno
import json
import os
import re
import signal
import socket
import subprocess

import pytest

from tests.support.cli import run_with_stdout, run_xai
from tests.support.constants import PYTHON, REPO_ROOT, TEST_KEY
from tests.support.emulator import seed
from tests.support.processes import xai_command, xai_subprocess_env
from xai_files_cli.cli.app import run
from xai_files_cli.cli.context import AppContext
from xai_files_cli.output.io import IOStreams


@pytest.mark.parametrize("value", ["inf", "nan", "1e10"])
def test_timeout_grpc_cannot_honour_exits_2_before_any_rpc(emulators, value: str) -> None:
    # gRPC turned these into an immediate "timed out after inf s" (exit 6).
    server = emulators.start()
    result = run_xai("--timeout", value, "files", "ls")
    assert (result.code, result.stdout) == (2, "")
    assert re.match(r"xai: Invalid value for '?--timeout'?: ", result.stderr), result
    assert server.faults.calls("ListFiles") == 0


def test_a_long_timeout_still_works(xai, server) -> None:
    file_id = seed(server, "a.txt")
    result = xai("--timeout", "31536000", "files", "ls", "--ids")
    assert (result.code, result.stdout, result.stderr) == (0, f"{file_id}\n", "")


def test_error_format_json_covers_usage_errors_found_while_parsing(xai) -> None:
    result = xai("--error-format", "json", "files", "ls", "--nope")
    assert (result.code, result.stdout) == (2, "")
    error = json.loads(result.stderr)["error"]
    # Click names the options closest to the unknown one.
    assert (error["code"], error["exit_code"]) == ("USAGE", 2)
    assert error["message"] == "No such option: --nope (Possible options: --name, --no-pager)"
    assert error["hint"] == "see 'xai files ls --help'"


def test_usage_errors_stay_one_text_line_by_default(xai) -> None:
    result = xai("files", "ls", "--nope")
    assert (result.code, result.stdout) == (2, "")
    assert result.stderr == (
        "xai: No such option: --nope (Possible options: --name, --no-pager) (see 'xai files ls --help')\n"
    )


def test_a_group_without_a_command_shows_its_help_as_is(xai) -> None:
    result = xai("files")
    assert (result.code, result.stdout) == (2, "")
    assert result.stderr.startswith("Usage: xai files [OPTIONS] COMMAND [ARGS]...\n")
    assert "(see " not in result.stderr and "xai: " not in result.stderr


def test_json_errors_escape_c1_and_bidi_characters_from_the_server(emulators) -> None:
    emulators.start("RetrieveFile:fail:code=NOT_FOUND,message=gone\u202etxt.exe\x9b31m")
    result = run_xai("--error-format", "json", "files", "get", "file_x")
    assert (result.code, result.stdout) == (4, "")
    assert "\u202e" not in result.stderr and "\x9b" not in result.stderr
    assert json.loads(result.stderr)["error"]["message"] == "get file_x: gone\u202etxt.exe\x9b31m"


def test_verbose_logs_each_call_with_its_status_and_never_the_key(xai, server) -> None:
    result = xai("-v", "files", "get", "file_nope")
    assert result.code == 4
    logged = re.escape(f"xai: INFO xai.rpc: /xai_api.Files/RetrieveFile {server.target}: NOT_FOUND in ")
    assert re.match(logged + r"\d+ ms\n", result.stderr), result
    assert TEST_KEY not in result.stderr and "authorization" not in result.stderr


def test_without_verbose_nothing_is_logged(xai, server) -> None:
    seed(server, "a.txt")
    result = xai("files", "ls", "--ids")
    assert (result.code, result.stderr) == (0, "")


def test_full_disk_on_buffered_text_output_is_one_line_exit_1(xai, server) -> None:
    seed(server, "a.txt")  # a few hundred bytes of JSON: the failure only shows when they are flushed
    result = run_with_stdout(OSError(errno.ENOSPC, "No space left on device"), "files", "ls")
    assert (result.code, result.stderr) == (1, "xai: cannot write to stdout: No space left on device\n")


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_stdout_on_a_full_device_is_one_line_exit_1(server) -> None:
    seed(server, "a.txt")
    env = xai_subprocess_env({"XAI_API_HOST": server.target, "XAI_API_KEY": TEST_KEY})
    with open("/dev/full", "wb") as full:
        done = subprocess.run(
            xai_command("files", "ls", "--ids"),
            env=env,
            cwd=REPO_ROOT,
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    assert (done.returncode, done.stderr) == (1, "xai: cannot write to stdout: No space left on device\n")


@pytest.mark.parametrize(
    ("redirect", "code", "stderr"),
    [
        (">&-", 1, "xai: cannot write to stdout: the stream is closed\n"),
        ("2>&-", 4, None),  # nowhere to say it, but the exit code still does
        ("2>/dev/full", 4, None),
    ],
)
def test_closed_standard_streams(server, redirect: str, code: int, stderr: str | None) -> None:
    if "/dev/full" in redirect and not os.path.exists("/dev/full"):
        pytest.skip("needs /dev/full")
    env = xai_subprocess_env({"XAI_API_HOST": server.target, "XAI_API_KEY": TEST_KEY})
    script = f"{PYTHON} -m xai_files_cli files get file_nope {redirect}"
    if redirect == ">&-":
        seed(server, "a.txt")
        script = f"{PYTHON} -m xai_files_cli files ls {redirect}"
    done = subprocess.run(
        ["bash", "-c", script], env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr
    if stderr is not None:
        assert done.stderr == stderr


@pytest.mark.parametrize(
    ("args", "method"),
    [
        (["files", "get", "file_\udcff"], "RetrieveFile"),
        (["files", "rm", "file_\udcff"], "DeleteFile"),
        (["chat", "hi\udcff"], "GetCompletionChunk"),
        (["chat", "hi", "-m", "grok\udcff"], "GetCompletionChunk"),
    ],
)
def test_argv_bytes_that_are_not_utf8_exit_2_before_any_rpc(emulators, args: list[str], method: str) -> None:
    # How Python decodes an argument such as $'file_\xff': protobuf cannot carry it.
    server = emulators.start()
    result = run_xai(*args)
    assert (result.code, result.stdout) == (2, ""), result
    assert result.stderr.endswith(" is not valid UTF-8 text, which is all the API accepts\n")
    assert "\\udcff" in result.stderr
    assert server.faults.calls(method) == 0


def test_a_deadline_spent_waiting_for_a_connection_blames_the_route_not_the_server(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The listener completes TCP handshakes (kernel backlog) but never speaks HTTP/2: the
    # connection is never set up, so "the server was too slow" would send the user the wrong way.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        target = "{}:{}".format(*silent.getsockname())
        monkeypatch.setenv("XAI_API_HOST", target)
        monkeypatch.setenv("XAI_API_KEY", TEST_KEY)
        result = run_xai("--timeout", "1", "files", "ls")
    assert (result.code, result.stdout) == (6, "")
    assert result.stderr.startswith("xai: list files: timed out after 1 s (DEADLINE_EXCEEDED); ")
    assert f"{target} accepted no connection in that time: check the host and port" in result.stderr
    assert "too slow" not in result.stderr
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize("verbose", [[], ["-v"]])
def test_grpc_trace_is_warned_about_with_or_without_verbose(
    xai, server, monkeypatch: pytest.MonkeyPatch, verbose: list[str]
) -> None:
    monkeypatch.setenv("GRPC_TRACE", "http")
    result = xai(*verbose, "files", "ls", "--ids")
    assert result.code == 0
    warning = "xai: warning: GRPC_TRACE is set; gRPC may log request headers, API key included\n"
    assert warning in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--local", "--api-host", "127.0.0.1:1"], "xai: --api-host cannot be used with --local"),
        (["-p", "local", "--ca-cert", "ca.pem"], "xai: --ca-cert cannot be used with the local profile"),
    ],
)
def test_a_host_flag_with_the_embedded_server_exits_2(emulators, args: list[str], message: str) -> None:
    result = run_xai(*args, "files", "ls")
    assert (result.code, result.stdout) == (2, "")
    assert result.stderr.startswith(message)


@pytest.mark.parametrize("local", [False, True])
def test_ctrl_c_while_closing_is_held_until_the_close_is_done_then_exits_130(
    emulators, tmp_path, monkeypatch: pytest.MonkeyPatch, local: bool
) -> None:
    # Ctrl-C landing while the channel (and, with --local, the embedded server) closes used to
    # interrupt the close half-way and escape as a traceback.
    if not local:
        emulators.start()
    monkeypatch.setenv("XAI_DATA_DIR", str(tmp_path / "data"))
    streams = IOStreams.for_test(b"")
    ctx = AppContext(io=streams)
    closing = ctx.close
    finished: list[bool] = []

    def close_under_ctrl_c() -> None:
        os.kill(os.getpid(), signal.SIGINT)  # its handler runs at the next bytecode, inside the close
        closing()
        finished.append(True)

    ctx.close = close_under_ctrl_c  # type: ignore[method-assign]
    try:
        code = run([*(["--local"] if local else []), "files", "ls", "--ids"], streams, ctx)
    except KeyboardInterrupt:
        pytest.fail("the Ctrl-C escaped from the close")
    assert (code, finished) == (130, [True])
    assert streams.stderr_text() == "xai: interrupted\n"
