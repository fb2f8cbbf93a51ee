"""A failed config write saves nothing, and keys this version does not know survive every rewrite."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.support.cli import run_xai
from xai_files_cli.settings import config_store

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

KEY = "xai-roundtripEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEE"

NEWER_CONFIG = """\
# written by a newer xai
default_profile = "work"
telemetry = false
retries = 3

[ui]
theme = "dark"
columns = ["id", "name"]

[profiles.work]
api_host = "api.example:443"
organization = "acme"
timeout = 30.5

[profiles.work.headers]
x-team = "blue"

[profiles.spare]
region = "eu"
"""


def config_dir() -> Path:
    return Path(os.environ["XAI_CONFIG_DIR"])


def _write_config(text: str, name: str = "config.toml") -> Path:
    """`text` as a private file `name` of the config directory."""
    config_dir().mkdir(mode=0o700, parents=True, exist_ok=True)
    path = config_dir() / name
    path.write_text(text)
    path.chmod(0o600)
    return path


def _unknown_parts(doc: dict) -> dict:
    """Everything of a parsed config.toml but what this version manages itself."""
    profiles = {
        name: {k: v for k, v in values.items() if k not in config_store.PROFILE_KEYS}
        for name, values in doc.get("profiles", {}).items()
    }
    top = {k: v for k, v in doc.items() if k not in ("default_profile", "profiles")}
    return {"top": top, "profiles": profiles}


def test_login_with_a_symlinked_config_saves_no_key(tmp_path: Path) -> None:
    target = tmp_path / "dotfiles-config.toml"
    target.write_text('[profiles.work]\nmodel = "from-dotfiles"\n')
    config_dir().mkdir(mode=0o700, parents=True)
    (config_dir() / "config.toml").symlink_to(target)

    result = run_xai("auth", "login", "--no-verify", "-p", "work", "--api-host", "h:1", stdin=KEY.encode())
    assert result.code == 2, result
    assert "refusing to write through a symlink" in result.stderr
    assert not (config_dir() / "credentials").exists()  # the key was not saved either
    assert target.read_text() == '[profiles.work]\nmodel = "from-dotfiles"\n'
    assert sorted(p.name for p in config_dir().iterdir()) == [".lock", "config.toml"]  # no temp left
    assert run_xai("-p", "work", "auth", "token").code == 3


def test_login_with_a_symlinked_config_keeps_an_existing_key_unchanged(tmp_path: Path) -> None:
    assert run_xai("auth", "login", "--no-verify", "-p", "work", stdin=b"xai-old-key-0123456789").code == 0
    credentials = config_dir() / "credentials"
    before = credentials.read_bytes()
    target = tmp_path / "elsewhere.toml"
    (config_dir() / "config.toml").rename(target)
    (config_dir() / "config.toml").symlink_to(target)
    result = run_xai("auth", "login", "--no-verify", "-p", "other", stdin=KEY.encode())
    assert result.code == 2, result
    assert credentials.read_bytes() == before


@pytest.mark.parametrize(
    "argv",
    [
        ("config", "set", "model", "grok-x", "-p", "work"),
        ("config", "unset", "api_host", "-p", "work"),
        ("config", "use", "spare"),
        ("config", "delete", "spare"),
    ],
)
def test_config_commands_keep_unknown_keys_and_tables(argv: tuple[str, ...]) -> None:
    path = _write_config(NEWER_CONFIG)
    before = tomllib.loads(NEWER_CONFIG)
    result = run_xai(*argv)
    assert result.code == 0, result
    after = tomllib.loads(path.read_text())
    expected = _unknown_parts(before)
    if argv[1] == "delete":  # a deleted profile takes its own unknown keys with it
        del expected["profiles"]["spare"]
    assert _unknown_parts(after) == expected


def test_login_keeps_unknown_keys_and_sets_only_its_own() -> None:
    path = _write_config(NEWER_CONFIG)
    result = run_xai(
        "auth", "login", "--no-verify", "-p", "work", "--api-host", "new.example:443", stdin=KEY.encode()
    )
    assert result.code == 0, result
    after = tomllib.loads(path.read_text())
    assert _unknown_parts(after) == _unknown_parts(tomllib.loads(NEWER_CONFIG))
    assert after["profiles"]["work"]["api_host"] == "new.example:443"
    assert after["default_profile"] == "work"
    assert run_xai("auth", "token").stdout == KEY + "\n"


NEWER_CREDENTIALS = """\
[work]
api_key = "xai-work-key-0123456789abcdef"
management_key = "xai-mgmt-secret-0123456789"

[ci]
session_token = "tok-0123456789"
"""


def test_login_keeps_the_credentials_keys_it_does_not_know() -> None:
    path = _write_config(NEWER_CREDENTIALS, "credentials")
    result = run_xai("auth", "login", "--no-verify", "-p", "spare", stdin=KEY.encode())
    assert result.code == 0, result
    after = tomllib.loads(path.read_text())
    assert after["work"] == tomllib.loads(NEWER_CREDENTIALS)["work"]
    assert after["ci"] == {"session_token": "tok-0123456789"}  # a table without api_key stays too
    assert after["spare"] == {"api_key": KEY}
    assert "0123456789" not in result.stdout + result.stderr  # nothing of the file is shown
    assert os.stat(path).st_mode & 0o777 == 0o600


def test_logout_forgets_only_the_key_and_delete_forgets_the_whole_profile() -> None:
    path = _write_config(NEWER_CREDENTIALS, "credentials")
    assert run_xai("auth", "logout", "-p", "work").code == 0
    assert tomllib.loads(path.read_text())["work"] == {"management_key": "xai-mgmt-secret-0123456789"}
    assert run_xai("config", "delete", "work").code == 0
    assert run_xai("config", "delete", "ci").code == 0  # a profile known only by its unknown keys
    assert tomllib.loads(path.read_text()) == {}
