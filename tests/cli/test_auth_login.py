"""`xai auth login`: key from stdin or a hidden prompt, checked with one call, stored privately."""

from __future__ import annotations

import os
import pty
import select
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.cli import run_xai
from tests.support.constants import REPO_ROOT, TEST_KEY
from tests.support.processes import xai_command, xai_subprocess_env
from xai_files_cli.settings.config_store import ConfigStore

WRONG_KEY = "xai-wrongkeyFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"


def stored_keys() -> dict[str, str]:
    return ConfigStore(Path(os.environ["XAI_CONFIG_DIR"])).load_credentials().keys


@pytest.fixture
def at_server(server: object, monkeypatch: pytest.MonkeyPatch) -> object:
    monkeypatch.setenv("XAI_API_HOST", server.target)  # type: ignore[attr-defined]
    return server


def test_piped_key_is_checked_and_stored(at_server: object) -> None:
    result = run_xai("auth", "login", stdin=f"  {TEST_KEY}\n".encode())
    assert result.code == 0, result
    assert result.stdout == ""
    assert result.stderr.startswith(
        f"xai: logged in: profile 'default', key ****stuv (checked against {at_server.target}); "  # type: ignore[attr-defined]
    )
    assert TEST_KEY not in result.stderr
    assert stored_keys() == {"default": TEST_KEY}
    assert run_xai("auth", "token").stdout == TEST_KEY + "\n"


def test_wrong_key_is_refused_and_nothing_is_stored(at_server: object) -> None:
    result = run_xai("auth", "login", "-p", "work", stdin=WRONG_KEY.encode())
    assert result.code == 3, result
    assert result.stderr == (
        f"xai: the key was rejected by {at_server.target}; nothing was saved (UNAUTHENTICATED); "  # type: ignore[attr-defined]
        "check the key, or store it anyway with --no-verify\n"
    )
    assert not Path(os.environ["XAI_CONFIG_DIR"]).exists()


@pytest.mark.usefixtures("fast_retries")
def test_unreachable_server_exits_6_unless_no_verify(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("XAI_API_HOST", f"127.0.0.1:{port}")
    result = run_xai("auth", "login", stdin=TEST_KEY.encode())
    assert result.code == 6, result
    assert f"cannot reach 127.0.0.1:{port} to check the key; nothing was saved" in result.stderr
    assert "--no-verify" in result.stderr
    assert stored_keys() == {}

    result = run_xai("auth", "login", "--no-verify", stdin=TEST_KEY.encode())
    assert result.code == 0, result
    assert "saved without checking" in result.stderr
    assert stored_keys() == {"default": TEST_KEY}


def test_login_api_host_is_checked_there_and_stored_in_the_profile(server: object) -> None:
    target = server.target  # type: ignore[attr-defined]
    result = run_xai("auth", "login", "-p", "emu", "--api-host", target, stdin=TEST_KEY.encode())
    assert result.code == 0, result
    assert run_xai("-p", "emu", "config", "get", "api_host").stdout == f"{target}\n"
    assert run_xai("-p", "emu", "auth", "status").code == 0


def test_first_named_login_becomes_the_default_profile(at_server: object) -> None:
    assert run_xai("auth", "login", "-p", "work", stdin=TEST_KEY.encode()).code == 0
    result = run_xai("auth", "login", "-p", "home", "--no-verify", stdin=WRONG_KEY.encode())
    assert "default profile" not in result.stderr
    assert run_xai("config", "get", "profile").stdout == "work\n"


def test_global_profile_selects_where_login_stores(at_server: object) -> None:
    assert run_xai("-p", "ci", "auth", "login", stdin=TEST_KEY.encode()).code == 0
    assert stored_keys() == {"ci": TEST_KEY}


@pytest.mark.parametrize(
    ("stdin", "message"),
    [
        (b"", "no API key on stdin"),
        (b"   \n", "no API key on stdin"),
        (b"xai-abc def", "does not look like an API key"),
        ("xai-ключ".encode(), "does not look like an API key"),
        (b"xai-" + b"a" * 5000, "more than 4096 bytes"),
    ],
)
def test_bad_input_is_a_usage_error_and_never_echoed(at_server: object, stdin: bytes, message: str) -> None:
    result = run_xai("auth", "login", stdin=stdin)
    assert result.code == 2, result
    assert message in result.stderr
    if stdin.strip():
        assert stdin.decode()[4:12] not in result.stderr
    assert stored_keys() == {}


def test_local_profile_needs_no_login() -> None:
    for argv in (("auth", "login", "-p", "local"), ("--local", "auth", "login")):
        result = run_xai(*argv, stdin=TEST_KEY.encode())
        assert result.code == 2, result
        assert "embedded server and needs no key" in result.stderr


def test_env_key_takes_precedence_note(at_server: object, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XAI_API_KEY", WRONG_KEY)
    result = run_xai("auth", "login", stdin=TEST_KEY.encode())
    assert result.code == 0, result
    assert "XAI_API_KEY is set and takes precedence" in result.stderr


def test_terminal_prompt_goes_to_stderr(at_server: object) -> None:
    """On a terminal the prompt is on stderr and the key appears nowhere (injected streams)."""
    result = run_xai("auth", "login", stdin=TEST_KEY.encode() + b"\n", stdin_tty=True, stdout_tty=True)
    assert result.code == 0, result
    assert result.stderr.startswith("Paste your xAI API key (input is hidden): ")
    assert TEST_KEY not in result.stderr and result.stdout == ""


def test_no_prompt_when_prompts_are_disabled(monkeypatch: pytest.MonkeyPatch) -> None:
    from xai_files_cli.cli.app import run
    from xai_files_cli.output.io import IOStreams

    io = IOStreams.for_test(b"", stdin_tty=True, stdout_tty=True)
    io.no_input = True
    assert run(["auth", "login"], io) == 2
    assert "XAI_NO_PROMPT is set" in io.stderr_text()


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_real_terminal_does_not_echo_the_key(server: object) -> None:
    """The key prompt on a real pty: the line discipline would echo typed characters unless ECHO is off."""
    master, slave = pty.openpty()
    env = xai_subprocess_env({"XAI_API_HOST": server.target})  # type: ignore[attr-defined]
    proc = subprocess.Popen(
        xai_command("auth", "login"),
        stdin=slave,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=REPO_ROOT,
    )
    os.close(slave)
    try:
        assert proc.stderr is not None
        prompt = b""
        while not prompt.endswith(b"(input is hidden): "):
            chunk = proc.stderr.read1(1024)  # type: ignore[attr-defined]
            assert chunk, "no prompt"
            prompt += chunk
        os.write(master, TEST_KEY.encode() + b"\n")
        rest, _ = proc.communicate(timeout=60)
        echoed = b""
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline and select.select([master], [], [], 0.1)[0]:
            try:
                echoed += os.read(master, 4096)
            except OSError:
                break
    finally:
        os.close(master)
    assert proc.returncode == 0, (prompt, rest)
    assert TEST_KEY.encode() not in echoed and TEST_KEY[-8:].encode() not in echoed
    assert stored_keys() == {"default": TEST_KEY}


@pytest.mark.parametrize("typed", [b"\n", b""], ids=["enter", "ctrl-d"])
def test_nothing_typed_at_the_prompt_saves_nothing(typed: bytes) -> None:
    # It was stored as an empty key with --no-verify, and reported as "rejected by" the host without.
    for flags in (["--no-verify"], []):
        result = run_xai("auth", "login", *flags, stdin=typed, stdin_tty=True, stdout_tty=True)
        assert (result.code, result.stdout) == (2, ""), result
        assert result.stderr.endswith("xai: no API key entered; nothing was saved\n")
    assert stored_keys() == {}
