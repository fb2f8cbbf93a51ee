"""Messages on stderr pass through one surface (prefix, escaping) and prompts through one prompter:
a prompt interrupted by Ctrl-C ends its line before "xai: interrupted"."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import InterruptedInput, run_with_stdin, run_xai


def test_ctrl_c_at_the_hidden_key_prompt_ends_the_prompt_line() -> None:
    result = run_with_stdin(InterruptedInput(), "auth", "login", stdin_tty=True, stdout_tty=True)
    assert result.code == 130, result
    assert result.stderr == "Paste your xAI API key (input is hidden): \nxai: interrupted\n"


def test_a_message_naming_a_path_escapes_its_control_characters(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hostile = tmp_path / "dir\x1b[2Jnamed"
    monkeypatch.setenv("BASH_COMPLETION_USER_DIR", str(hostile))
    result = run_xai("completion", "install", "bash")
    assert result.code == 0, result
    first_line = result.stderr.splitlines()[0]
    assert first_line == f"xai: wrote bash completion to {tmp_path}/dir\\x1b[2Jnamed/completions/xai"
    assert (hostile / "completions" / "xai").is_file()
