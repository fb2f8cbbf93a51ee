"""`xai config list|get|set|unset|use|delete|path`."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.support.cli import run_xai

KEY = "xai-configkeyJJJJJJJJJJJJJJJJJJJJJJJJJJJJJJJJJ"


def cfg_dir() -> Path:
    return Path(os.environ["XAI_CONFIG_DIR"])


def test_list_on_a_fresh_machine_shows_defaults() -> None:
    result = run_xai("config", "list")
    assert result.code == 0, result
    assert result.stdout == (
        "profile\tdefault\tdefault\t\n"
        "api_host\tapi.x.ai:443\tdefault\t\n"
        "api_key\t\tnone\t\n"
        "model\tgrok-4\tdefault\t\n"
    )
    assert not cfg_dir().exists()  # reading never creates anything


def test_list_on_a_terminal_masks_the_key_and_names_files(monkeypatch: pytest.MonkeyPatch) -> None:
    run_xai("auth", "login", "--no-verify", "-p", "work", stdin=KEY.encode())
    monkeypatch.setenv("XAI_MODEL", "grok-env")
    result = run_xai("config", "list", stdout_tty=True)
    assert result.code == 0, result
    assert result.stdout == (
        "NAME      VALUE         SOURCE                  LOCATION\n"
        f"profile   work          config default_profile  {cfg_dir() / 'config.toml'}\n"
        "api_host  api.x.ai:443  default                 -\n"
        f"api_key   ****JJJJ      profile work            {cfg_dir() / 'credentials'}\n"
        "model     grok-env      env XAI_MODEL           -\n"
    )
    assert KEY not in result.stdout


def test_set_get_unset_round_trip() -> None:
    assert run_xai("config", "set", "-p", "work", "api_host", "localhost:5000").code == 0
    assert run_xai("config", "set", "-p", "work", "model", "grok-3").code == 0
    assert run_xai("-p", "work", "config", "get", "api_host").stdout == "localhost:5000\n"
    assert run_xai("config", "get", "-p", "work", "model").stdout == "grok-3\n"
    result = run_xai("config", "unset", "-p", "work", "model")
    assert (result.code, result.stderr) == (0, "xai: model removed in profile 'work'\n")
    assert run_xai("config", "get", "-p", "work", "model").stdout == "grok-4\n"
    assert (
        run_xai("config", "unset", "-p", "work", "model").stderr
        == "xai: model was not set in profile 'work'\n"
    )
    text = (cfg_dir() / "config.toml").read_text()
    assert '[profiles.work]\napi_host = "localhost:5000"\n' in text


def test_set_without_profile_changes_the_selected_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    run_xai("auth", "login", "--no-verify", "-p", "work", stdin=KEY.encode())
    assert run_xai("config", "set", "model", "m1").stderr.startswith("xai: model = m1 in profile 'work'")
    monkeypatch.setenv("XAI_MODEL", "from-env")
    result = run_xai("config", "set", "model", "m2")
    assert "XAI_MODEL is set and takes precedence" in result.stderr


@pytest.mark.parametrize("key", ["api_key", "key", "token"])
def test_keys_are_never_set_through_argv(key: str) -> None:
    result = run_xai("config", "set", key, KEY)
    assert result.code == 2
    assert "xai auth login" in result.stderr
    assert KEY not in result.stderr
    assert not cfg_dir().exists()
    assert run_xai("config", "get", "api_key").code == 2


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("colour", "x", "unknown setting 'colour'; valid settings: api_host, model"),
        ("api_host", "http://example.com:80", "refusing to send API key over plaintext to example.com"),
        ("api_host", "host:99999", "port must be 1-65535"),
        ("api_host", "a b", "expected HOST:PORT"),
        ("model", "two words", "invalid model"),
        ("model", "bad\x1b[31m", "invalid model"),
    ],
)
def test_set_validates(key: str, value: str, message: str) -> None:
    result = run_xai("config", "set", key, value)
    assert result.code == 2, result
    assert message in result.stderr
    assert "\x1b" not in result.stderr


def test_local_profile_has_no_host_and_cannot_be_deleted() -> None:
    assert run_xai("config", "set", "-p", "local", "api_host", "h:1").code == 2
    assert run_xai("config", "set", "-p", "local", "model", "echo").code == 0
    result = run_xai("config", "delete", "local")
    assert result.code == 2 and "cannot be deleted" in result.stderr


def test_use_switches_the_default_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    run_xai("auth", "login", "--no-verify", "-p", "a", stdin=KEY.encode())
    run_xai("config", "set", "-p", "b", "model", "mb")
    result = run_xai("config", "use", "b")
    assert (result.code, result.stderr) == (0, "xai: default profile is now 'b'\n")
    assert run_xai("config", "get", "profile").stdout == "b\n"
    assert run_xai("config", "get", "model").stdout == "mb\n"
    assert run_xai("config", "use", "local").code == 0
    assert run_xai("config", "get", "api_host").stdout == "local\n"

    result = run_xai("config", "use", "nope")
    assert result.code == 2
    assert "profile 'nope' does not exist; known profiles: a, b, local" in result.stderr
    assert run_xai("config", "get", "profile").stdout == "local\n"

    monkeypatch.setenv("XAI_PROFILE", "a")
    assert "XAI_PROFILE is set" in run_xai("config", "use", "b").stderr


def test_delete_removes_settings_and_key() -> None:
    run_xai("auth", "login", "--no-verify", "-p", "a", stdin=KEY.encode())
    assert run_xai("config", "get", "profile").stdout == "a\n"
    result = run_xai("config", "delete", "a")
    assert (result.code, result.stderr) == (0, "xai: deleted profile 'a'\n")
    assert run_xai("config", "get", "profile").stdout == "default\n"
    assert KEY not in (cfg_dir() / "credentials").read_text()
    assert run_xai("config", "delete", "a").code == 2


def test_path() -> None:
    result = run_xai("config", "path")
    assert result.stdout == (
        f"dir\t{cfg_dir()}\nconfig\t{cfg_dir() / 'config.toml'}\ncredentials\t{cfg_dir() / 'credentials'}\n"
    )
    assert run_xai("config", "path", "credentials").stdout == f"{cfg_dir() / 'credentials'}\n"
    assert run_xai("config", "path", "nope").code == 2


def test_list_json_for_a_named_profile() -> None:
    run_xai("config", "set", "-p", "x", "model", "mx")
    rows = json.loads(run_xai("config", "list", "-p", "x", "--json").stdout)
    assert rows[3] == {
        "name": "model",
        "value": "mx",
        "source": "profile x",
        "location": str(cfg_dir() / "config.toml"),
    }
