"""`xai models`: the language models, as a table on a terminal and JSON when piped."""

from __future__ import annotations

import json

from tests.support.cli import run_xai
from tests.support.emulator import ChatServer


def test_piped_models_are_a_json_array(chat_server) -> None:
    chat_server()
    result = run_xai("models")
    assert result.code == 0, result
    assert json.loads(result.stdout) == [
        {
            "name": "xai-local-retrieval",
            "aliases": ["grok-4", "grok-4-latest"],
            "version": "1.0.0",
            "input_modalities": ["text"],
            "output_modalities": ["text"],
            "prompt_usd_per_million": 0.2,
            "cached_prompt_usd_per_million": 0.05,
            "completion_usd_per_million": 1.0,
            "max_prompt_length": 10_000_000,
            "created": "2026-01-01T00:00:00Z",
            "system_fingerprint": "xai-local-retrieval-v1",
        }
    ]
    assert result.stderr == ""


def test_terminal_gets_a_table(chat_server) -> None:
    chat_server()
    result = run_xai("models", stdout_tty=True)
    assert result.code == 0, result
    header, row = result.stdout.rstrip("\n").split("\n")
    assert header.split() == ["MODEL", "ALIASES", "CONTEXT", "IN", "$/1M", "OUT", "$/1M"]
    assert row.split() == ["xai-local-retrieval", "grok-4,", "grok-4-latest", "10,000,000", "0.2", "1"]


def test_json_flag_forces_json_on_a_terminal(chat_server) -> None:
    chat_server()
    result = run_xai("models", "--json", stdout_tty=True)
    assert result.code == 0, result
    assert [m["name"] for m in json.loads(result.stdout)] == ["xai-local-retrieval"]


def test_models_failure_keeps_its_exit_code(chat_server) -> None:
    srv: ChatServer = chat_server("ListLanguageModels:fail:code=PERMISSION_DENIED")
    result = run_xai("models")
    assert result.code == 3, result
    assert result.stderr.startswith("xai: list models: injected fault (PERMISSION_DENIED)")
    assert srv.calls("ListLanguageModels") == 1


def test_local_models_need_no_account() -> None:
    result = run_xai("--local", "models")
    assert result.code == 0, result
    assert json.loads(result.stdout)[0]["system_fingerprint"] == "xai-local-retrieval-v1"
