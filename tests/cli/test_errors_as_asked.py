"""Every error as asked: parse errors in JSON when JSON was asked for, each message naming what the
user typed (`cat`, `--allow-remote`) and where an unreachable host came from, FORCE_COLOR=0 honoured."""

from __future__ import annotations

import json

import pytest

from tests.support.cli import run_xai
from tests.support.constants import TEST_KEY
from tests.support.processes import run_python, unused_port, xai_subprocess_env
from xai_files_cli.cli.reporting import host_origin
from xai_files_cli.output.io import decide_color


def _json_error(stderr: str) -> dict[str, object]:
    error: dict[str, object] = json.loads(stderr)["error"]
    return error


@pytest.mark.parametrize(
    ("args", "message", "hint"),
    [
        (["--error-format", "json", "nosuchcmd"], "No such command 'nosuchcmd'.", "see 'xai --help'"),
        (["--error-format=json", "nosuchcmd"], "No such command 'nosuchcmd'.", "see 'xai --help'"),
        (
            ["--error-format", "json", "--timeout", "abc", "files", "ls"],
            "Invalid value for '--timeout': 'abc' is not a valid seconds.",
            "see 'xai --help'",
        ),
        (
            ["files", "ls", "--json", "--limit", "abc"],
            "Invalid value for '--limit' / '-l': 'abc' is not a valid int range.",
            "see 'xai files ls --help'",
        ),
    ],
)
def test_parse_errors_are_json_when_json_was_asked_for(args: list[str], message: str, hint: str) -> None:
    result = run_xai(*args)
    assert (result.code, result.stdout) == (2, ""), result
    assert result.stderr.count("\n") == 1
    error = _json_error(result.stderr)
    assert (error["code"], error["exit_code"], error["message"], error["hint"]) == ("USAGE", 2, message, hint)


def test_an_unknown_command_stays_one_text_line_by_default() -> None:
    result = run_xai("nosuchcmd")
    assert (result.code, result.stderr) == (2, "xai: No such command 'nosuchcmd'. (see 'xai --help')\n")


def test_cat_of_a_missing_file_names_the_download(xai) -> None:
    result = xai("files", "cat", "file_nope", "-o", "-")
    assert result.code == 4, result
    assert result.stderr.startswith("xai: download file_nope: ")
    assert "get file_nope" not in result.stderr


def test_serve_refusing_a_remote_address_names_the_flag_that_allows_it() -> None:
    result = run_xai("serve", "--host", "0.0.0.0", "--port", "0", "--api-key", "k")
    assert result.code == 2, result
    refusal = "xai: refusing to bind non-loopback address '0.0.0.0' without --allow-remote"
    assert result.stderr.startswith(refusal)
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize("source", ["flag", "env", "profile"])
def test_an_unreachable_host_says_where_it_came_from(
    fast_retries: None, monkeypatch: pytest.MonkeyPatch, source: str
) -> None:
    host = f"127.0.0.1:{unused_port()}"
    monkeypatch.setenv("XAI_API_KEY", TEST_KEY)
    args = ["files", "ls"]
    if source == "flag":
        args = ["--api-host", host, *args]
        origin = "flag --api-host"
    elif source == "env":
        monkeypatch.setenv("XAI_API_HOST", host)
        origin = "env XAI_API_HOST"
    else:
        assert run_xai("config", "set", "-p", "work", "api_host", host).code == 0
        args = ["-p", "work", *args]
        origin = "profile work"
    text = run_xai(*args)
    assert text.code == 6, text
    assert text.stderr.endswith(f"(UNAVAILABLE); the API host {host} comes from {origin}\n"), text
    as_json = run_xai("--error-format", "json", *args)
    assert _json_error(as_json.stderr)["hint"] == f"the API host {host} comes from {origin}"


def test_the_default_host_is_named_as_the_default() -> None:
    assert host_origin("default", "api.x.ai:443") == (
        "api.x.ai:443 is the default API host; set another with --api-host, XAI_API_HOST or a profile"
    )


@pytest.mark.parametrize(
    ("env", "tty", "expected"),
    [
        ({"FORCE_COLOR": "0"}, True, False),
        ({"FORCE_COLOR": "false"}, True, False),
        ({"FORCE_COLOR": "1"}, False, True),
        ({"FORCE_COLOR": ""}, True, True),
        ({}, True, True),
        ({}, False, False),
        ({"CLICOLOR_FORCE": "1", "FORCE_COLOR": "0"}, True, False),
    ],
)
def test_force_color_zero_turns_colour_off(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], tty: bool, expected: bool
) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("TERM", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert decide_color("auto", tty) is expected
    assert decide_color("always", tty) is True  # the flag still wins


def test_help_and_errors_stay_plain_text_in_ci() -> None:
    """GITHUB_ACTIONS / FORCE_COLOR must not turn help or error output into terminal drawing."""
    env = xai_subprocess_env({"GITHUB_ACTIONS": "true", "FORCE_COLOR": "1", "PY_COLORS": "1"})
    env.pop("NO_COLOR", None)
    for args in (["files", "ls", "--help"], ["completion", "--help"], ["files", "ls", "--nope"]):
        result = run_python("-m", "xai_files_cli", *args, env=env)
        out = result.stdout + result.stderr
        assert "\x1b" not in out and not set(out) & set("─│╭╮╰╯"), out
