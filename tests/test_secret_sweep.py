"""The no-leak sweep: every registered command, with a sentinel API key, never shows it.

The command tree is walked at run time, so a command added later is swept without editing this
file. Each command runs with plausible arguments, at `-v` and `-vv`, with the sentinel in
XAI_API_KEY or in the credentials file, against a server that accepts it, one that rejects it,
and no server at all. The sentinel must not appear in stdout (except `auth token`, whose job is
to print it), stderr with its log lines, anything written to the process's file descriptors 1
and 2, or any file left on disk other than the credentials file.

A second sweep runs every command with no key anywhere: each networked command exits 3 with a
hint naming `xai auth login`, `XAI_API_KEY` and `--local`, and nothing connects to the API host.
"""

from __future__ import annotations

import os
import secrets
import socket
import string
import traceback
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer

from tests.support.cli import CliResult, run_xai
from tests.support.constants import TEST_KEY
from tests.support.emulator import Emulators
from xai_files_cli.cli.app import app
from xai_files_cli.emulator.server import RunningServer
from xai_files_cli.settings.config_store import ConfigStore

SENTINEL = "xai-" + "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(40))
FAKE_ID = "file_00000000-0000-4000-8000-000000000000"

# Commands that run until stopped; they are exercised by their own tests.
LONG_RUNNING = {("serve",)}
# Commands that need no server: they must still never contact one.
OFFLINE = {"auth", "config", "completion", "conversations"}  # conversations: the local log
# Commands that change what later commands see run last.
LAST = {"rm", "logout", "delete", "use"}


def leaf_commands() -> list[tuple[tuple[str, ...], object]]:
    """Every runnable command of the real app, as (path, click command), in a stable order."""
    found: list[tuple[tuple[str, ...], object]] = []

    def walk(command: object, path: tuple[str, ...]) -> None:
        subcommands = getattr(command, "commands", None)
        if subcommands:
            for name, sub in subcommands.items():
                walk(sub, (*path, name))
        elif path not in LONG_RUNNING:
            found.append((path, command))

    walk(typer.main.get_command(app), ())
    return sorted(found, key=lambda item: item[0][-1] in LAST)


def plausible_args(path: tuple[str, ...], command: object, sample: Path, file_id: str) -> list[str]:
    """Arguments that get each command past local validation, chosen by parameter name."""
    by_name = {
        "path": [str(sample)],
        "paths": [str(sample)],
        "file_id": [file_id],
        "file_ids": [file_id],
        "key": ["model"],
        "value": ["grok-sweep"],
        "profile": ["default"],
        "shell": ["bash"],
        "prompt": ["hello"],
    }
    args: list[str] = []
    for param in command.params:  # type: ignore[attr-defined]
        if param.param_type_name == "argument":
            if param.name in by_name:
                args += by_name[param.name]
            elif param.required:
                args.append("x")
        elif param.required:
            args += [param.opts[0], by_name.get(param.name, ["x"])[0]]
    return args


COMMANDS = leaf_commands()
pytestmark = pytest.mark.usefixtures("fast_retries")  # a dead server is retried in milliseconds


@pytest.fixture
def sweep_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private HOME and working directory, so downloads and completion installs land in tmp."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "conf"))
    monkeypatch.setenv("SHELL", "/bin/bash")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    (work / "sample.txt").write_text("hello sweep\n")
    return work / "sample.txt"


@pytest.fixture
def sentinel_server(emulators: Emulators) -> RunningServer:
    """An emulator whose one valid key is the sentinel."""
    return emulators.start(point_cli=False, api_key=SENTINEL, faults=None)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_guarded(*args: str, stdin: bytes = b"") -> tuple[CliResult | None, str]:
    """Run the CLI; an exception escaping `run` is returned as its traceback text."""
    try:
        return run_xai(*args, stdin=stdin), ""
    except (Exception, SystemExit):  # the sweep reports any escape instead of stopping
        return None, traceback.format_exc()


def leaks_in_files(root: Path, allowed: set[Path]) -> list[str]:
    found = []
    for path in root.rglob("*"):
        if path.is_file() and path not in allowed:
            try:
                if SENTINEL.encode() in path.read_bytes():
                    found.append(str(path))
            except OSError:
                pass
    return found


@pytest.mark.parametrize("key_in", ["env", "credentials"])
@pytest.mark.parametrize("server_state", ["accepts", "rejects", "down"])
def test_sentinel_key_never_leaks(
    key_in: str,
    server_state: str,
    sweep_env: Path,
    server: object,
    sentinel_server: object,
    isolation: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    target = {
        "accepts": sentinel_server.target,  # type: ignore[attr-defined]
        "rejects": server.target,  # type: ignore[attr-defined]
        "down": f"127.0.0.1:{closed_port()}",
    }[server_state]
    monkeypatch.setenv("XAI_API_HOST", target)
    store = ConfigStore(Path(os.environ["XAI_CONFIG_DIR"]))

    def install_key() -> None:
        if key_in == "env":
            monkeypatch.setenv("XAI_API_KEY", SENTINEL)
        else:
            with store.transaction() as (_, credentials):
                credentials.keys["default"] = SENTINEL

    install_key()
    file_id = FAKE_ID
    if server_state == "accepts":
        uploaded = run_xai("files", "upload", str(sweep_env))
        assert uploaded.code == 0, uploaded
        file_id = uploaded.stdout.strip()

    problems: list[str] = []
    ran = 0
    for verbosity in (["-v"], ["-vv", "--error-format", "json"]):
        # With no server, each call retries for ~1.5 s; one full pass keeps the retry messages
        # covered, the other passes use a short deadline to keep the suite fast.
        if server_state == "down" and not (key_in == "env" and verbosity == ["-v"]):
            verbosity = [*verbosity, "--timeout", "0.5"]
        for path, command in COMMANDS:
            argv = [*verbosity, *path, *plausible_args(path, command, sweep_env, file_id)]
            result, escaped = run_guarded(*argv, stdin=SENTINEL.encode() + b"\n")
            ran += 1
            label = " ".join(argv)
            if escaped:
                problems.append(f"{label}: exception escaped run(){' WITH THE KEY' * (SENTINEL in escaped)}")
                continue
            assert result is not None
            if SENTINEL in result.stderr:
                problems.append(f"{label}: key on stderr")
            if SENTINEL in result.stdout and path != ("auth", "token"):
                problems.append(f"{label}: key on stdout")
            if path == ("auth", "token") and result.code == 0:
                assert result.stdout == SENTINEL + "\n"
            install_key()  # logout/delete may have removed it

    outside = capfd.readouterr()
    if SENTINEL in outside.out + outside.err:
        problems.append("key written straight to file descriptor 1 or 2")
    allowed = {store.credentials_path}
    problems += [f"key in file {p}" for p in leaks_in_files(isolation, allowed)]
    problems += [f"key in file {p}" for p in leaks_in_files(tmp_path, allowed)]
    assert ran >= 2 * 20, ran  # the tree really was walked
    assert not problems, "\n".join(problems)


def test_auth_status_shows_only_the_masked_key(
    sentinel_server: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XAI_API_HOST", sentinel_server.target)  # type: ignore[attr-defined]
    login = run_xai("-vv", "auth", "login", stdin=SENTINEL.encode())
    assert login.code == 0, login
    for tty in (False, True):
        result = run_xai("-vv", "auth", "status", stdout_tty=tty)
        assert result.code == 0, result
        assert SENTINEL not in result.stdout + result.stderr
        assert f"****{SENTINEL[-4:]}" in result.stdout
        assert SENTINEL[4:-4] not in result.stdout + result.stderr


def test_wrong_key_error_does_not_echo_it(server: object, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XAI_API_HOST", server.target)  # type: ignore[attr-defined]
    monkeypatch.setenv("XAI_API_KEY", SENTINEL)
    result = run_xai("-vv", "files", "ls")
    assert result.code == 3, result
    assert "UNAUTHENTICATED" in result.stderr
    assert SENTINEL not in result.stderr and SENTINEL[4:-4] not in result.stderr


# -- no key anywhere: exit 3, no network --------------------------------------------------------
@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """Stands in for the API host; any connection attempt lands in its accept queue."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        sock.setblocking(False)
        yield sock


def test_without_a_key_networked_commands_exit_3_and_touch_no_network(
    sweep_env: Path, listener: socket.socket, monkeypatch: pytest.MonkeyPatch
) -> None:
    host, port = listener.getsockname()
    monkeypatch.setenv("XAI_API_HOST", f"{host}:{port}")
    problems: list[str] = []
    networked = 0
    for path, command in COMMANDS:
        argv = [*path, *plausible_args(path, command, sweep_env, FAKE_ID)]
        result, escaped = run_guarded(*argv)
        if escaped:
            problems.append(f"{' '.join(argv)}: exception escaped run()\n{escaped}")
            continue
        assert result is not None
        if path[0] in OFFLINE:
            continue
        networked += 1
        hint = ("xai auth login", "XAI_API_KEY", "--local")
        if result.code != 3 or not all(word in result.stderr for word in hint):
            problems.append(f"{' '.join(argv)}: exit {result.code}, stderr {result.stderr!r}")
    try:
        connection, _ = listener.accept()
        connection.close()
        problems.append("something connected to the API host")
    except BlockingIOError:
        pass
    assert networked >= 5, networked
    assert not problems, "\n".join(problems)


def test_sentinel_matches_the_leak_rule() -> None:
    """The sentinel has the shape of a real key, and is not the test suite's usual key."""
    assert SENTINEL.startswith("xai-") and len(SENTINEL) == 44 and SENTINEL != TEST_KEY


# -- spans: attributes and what the exporter writes ----------------------------------------------
def test_spans_never_carry_the_key(
    sweep_env: Path,
    sentinel_server: RunningServer,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """Every command once more, traced to the console exporter (stderr), with the key also in a
    file's name, a file id asked for and a prompt: no span attribute and no exported text has it."""
    from xai_files_cli.core import tracing

    monkeypatch.setenv("XAI_API_HOST", sentinel_server.target)
    monkeypatch.setenv("XAI_API_KEY", SENTINEL)
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "console")
    tracing.reset()
    try:
        named = sweep_env.with_name(f"{SENTINEL}.txt")
        named.write_text("named after the key\n")
        uploaded = run_xai("files", "upload", str(named))
        assert uploaded.code == 0, uploaded
        file_id = uploaded.stdout.strip()
        extra = [["files", "get", SENTINEL], ["chat", "-f", file_id, f"is {SENTINEL} my key?"]]
        runs = [[*path, *plausible_args(path, command, sweep_env, file_id)] for path, command in COMMANDS]
        for argv in [*extra, *runs]:
            _, escaped = run_guarded("-vv", *argv, stdin=SENTINEL.encode() + b"\n")
            assert not escaped, escaped
    finally:
        monkeypatch.delenv("OTEL_TRACES_EXPORTER")
        tracing.reset()
    exported = capfd.readouterr()
    assert exported.err.count('"rpc.method"') >= 10  # spans really were written
    assert '"file.name": "****' in exported.err  # the key in a name is masked
    assert SENTINEL not in exported.err + exported.out
    assert SENTINEL[4:-4] not in exported.err + exported.out
