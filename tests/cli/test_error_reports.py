"""One JSON error object everywhere: on stderr, in a failed batch line and in a cut-off chat answer,
with secrets masked in each; `--json` makes a command's errors JSON."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.support.cli import run_xai
from tests.support.constants import TEST_KEY
from tests.support.emulator import ChatServer


def test_a_failed_batch_line_has_the_error_object_of_stderr_with_the_key_masked(xai, tmp_path: Path) -> None:
    bad = tmp_path / f'{TEST_KEY}"x.txt'  # the quote makes the server refuse the name
    bad.write_bytes(b"x")
    single = run_xai("files", "upload", str(bad), "--json")
    batch = run_xai("files", "batch-upload", str(bad), "--json")
    assert (single.code, batch.code) == (5, 5), (single, batch)
    reported = json.loads(single.stderr)["error"]
    line = json.loads(batch.stdout)["error"]
    assert set(line) == set(reported)
    assert line["message"] == reported["message"]
    assert "****stuv" in line["message"] and TEST_KEY not in line["message"]
    assert (line["code"], line["exit_code"], line["retryable"]) == ("INVALID_ARGUMENT", 5, False)


def test_a_cut_off_chat_answer_has_the_error_object_of_stderr(chat_server, notes: Path) -> None:
    srv: ChatServer = chat_server("GetCompletionChunk:fail_stream:after=4,code=INTERNAL")
    result = run_xai("chat", "What are the risks?", "-f", str(notes), "--json")
    assert result.code == 1, result
    assert json.loads(result.stdout)["error"] == json.loads(result.stderr)["error"]
    assert srv.stored() == []


def test_auth_status_json_reports_its_error_as_json() -> None:
    result = run_xai("auth", "status", "--offline", "--json")
    assert result.code == 3, result
    assert json.loads(result.stdout)["profiles"][0]["status"] == "no key"
    error = json.loads(result.stderr)["error"]
    assert (error["code"], error["exit_code"]) == ("AUTH", 3)
    assert error["message"] == "profile 'default' has no API key" and "xai auth login" in error["hint"]


def test_config_list_json_reports_its_error_as_json() -> None:
    config_dir = Path(os.environ["XAI_CONFIG_DIR"])
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "config.toml").write_text("not = [toml")
    result = run_xai("config", "list", "--json")
    assert (result.code, result.stdout) == (2, ""), result
    error = json.loads(result.stderr.splitlines()[-1])["error"]  # after a text warning about the mode
    assert (error["code"], error["exit_code"]) == ("USAGE", 2)
    assert error["message"].startswith("cannot parse ") and error["path"].endswith("config.toml")
